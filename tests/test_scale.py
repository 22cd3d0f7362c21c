"""Scale: what planning many customer stacks costs is counted here, on a few stacks (the timings at
10 to 1,000 customers are the benchmark's, `make bench`, never asserted in tests).

* one bridge run per process: customer plans reuse their bridge's outputs, keyed by its config and
  the program's code (counted program runs);
* only what can change is planned: a customer whose file, program and bridge inputs are equal in both
  revisions is not planned (counted plans), and what a customer reads of its bridge is traced;
* planning processes are recycled (counted processes), a timeout or Ctrl-C ends in one line and
  stops every planning process;
* shards: the merged report of every slice is the report of the whole diff.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.stacks import scale_bridge_config, scale_customer_config, scale_project
from bridgectl import diff as d
from bridgectl import offline
from bridgectl.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "PATH": "/usr/bin:/bin", "HOME": str(repo)}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def _edit(tree: Path, stack: str, change: Any) -> None:
    path = tree / f"Pulumi.{stack}.yaml"
    data = yaml.safe_load(path.read_text())
    change(data["config"])
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository: the program and one bridge with four generated customers, on main."""
    root = tmp_path_factory.mktemp("scale") / "repo"
    scale_project(root, 4)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    for folder in ("components", "stacks", "bridgectl"):
        shutil.copytree(ROOT / folder, root / folder, ignore=ignore)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    return root


def _branch(repo: Path, tmp: Path, name: str) -> Path:
    work = tmp / name
    shutil.copytree(repo, work)
    _git(work, "checkout", "-q", "-b", name)
    return work


class Counting(d.Planner):
    """A planner that counts the stack plans it runs."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.planned: list[str] = []

    def plan(self, jobs: Any) -> list[dict[str, Any]]:
        self.planned += [s for job in jobs for s in job.stacks]
        return super().plan(jobs)


# --- one bridge run per process ------------------------------------------------------------------


def test_customers_of_a_bridge_run_its_program_once(tmp_path: Path) -> None:
    project, stacks = scale_project(tmp_path / "p", 3)
    before = offline.bridge_program_runs
    snap = d.local_snapshot(project, stacks)
    assert all("plan" in snap[s] for s in stacks), snap
    # The bridge's own plan and its three customers: one run of the bridge's program.
    assert offline.bridge_program_runs - before == 1
    # A changed bridge config is another bridge: it runs again, once.
    _edit(project, "dev", lambda c: c["bridge:tags"].update(owner="other"))
    d.local_snapshot(project, stacks[1:])
    assert offline.bridge_program_runs - before == 2
    # Its customers see the new outputs (their tags carry the bridge's).
    again = d.local_snapshot(project, stacks[1:2])[stacks[1]]["plan"]
    assert "other" in json.dumps(again) and again != snap[stacks[1]]["plan"]


def test_the_bridge_cache_is_keyed_by_the_program_code(tmp_path: Path) -> None:
    project, stacks = scale_project(tmp_path / "p", 1)
    before = offline.bridge_program_runs
    d.local_snapshot(project, stacks[1:])
    (project / "__main__.py").write_text((project / "__main__.py").read_text() + "\n# changed\n")
    d.local_snapshot(project, stacks[1:])
    assert offline.bridge_program_runs - before == 2


def test_a_customer_reads_only_the_outputs_the_digest_covers(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import pulumi

    project, stacks = scale_project(tmp_path / "p", 1)
    read: list[str] = []
    for method in ("get_output", "require_output", "get_output_details"):
        original = getattr(pulumi.StackReference, method)

        def traced(self: Any, name: Any, *a: Any, _original: Any = original, **kw: Any) -> Any:
            read.append(str(name))
            return _original(self, name, *a, **kw)
        monkeypatch.setattr(pulumi.StackReference, method, traced)
    monkeypatch.setattr(offline, "_BRIDGE_OUTPUTS", {})
    offline.offline_plan(project, stacks[1])
    assert read and set(read) <= set(offline.CUSTOMER_READS), read
    # Says no: a read the digest does not cover is caught.
    monkeypatch.setattr(offline, "CUSTOMER_READS", ())
    assert not set(read) <= set(offline.CUSTOMER_READS)


def _bridge_only_changes(c: dict[str, Any]) -> None:
    c["bridge:exchange"]["bandwidthMbps"] = 2000
    c["bridge:exchange"]["bfd"]["intervalMs"] = 500
    c["bridge:azure"]["circuit"]["tier"] = "Premium"
    c["bridge:addressing"]["awsLinkPool"] = "169.254.120.0/24"
    c["bridge:alarms"] = {"enabled": False}
    # A second metro and circuit: the bridge gains paths, its customers read nothing new.
    c["bridge:exchange"]["routers"].append({"name": "fcr-ny", "metro": "NY"})
    c["bridge:azure"]["secondCircuit"] = {"peeringLocation": "New York", "tier": "Standard",
                                          "family": "MeteredData", "peeringVlan": 310}


def test_bridge_only_changes_leave_customer_plans_and_inputs_as_they_were(tmp_path: Path) -> None:
    project, stacks = scale_project(tmp_path / "p", 1)
    customer = stacks[1]
    plan = offline.offline_plan(project, customer)
    inputs = offline.customer_inputs(project, "dev")
    bridge_before = offline.offline_plan(project, "dev")
    _edit(project, "dev", _bridge_only_changes)
    assert offline.offline_plan(project, "dev") != bridge_before  # the bridge itself changes
    assert offline.offline_plan(project, customer) == plan
    assert offline.customer_inputs(project, "dev") == inputs
    # Says no: a change a customer reads (another SaaS VPC) changes its inputs and its plan.
    _edit(project, "dev", lambda c: c["bridge:aws"]["vpcs"].append(
        {"name": "extra", "vpcId": "vpc-0ffffffffffffffff", "cidr": "10.99.0.0/16",
         "subnetIds": ["subnet-0ffffffffffffffff"], "routeTableIds": ["rtb-0ffffffffffffffff"]}))
    assert offline.customer_inputs(project, "dev") != inputs
    assert offline.offline_plan(project, customer) != plan


# --- plan only what can change, in recycled processes --------------------------------------------


def test_a_bridge_change_customers_do_not_read_plans_no_customer(repo: Path, tmp_path: Path) -> None:
    work = _branch(repo, tmp_path, "bandwidth")
    _edit(work, "dev", _bridge_only_changes)
    planner = Counting(per_process=2)
    report = d.run_diff(work, "main", planner=planner)
    # The bridge in each tree, and again with its replaced resources renewed (new link addresses
    # replace its virtual interfaces): what its customers read stays the same, so no customer is planned.
    assert planner.planned == ["dev", "dev", "dev"]
    by = {sd.stack: sd for sd in report.stacks}
    assert by["dev"].status == "changed"
    customers = [s for s in by if s != "dev"]
    assert len(customers) == 4
    assert all(by[s].status == "unchanged" and d.UNCHANGED_INPUTS in by[s].notes for s in customers)


def test_a_bridge_change_customers_read_plans_them_in_recycled_processes(repo: Path, tmp_path: Path) -> None:
    work = _branch(repo, tmp_path, "vpc")
    _edit(work, "dev", lambda c: c["bridge:aws"]["vpcs"].append(
        {"name": "extra", "vpcId": "vpc-0ffffffffffffffff", "cidr": "10.99.0.0/16",
         "subnetIds": ["subnet-0ffffffffffffffff"], "routeTableIds": ["rtb-0ffffffffffffffff"]}))
    planner = Counting(per_process=2, workers=2)
    report = d.run_diff(work, "main", planner=planner)
    customers = [s for s in report.selection["customers"]]
    assert sorted(planner.planned) == sorted(["dev", "dev", *customers, *customers])
    # Bridges in one process per tree, then four customers per tree two at a time: 2 + 4 processes.
    assert planner.started == 6
    by = {sd.stack: sd for sd in report.stacks}
    # Each customer's endpoints now allow the new VPC's CIDR.
    assert all(by[s].status == "changed" for s in customers), d.render_text(report)


def test_a_customer_edit_plans_that_customer_only(repo: Path, tmp_path: Path) -> None:
    work = _branch(repo, tmp_path, "one")
    config = scale_customer_config("dev", 1)
    config["bridge:customer"]["endpoints"].pop()
    (work / "Pulumi.dev.c0001.yaml").write_text(yaml.safe_dump({"config": config}))
    planner = Counting()
    report = d.run_diff(work, "main", planner=planner)
    assert planner.planned == ["dev.c0001", "dev.c0001"]
    [sd] = report.stacks
    assert sd.count("delete") >= 1


# --- shards --------------------------------------------------------------------------------------


def test_shards_partition_the_selection() -> None:
    stacks = ["a", "b", "a.x", "a.y", "b.z"]
    for n in (1, 2, 3, 7):
        parts = [d.Shard(i, n).take(stacks) for i in range(1, n + 1)]
        assert sorted(s for p in parts for s in p) == sorted(stacks)
    for bad in ("0/2", "3/2", "x", "1/0"):
        with pytest.raises(d.DiffInputError, match="--shard"):
            d.Shard.parse(bad)


def _comparable(text: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text)
    data.pop("shard", None)
    data.pop("changed", None)
    return data


def test_merged_shards_give_the_whole_diff(repo: Path, tmp_path: Path) -> None:
    work = _branch(repo, tmp_path, "mixed")
    # A bridge change its customers read, and a customer edit in the same pull request (a risk only
    # the whole diff sees: the merge must find it).
    _edit(work, "dev", lambda c: c["bridge:aws"]["vpcs"].append(
        {"name": "extra", "vpcId": "vpc-0ffffffffffffffff", "cidr": "10.99.0.0/16",
         "subnetIds": ["subnet-0ffffffffffffffff"], "routeTableIds": ["rtb-0ffffffffffffffff"]}))
    _edit(work, "dev.c0002", lambda c: c["bridge:customer"]["endpoints"].pop())
    whole = d.run_diff(work, "main")
    assert "mixed-pull-request" in {r.kind for r in whole.all_risks}
    parts = []
    for i in (1, 2, 3):
        part = d.run_diff(work, "main", shard=d.Shard(i, 3))
        assert "mixed-pull-request" not in {r.kind for r in part.risks}
        parts.append(json.loads(d.to_json(part)))
    merged = d.merge_reports(parts)
    assert _comparable(d.to_json(merged)) == _comparable(d.to_json(whole))
    assert d.verdict(merged) == d.verdict(whole) == 1
    assert d.render_markdown(merged) == d.render_markdown(whole)
    # Says no: a missing shard, a shard twice, another diff's shard.
    with pytest.raises(d.DiffInputError, match="missing"):
        d.merge_reports(parts[:2])
    with pytest.raises(d.DiffInputError, match="again"):
        d.merge_reports([parts[0], parts[0], parts[2]])
    other = json.loads(json.dumps(parts[2]))
    other["commit"] = "f" * 40
    with pytest.raises(d.DiffInputError, match="different diffs"):
        d.merge_reports([parts[0], parts[1], other])
    with pytest.raises(d.DiffInputError, match="not a shard"):
        d.merge_reports([json.loads(d.to_json(whole))])


def test_merge_on_the_command_line(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    work = _branch(repo, tmp_path, "cli")
    _edit(work, "dev.c0003", lambda c: c["bridge:customer"]["endpoints"].pop())
    files = []
    for i in (1, 2):
        out = tmp_path / f"part-{i}.json"
        main(["-C", str(work), "diff", "-q", "--shard", f"{i}/2", "--format", "json", "-o", str(out)])
        files.append(str(out))
    capsys.readouterr()
    # Deleting a customer's endpoint is a risk: the merged verdict is exit 1.
    assert main(["-C", str(work), "diff", "--merge", *files, "--format", "json"]) == 1
    merged = json.loads(capsys.readouterr().out)
    assert [s["stack"] for s in merged["stacks"]] == ["dev.c0003"] and merged["summary"]["delete"] >= 1
    assert merged["verdict"] == "risks" and "shard" not in merged
    assert main(["-C", str(work), "diff", "--merge", files[0]]) == 2
    assert "missing" in capsys.readouterr().err
    assert main(["-C", str(work), "diff", "--shard", "3/2"]) == 2


# --- no traceback: timeout and Ctrl-C ------------------------------------------------------------


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


class Watching(d.Planner):
    def _start(self, job: d.PlanJob, work: Path, i: int) -> subprocess.Popen[bytes]:
        proc = super()._start(job, work, i)
        self.pids = [*getattr(self, "pids", []), proc.pid]
        return proc


def test_a_timeout_stops_every_planning_process(repo: Path) -> None:
    planner = Watching(timeout=0.2, workers=2)
    jobs = planner.jobs(repo, ["dev.c0000", "dev.c0001"], "working tree") + planner.jobs(repo, ["dev"], "base revision")
    with pytest.raises(d.PlanTimeout, match=r"timed out after 0 s .*--timeout SECONDS"):
        planner.plan(jobs)
    assert planner.pids and all(_gone(pid) for pid in planner.pids)


def test_ctrl_c_stops_every_planning_process(repo: Path) -> None:
    def interrupt(done: int, total: int, what: str) -> None:
        raise KeyboardInterrupt
    planner = Watching(progress=interrupt, workers=2, per_process=1)
    with pytest.raises(KeyboardInterrupt):
        planner.plan(planner.jobs(repo, ["dev.c0000", "dev.c0001", "dev.c0002"], "working tree"))
    assert planner.pids and all(_gone(pid) for pid in planner.pids)


def test_the_cli_ends_a_timeout_and_an_interrupt_in_one_line(repo: Path, tmp_path: Path) -> None:
    work = _branch(repo, tmp_path, "slow")
    _edit(work, "dev", lambda c: c["bridge:tags"].update(owner="other"))
    cli = [sys.executable, "-m", "bridgectl", "-C", str(work), "diff"]
    timed = subprocess.run([*cli, "--timeout", "0.1"], capture_output=True, text=True, check=False)
    assert timed.returncode == 2 and "timed out" in timed.stderr and "Traceback" not in timed.stderr
    # SIGINT as a terminal delivers it (a shell's background job would inherit it ignored).
    proc = subprocess.Popen(cli, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 30
    while not _children(proc.pid) and time.monotonic() < deadline:  # until planning has started
        time.sleep(0.05)
    planners = _children(proc.pid)
    assert planners
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err, err
    assert all(_gone(pid) for pid in planners)


def _children(pid: int) -> list[int]:
    """The planning processes ``pid`` started and that still run (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if int(ppid) == pid and state in "RSD" and b"snapshot" in cmdline:  # running, not a zombie
            out.append(int(entry.name))
    return out


def test_bad_planner_flags_are_bad_input(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for flag in ("--jobs", "--stacks-per-process", "--timeout"):
        assert main(["-C", str(repo), "diff", flag, "0"]) == 2
        assert "must be more than 0" in capsys.readouterr().err


def test_scale_stacks_are_valid(tmp_path: Path) -> None:
    """The generated bridge and customers are valid (the benchmark plans them)."""
    from stacks.loader import load_stack

    project, stacks = scale_project(tmp_path / "p", 3)
    for stack in stacks:
        load_stack(project, stack)
    assert scale_bridge_config()["bridge:azure"]["endpointSubnetPrefixLength"] == 22


# --- the workflows' batches (.ci/batches.py) -----------------------------------------------------


def _batches_module() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("batches", ROOT / ".ci" / "batches.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("n", [0, 1, 63, 64, 65, 1000, 20020])
def test_any_number_of_stacks_fits_the_matrix_limit_in_order(n: int) -> None:
    b = _batches_module()
    stacks = [f"dev.c{k:05d}" for k in range(n)]
    jobs = b.batches(stacks, 64)
    assert len(jobs) == min(n, 64) <= b.MATRIX_LIMIT
    assert [s for j in jobs for s in j["stacks"].split()] == stacks  # every stack once, in order
    if jobs:
        sizes = {j["count"] for j in jobs}
        assert max(sizes) - min(sizes) <= 1 and [j["index"] for j in jobs] == list(range(1, len(jobs) + 1))
    shards = b.shards(n, 100, 20)
    assert shards == list(range(1, max(1, min(20, -(-n // 100))) + 1))


def test_batches_refuse_bad_input(tmp_path: Path) -> None:
    b = _batches_module()
    with pytest.raises(ValueError, match="matrix limit"):
        b.batches(["a"], 257)
    bad = tmp_path / "s.json"
    bad.write_text('{"customers": "dev.a"}')
    assert b.main(["batches", str(bad), "customers"]) == 2
    good = tmp_path / "g.json"
    good.write_text('{"bridges": ["dev"], "customers": ["dev.a", "dev.b"]}')
    assert b.main(["limit", str(good), "bridges", "customers", "--max", "2"]) == 0
