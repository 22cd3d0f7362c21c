"""The scale benchmark: one bridge with N generated customers (three endpoints each, bench/stacks.py),
N = 10, 100, 300 and 1,000, each command run as a user runs it, in a fresh process:

* validate-all: ``bridgectl validate`` of every stack of the bridge;
* one customer plan: ``bridgectl plan --json`` of one customer, beside its N siblings;
* diff after a bridge change its customers do not read (the circuit's bandwidth): only the bridge is
  planned; and after one they read (the bridge's tags, which every customer's resources carry): every
  customer is planned, in both revisions;
* diff after a program change (a comment in components/): every stack, in both revisions;
* one shard of that diff (``--shard 1/4``): its time per stack.

Each has wall time, CPU time (user + system of the whole process tree, from the kernel's accounting
of waited-for children) and peak memory: the largest sum of the resident sets of the process tree,
sampled every 0.1 s from /proc, and the largest single process (its ru_maxrss). The projection for
20 bridges of 1,000 customers is computed from the measured time per stack of the program-change diff
at 1,000 customers and the shards the pull-request workflow uses (.ci/batches.py: one per 100 stacks,
at most 20). Nothing here is asserted in tests.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .stacks import scale_project

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10, 100, 300, 1000)
# The targets (2 cores): validate every stack of a 1,000-customer bridge in 10 s; a diff after a
# bridge change within 25 times one customer plan at 300 customers and within 5 minutes at 1,000; under
# 1.5 GiB at any size; a program change across 20 bridges of 1,000 customers within 15 minutes of wall
# time with the workflow's shards.
TARGET_VALIDATE_1000_S = 10.0
TARGET_BRIDGE_DIFF_300_RATIO = 25.0
TARGET_BRIDGE_DIFF_1000_S = 300.0
TARGET_PEAK_MIB = 1536.0
TARGET_FLEET_MINUTES = 15.0
FLEET_BRIDGES, FLEET_CUSTOMERS = 20, 1000
# The pull-request workflow's sharding (pull-request.yml: .ci/batches.py shards --per-shard 100 --max 20).
STACKS_PER_SHARD, MAX_SHARDS = 100, 20


def _tree_rss_kib(root: int) -> int:
    """Resident set (KiB) of ``root`` and all its descendants now, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            status = (entry / "status").read_text()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        rss[pid] = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    total, frontier = 0, {root}
    while frontier:
        total += sum(rss.get(p, 0) for p in frontier)
        frontier = {p for p, parent in parents.items() if parent in frontier}
    return total


def run(args: list[str], cwd: Path) -> dict[str, Any]:
    """Run ``args``; wall, CPU of the whole tree, peak tree memory and largest process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    # stderr to a file: a pipe nobody reads until the end fills up and stops the command.
    with tempfile.TemporaryFile() as errfile:
        proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errfile)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _tree_rss_kib(proc.pid))
            time.sleep(0.1)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        errfile.seek(0)
        err = errfile.read().decode(errors="replace")
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(args[:6])} ... exited {proc.returncode}: {err[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wallSeconds": round(wall, 2), "cpuSeconds": round(cpu, 2), "peakMiB": round(peak / 1024, 1),
            "largestProcessMiB": round(after.ru_maxrss / 1024, 1), "exitCode": proc.returncode}


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def make_repo(where: Path, customers: int) -> tuple[Path, list[str]]:
    project, stacks = scale_project(where, customers)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy(ROOT / name, project / name)
    for folder in ("components", "stacks", "bridgectl"):
        shutil.copytree(ROOT / folder, project / folder, ignore=ignore)
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "base")
    return project, stacks


def _edit_bridge(project: Path, change: Any) -> None:
    import yaml

    path = project / "Pulumi.dev.yaml"
    data = yaml.safe_load(path.read_text())
    change(data["config"])
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _bandwidth(c: dict[str, Any]) -> None:
    c["bridge:exchange"]["bandwidthMbps"] = 2000


def _tags(c: dict[str, Any]) -> None:
    c["bridge:tags"]["costCenter"] = "network"


def _program(project: Path) -> None:
    path = project / "components" / "__init__.py"
    path.write_text(path.read_text() + "\n# a comment: the program changed\n")


def diff(project: Path, out: Path, *extra: str) -> dict[str, Any]:
    bridgectl = [sys.executable, "-m", "bridgectl", "-C", str(project), "diff", "-q", "--base", "HEAD",
                 "--format", "json", "-o", str(out), *extra]
    result = run(bridgectl, project)
    report = json.loads(out.read_text())
    result["stacks"] = len(report["stacks"])
    result["planned"] = sum(1 for s in report["stacks"] if "not planned" not in " ".join(s.get("notes", [])))
    return result


def one_size(work: Path, customers: int) -> dict[str, Any]:
    project, stacks = make_repo(work / f"n{customers}", customers)
    bridgectl = [sys.executable, "-m", "bridgectl", "-C", str(project)]
    row: dict[str, Any] = {"customers": customers, "stacks": len(stacks)}
    row["validateAll"] = run([*bridgectl, "validate", "-q", *stacks], project)
    row["customerPlan"] = run([*bridgectl, "plan", "--json", stacks[1]], project)
    out = work / "diff.json"
    for name, change in (("bridgeChangeNotRead", _bandwidth), ("bridgeChangeRead", _tags)):
        _edit_bridge(project, change)
        row[name] = diff(project, out)
        _git(project, "checkout", "-q", "--", ".")
    _program(project)
    row["programChange"] = diff(project, out)
    if customers >= 100:
        shard = diff(project, out, "--shard", "1/4")
        shard["secondsPerStack"] = round(shard["wallSeconds"] / max(1, shard["stacks"]), 4)
        row["programChangeShard1of4"] = shard
    _git(project, "checkout", "-q", "--", ".")
    row["programChange"]["secondsPerStack"] = round(row["programChange"]["wallSeconds"] / len(stacks), 4)
    shutil.rmtree(project, ignore_errors=True)
    return row


def projection(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """20 bridges of 1,000 customers after a program change, from the largest size measured: every
    stack planned in both revisions, spread over the workflow's shards (each shard a 2-core runner)."""
    big = max(rows, key=lambda r: r["customers"])
    per_stack = big["programChange"]["wallSeconds"] / big["stacks"]
    stacks = FLEET_BRIDGES * (FLEET_CUSTOMERS + 1)
    shards = max(1, min(MAX_SHARDS, -(-stacks // STACKS_PER_SHARD)))
    per_shard = -(-stacks // shards)
    minutes = per_shard * per_stack / 60
    return {"bridges": FLEET_BRIDGES, "customersPerBridge": FLEET_CUSTOMERS, "stacks": stacks, "shards": shards,
            "stacksPerShard": per_shard, "measuredSecondsPerStack": round(per_stack, 4),
            "measuredAt": big["customers"], "shardWallMinutes": round(minutes, 1),
            "note": "planning time of the slowest shard; each shard job also checks out and installs the "
                    "environment (not measured here), and shards run in parallel on their own runners"}


def targets(rows: list[dict[str, Any]], fleet: dict[str, Any]) -> dict[str, Any]:
    by = {r["customers"]: r for r in rows}
    out: dict[str, Any] = {}
    if 1000 in by:
        v = by[1000]["validateAll"]["wallSeconds"]
        out["validate1001StacksSeconds"] = {"target": TARGET_VALIDATE_1000_S, "measured": v,
                                            "met": v <= TARGET_VALIDATE_1000_S}
        w = by[1000]["bridgeChangeRead"]["wallSeconds"]
        out["bridgeDiff1000Seconds"] = {"target": TARGET_BRIDGE_DIFF_1000_S, "measured": w,
                                        "met": w <= TARGET_BRIDGE_DIFF_1000_S}
    if 300 in by:
        ratio = by[300]["bridgeChangeRead"]["wallSeconds"] / by[300]["customerPlan"]["wallSeconds"]
        out["bridgeDiff300InCustomerPlans"] = {"target": TARGET_BRIDGE_DIFF_300_RATIO, "measured": round(ratio, 1),
                                               "met": ratio <= TARGET_BRIDGE_DIFF_300_RATIO}
    peak = max(r[k]["peakMiB"] for r in rows for k in r if isinstance(r[k], dict) and "peakMiB" in r[k])
    out["peakMiB"] = {"target": TARGET_PEAK_MIB, "measured": peak, "met": peak <= TARGET_PEAK_MIB}
    out["fleetProgramChangeMinutes"] = {"target": TARGET_FLEET_MINUTES, "measured": fleet["shardWallMinutes"],
                                        "met": fleet["shardWallMinutes"] <= TARGET_FLEET_MINUTES}
    return out


def scale_benchmarks(work: Path, sizes: tuple[int, ...] = SIZES, partial: Path | None = None) -> dict[str, Any]:
    rows = []
    for n in sizes:
        start = time.perf_counter()
        rows.append(one_size(work, n))
        print(f"  {n:>5} customers: {time.perf_counter() - start:.0f} s", file=sys.stderr)
        if partial is not None:  # each size as soon as it is measured
            partial.write_text(json.dumps(rows, indent=2) + "\n")
    fleet = projection(rows)
    return {"rows": rows, "fleet": fleet, "targets": targets(rows, fleet)}


def print_scale(scale: dict[str, Any]) -> None:
    print("\nScale: one bridge, N customers of 3 endpoints (fresh processes; wall s / CPU s / peak MiB of the "
          "process tree)")
    cols = ("validateAll", "customerPlan", "bridgeChangeNotRead", "bridgeChangeRead", "programChange")
    print(f"  {'N':>5}  " + "  ".join(f"{c:>22}" for c in cols))
    for r in scale["rows"]:
        cells = [f"{r[c]['wallSeconds']:.1f}/{r[c]['cpuSeconds']:.1f}/{r[c]['peakMiB']:.0f}" for c in cols]
        print(f"  {r['customers']:>5}  " + "  ".join(f"{c:>22}" for c in cells))
        if "programChangeShard1of4" in r:
            s = r["programChangeShard1of4"]
            print(f"         shard 1/4 of the program change: {s['stacks']} stacks, {s['wallSeconds']:.1f} s, "
                  f"{s['secondsPerStack']:.3f} s per stack")
    f = scale["fleet"]
    print(f"  projection: {f['bridges']} bridges x {f['customersPerBridge']} customers, program change: "
          f"{f['shards']} shards of {f['stacksPerShard']} stacks, {f['shardWallMinutes']} min of planning each")
    for name, t in scale["targets"].items():
        print(f"  {name:<32}{'met' if t['met'] else 'NOT MET':<9} target {t['target']}, measured {t['measured']}")
