"""The GitHub workflows: valid against the GitHub workflow schema (vendored in check-jsonschema, so
this runs offline) and shaped as docs/ci.md promises: offline checks without credentials on pull
requests, previews only where credentials exist, bridges deployed before customers and behind an
approval environment, OIDC instead of long-lived cloud keys."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    if True in data:
        data["on"] = data.pop(True)
    assert isinstance(data, dict)
    return data


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def uses(job: dict[str, Any]) -> list[str]:
    return [s["uses"] for s in steps(job) if "uses" in s]


def runs(job: dict[str, Any]) -> str:
    return "\n".join(s.get("run", "") for s in steps(job))


def test_workflows_exist() -> None:
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "pull-request.yml", "pull-request-comment.yml", "deploy.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_valid_against_the_github_workflow_schema(path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
                      "      - usess: actions/checkout@v4\n")
    proc = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           str(broken)], capture_output=True, text=True, check=False)
    assert proc.returncode == 1


def test_ci_runs_the_repository_entry_point() -> None:
    ci = load("ci.yml")
    assert "pull_request" in ci["on"] and "push" in ci["on"]
    assert ".ci/run" in runs(ci["jobs"]["test"])


def test_pull_request_offline_jobs_need_no_credentials() -> None:
    pr = load("pull-request.yml")
    assert list(pr["on"]) == ["pull_request"]
    assert pr["permissions"] == {"contents": "read"}
    for name in ("stacks", "validate", "offline-diff"):
        job = pr["jobs"][name]
        assert "permissions" not in job and "env" not in job, name
        assert "secrets." not in yaml.safe_dump(job), name
    assert "bridgectl validate" in runs(pr["jobs"]["validate"])
    assert "bridgectl check" in runs(pr["jobs"]["validate"])
    diff = pr["jobs"]["offline-diff"]
    assert "bridgectl diff --base" in runs(diff) and "--format markdown" in runs(diff)
    assert any(u.startswith("actions/upload-artifact@") for u in uses(diff))
    # The comparison needs the base branch's history.
    checkout = next(s for s in steps(diff) if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0


def test_preview_only_where_credentials_exist() -> None:
    preview = load("pull-request.yml")["jobs"]["preview"]
    assert "head.repo.full_name == github.repository" in preview["if"]
    assert "vars.PULUMI_PREVIEW" in preview["if"]
    assert preview["permissions"]["id-token"] == "write"
    action = next(s for s in steps(preview) if s.get("uses", "").startswith("pulumi/actions@"))
    assert action["uses"] == "pulumi/actions@v7"
    assert action["with"]["command"] == "preview" and action["with"]["comment-on-pr"] is True
    assert action["with"]["policyPacks"] == "policy"
    assert action["with"]["policyPackConfigs"] == "policy-config.json"
    assert "--policy-config-out policy-config.json" in runs(preview)
    aws = next(s for s in steps(preview) if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))
    assert "role-to-assume" in aws["with"] and "aws-access-key-id" not in aws["with"]
    env = preview["env"]
    assert env["ARM_USE_OIDC"] == "true" and "ARM_CLIENT_SECRET" not in env
    assert env["EQUINIX_API_CLIENTSECRET"] == "${{ secrets.EQUINIX_CLIENT_SECRET }}"


def test_comment_workflow_runs_no_pull_request_code() -> None:
    comment = load("pull-request-comment.yml")
    assert comment["on"]["workflow_run"]["workflows"] == ["pull-request"]
    job = comment["jobs"]["comment"]
    assert not any(u.startswith("actions/checkout@") for u in uses(job))
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    script = next(s for s in steps(job) if s.get("uses", "").startswith("actions/github-script@"))["with"]["script"]
    assert "<!-- bridgectl-diff -->" in script and "updateComment" in script


def test_deploy_bridges_first_with_approval() -> None:
    deploy = load("deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"]
    jobs = deploy["jobs"]
    assert "bridgectl diff --list" in runs(jobs["stacks"])
    bridges, customers = jobs["bridges"], jobs["customers"]
    assert bridges["environment"] == "bridge-stacks"
    assert bridges["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.bridges) }}"
    assert customers["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.customers) }}"
    assert "bridges" in customers["needs"]
    assert "needs.bridges.result == 'success' || needs.bridges.result == 'skipped'" in customers["if"]
    for job in (bridges, customers):
        action = next(s for s in steps(job) if s.get("uses", "").startswith("pulumi/actions@"))
        assert action["with"]["command"] == "up" and action["with"]["policyPacks"] == "policy"
        assert job["permissions"]["id-token"] == "write"
    # A running `pulumi up` is never cancelled by a newer merge.
    assert deploy["concurrency"]["cancel-in-progress"] is False


def test_python_installed_from_the_lock() -> None:
    for path in WORKFLOWS:
        for job in load(path.name)["jobs"].values():
            commands = runs(job)
            if "uv sync" in commands:
                assert "uv sync --frozen" in commands, path.name
                assert any(u.startswith("astral-sh/setup-uv@") for u in uses(job)), path.name
