"""``make bench``: offline plan cost as bridges and customers grow, program start-up, and the BGP
twin's failover figures over repeated runs. Prints a table and writes bench/results.json.

    python -m bench                 # everything (the twin part needs root and FRR)
    python -m bench --no-twin       # plan and start-up only
    python -m bench --twin-runs 5   # runs of the twin (default 5)
    python -m bench --report        # print the table of bench/results.json again
    python -m bench --backup-comparison   # the VPN backup's failover, three designs side by side

Each plan measurement runs in a fresh interpreter, so its imports and peak memory (the child's
maximum resident set, from wait4) are its own. Figures are reported with the machine they came
from; the targets are checked here and reported, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .backup import backup_comparison, print_comparison
from .scale import SIZES as SCALE_SIZES
from .scale import print_scale, scale_benchmarks
from .stacks import bridge_config, customer_config, write_project

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results.json"

# 1 to 20 VPCs on one and two routers; 40 and 80 widen the range the growth is fitted over.
BRIDGE_CASES = [(r, v) for r in (1, 2) for v in (1, 2, 5, 10, 20)] + [(2, 40), (2, 80)]
CUSTOMER_CASES = [1, 10, 25, 50, 100, 200]

# Targets of the benchmark issue; reported as met or not.
TARGET_CUSTOMER_100_SECONDS = 10.0
TARGET_OVERHEAD_RATIO = 1.5
# A whole dev twin run: 3 minutes in the benchmark issue; 4 since dev has the VPN backup, whose tunnel
# loss waits out a 30 s hold timer (issue 17).
TARGET_TWIN_SECONDS = 240.0
# Linear: the quadratic term of a degree-2 fit explains at most this share of the largest case.
LINEAR_QUADRATIC_SHARE = 0.10


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {"cpu": model or platform.processor(), "cores": os.cpu_count(), "memoryGiB": round(mem_kb / 2**20, 1),
            "kernel": platform.release(), "python": platform.python_version(), "system": platform.platform()}


def measure(args: list[str]) -> tuple[float, str]:
    """Run ``args`` in a child; return its wall seconds and stdout."""
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, cwd=ROOT, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr}")
    return wall, proc.stdout


def measure_rss(args: list[str]) -> tuple[float, float, str]:
    """Run ``args`` in a child; return its wall seconds, its own peak RSS in MiB and stdout.

    A wrapper process runs the child and reports RUSAGE_CHILDREN's maximum RSS, which is then the
    child's alone (the parent's own children would mix into it)."""
    wrapper = ("import resource,subprocess,sys,time;t=time.perf_counter();"
               "p=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
               "w=time.perf_counter()-t;"
               "sys.stdout.write(p.stdout);sys.stderr.write(p.stderr);"
               "sys.stderr.write('\\nBENCH %f %d\\n'%(w,resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss));"
               "sys.exit(p.returncode)")
    proc = subprocess.run([sys.executable, "-c", wrapper, *args], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr}")
    marker = [line for line in proc.stderr.splitlines() if line.startswith("BENCH ")][-1].split()
    return float(marker[1]), int(marker[2]) / 1024, proc.stdout


def _solve(matrix: list[list[float]], rhs: list[float]) -> list[float]:
    """Gaussian elimination for the small normal-equation systems below."""
    n = len(rhs)
    m = [[*row, r] for row, r in zip(matrix, rhs, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(n):
            if r != col:
                f = m[r][col] / m[col][col]
                m[r] = [a - f * b for a, b in zip(m[r], m[col], strict=True)]
    return [m[i][n] / m[i][i] for i in range(n)]


def _polyfit(xs: list[float], ys: list[float], degree: int) -> list[float]:
    powers = [[x ** k for k in range(degree + 1)] for x in xs]
    normal = [[sum(p[i] * p[j] for p in powers) for j in range(degree + 1)] for i in range(degree + 1)]
    return _solve(normal, [sum(p[i] * y for p, y in zip(powers, ys, strict=True)) for i in range(degree + 1)])


def fit(xs: list[float], ys: list[float]) -> dict[str, float]:
    """Least-squares line y = a + b x with its R^2, and a quadratic fit for comparison: growth is
    linear when the quadratic term explains little of the largest case (``quadraticShare``)."""
    a, b = _polyfit(xs, ys, 1)
    my = sum(ys) / len(ys)
    ss_res = sum((y - (a + b * x)) ** 2 for x, y in zip(xs, ys, strict=True))
    ss_tot = sum((y - my) ** 2 for y in ys)
    a2, b2, c = _polyfit(xs, ys, 2)
    x_max = max(xs)
    return {"interceptSeconds": a, "secondsPerUnit": b, "r2": 1 - ss_res / ss_tot if ss_tot else 1.0,
            # the x^2 term's part of the quadratic fit's value at the largest case
            "quadraticShare": c * x_max ** 2 / (a2 + b2 * x_max + c * x_max ** 2)}


def one_case(project: Path, stack: str) -> dict[str, Any]:
    """A stack's plan as a user runs it (`bridgectl plan --json` in a fresh process: wall time and peak
    memory), then warm and plain-registration times from the worker."""
    bridgectl = [sys.executable, "-m", "bridgectl", "-C", str(project), "plan", "--json", stack]
    walls, peaks = [], []
    for _ in range(3):
        wall, rss, _ = measure_rss(bridgectl)
        walls.append(wall)
        peaks.append(rss)
    _, _, out = measure_rss([sys.executable, "-m", "bench.worker", "plan", str(project), stack])
    return {"processSeconds": statistics.median(walls), "peakMiB": max(peaks), **json.loads(out)}


def _call_fit(rows: list[dict[str, Any]], unit: str) -> dict[str, float]:
    f = fit([r[unit] for r in rows], [r["pythonCalls"] for r in rows])
    return {"interceptCalls": f["interceptSeconds"], "callsPerUnit": f["secondsPerUnit"], "r2": f["r2"],
            "quadraticShare": f["quadraticShare"]}


def plan_benchmarks(work: Path) -> dict[str, Any]:
    rows = []
    for routers, vpcs in BRIDGE_CASES:
        name = f"b{routers}r{vpcs}v"
        project = write_project(work / name, {name: bridge_config(name, routers, vpcs)})
        rows.append({"case": name, "routers": routers, "vpcs": vpcs, "endpoints": 0, **one_case(project, name)})
        print(f"  bridge {routers} router(s) {vpcs:>2} VPC(s): {rows[-1]['warmSeconds']:.2f} s", file=sys.stderr)
    for endpoints in CUSTOMER_CASES:
        name = f"c{endpoints}"
        project = write_project(work / name, {"dev": bridge_config("dev", 2, 1),
                                              f"dev.{name}": customer_config("dev", name, endpoints)})
        rows.append({"case": name, "routers": 2, "vpcs": 1, "endpoints": endpoints,
                     **one_case(project, f"dev.{name}")})
        print(f"  customer {endpoints:>3} endpoint(s): {rows[-1]['warmSeconds']:.2f} s", file=sys.stderr)
    for row in rows:
        row["overheadRatio"] = row["pairRatio"]
    bridges = [r for r in rows if r["endpoints"] == 0 and r["routers"] == 2]
    customers = [r for r in rows if r["endpoints"]]
    # Fitted over every warm run, not only each case's median: one disturbed run moves a fit less.
    fits = {
        "bridgeByVpcs": fit([r["vpcs"] for r in bridges for _ in r["warmRuns"]],
                            [t for r in bridges for t in r["warmRuns"]]),
        "customerByEndpoints": fit([r["endpoints"] for r in customers for _ in r["warmRuns"]],
                                   [t for r in customers for t in r["warmRuns"]]),
    }
    # The same growth in Python function calls: the work itself, which machine noise does not move.
    call_fits = {"bridgeByVpcs": _call_fit(bridges, "vpcs"), "customerByEndpoints": _call_fit(customers, "endpoints")}
    # All cases together: total plan time over total plain time (the per-case ratios are noisier).
    pooled = sum(r["warmMedianSeconds"] for r in rows) / sum(r["plainMedianSeconds"] for r in rows)
    return {"rows": rows, "fits": fits, "callFits": call_fits, "pooledOverheadRatio": pooled}


def startup_benchmarks(repeats: int = 5) -> dict[str, Any]:
    def median(args: list[str]) -> float:
        return statistics.median(measure(args)[0] for _ in range(repeats))

    bridgectl = str(Path(sys.executable).parent / "bridgectl")
    imports = [json.loads(measure([sys.executable, "-m", "bench.worker", "imports"])[1])["programImportSeconds"]
               for _ in range(repeats)]
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    pyc = sum(1 for _ in (site / "pulumi_aws").rglob("*.pyc"))
    return {
        "interpreterSeconds": median([sys.executable, "-c", "pass"]),
        "programImportSeconds": statistics.median(imports),
        "bridgectlHelpSeconds": median([bridgectl, "--help"]),
        "validateDevSeconds": median([bridgectl, "validate", "-q", "dev"]),
        "planDevColdProcessSeconds": median([bridgectl, "plan", "--json", "dev"]),
        "compiledBytecodeFiles": pyc,
    }


def twin_benchmarks(runs: int) -> dict[str, Any]:
    bridgectl = str(Path(sys.executable).parent / "bridgectl")
    per_run = []
    for i in range(runs):
        start = time.perf_counter()
        proc = subprocess.run([bridgectl, "twin", "dev", "--json"], capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - start
        if proc.returncode not in (0, 1):
            return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "twin failed"}
        result = json.loads(proc.stdout)
        result["wallSeconds"] = wall
        per_run.append(result)
        print(f"  twin run {i + 1}/{runs}: {wall:.0f} s", file=sys.stderr)
    scenarios: dict[str, dict[str, Any]] = {}
    for result in per_run:
        for s in result["scenarios"]:
            entry = scenarios.setdefault(s["name"], {"kind": s["kind"], "detectionMs": [], "outageMs": [],
                                                     "lostPackets": [], "passed": []})
            for key in ("detectionMs", "outageMs", "lostPackets"):
                if s.get(key) is not None:
                    entry[key].append(s[key])
            entry["passed"].append(bool(s["passed"]))
    summary = {}
    for name, entry in scenarios.items():
        summary[name] = {"kind": entry["kind"], "runs": len(entry["passed"]), "allPassed": all(entry["passed"])}
        for key in ("detectionMs", "outageMs", "lostPackets"):
            values = entry[key]
            if values:
                summary[name][key] = {"median": statistics.median(values), "max": max(values)}
    extra = {k: statistics.median(r[k] for r in per_run) for k in ("bringUpMs", "convergenceMs")
             if all(k in r for r in per_run)}
    return {"runs": runs, "wallSeconds": {"median": statistics.median(r["wallSeconds"] for r in per_run),
                                          "max": max(r["wallSeconds"] for r in per_run)},
            **extra, "scenarios": summary}


def targets(results: dict[str, Any]) -> dict[str, Any]:
    rows = results["plan"]["rows"]
    c100 = next(r for r in rows if r["endpoints"] == 100)
    worst_ratio = max(r["overheadRatio"] for r in rows)
    fits = results["plan"]["fits"]
    out = {
        "customer100WithinSeconds": {"target": TARGET_CUSTOMER_100_SECONDS, "measured": c100["processSeconds"],
                                     "met": c100["processSeconds"] <= TARGET_CUSTOMER_100_SECONDS},
        "componentOverheadRatio": {"target": TARGET_OVERHEAD_RATIO, "measured": worst_ratio,
                                   "met": worst_ratio <= TARGET_OVERHEAD_RATIO},
        "linearGrowth": {"target": f"quadratic term <= {LINEAR_QUADRATIC_SHARE:.0%} of the largest case",
                         "measured": {k: f"{v['quadraticShare']:+.1%} (linear R^2 {v['r2']:.3f})"
                                      for k, v in fits.items()},
                         "met": all(v["quadraticShare"] <= LINEAR_QUADRATIC_SHARE for v in fits.values())},
    }
    twin = results.get("twin") or {}
    if "wallSeconds" in twin:
        out["twinRunWithinSeconds"] = {"target": TARGET_TWIN_SECONDS, "measured": twin["wallSeconds"]["max"],
                                       "met": twin["wallSeconds"]["max"] <= TARGET_TWIN_SECONDS}
    return out


def print_report(results: dict[str, Any]) -> None:
    m = results["machine"]
    print(f"Machine: {m['cpu']}, {m['cores']} cores, {m['memoryGiB']} GiB, Linux {m['kernel']}, Python {m['python']}")
    print("\nOffline plan (warm: median of 11 in one process, modules imported; process: `bridgectl plan --json` "
          "in a fresh process, median of 3; ratio: median of warm / plain replay pairs)")
    print(f"  {'case':<31}{'resources':>10}{'warm s':>9}{'process s':>11}{'peak MiB':>10}{'plain s':>9}{'ratio':>7}")
    for r in results["plan"]["rows"]:
        label = (f"customer, {r['endpoints']} endpoints" if r["endpoints"]
                 else f"bridge, {r['routers']} router(s), {r['vpcs']} VPC(s)")
        print(f"  {label:<31}{r['resources']:>10}{r['warmMedianSeconds']:>9.2f}{r['processSeconds']:>11.2f}"
              f"{r['peakMiB']:>10.0f}{r['plainMedianSeconds']:>9.2f}{r['overheadRatio']:>7.2f}")
    ratios = [r["overheadRatio"] for r in results["plan"]["rows"]]
    print(f"  overhead ratio: median {statistics.median(ratios):.2f}, worst {max(ratios):.2f}"
          + (f", all cases pooled {results['plan']['pooledOverheadRatio']:.2f}"
             if "pooledOverheadRatio" in results["plan"] else ""))
    for name, f in results["plan"]["fits"].items():
        print(f"  fit {name}: {f['secondsPerUnit'] * 1000:.1f} ms per unit + {f['interceptSeconds']:.2f} s, "
              f"R^2 {f['r2']:.4f}; quadratic term {f['quadraticShare']:+.1%} of the largest case")
    for name, f in results["plan"].get("callFits", {}).items():
        print(f"  calls {name}: {f['callsPerUnit']:,.0f} Python calls per unit + {f['interceptCalls']:,.0f}, "
              f"R^2 {f['r2']:.4f}; quadratic term {f['quadraticShare']:+.1%} of the largest case")
    s = results["startup"]
    print("\nStart-up (median of 5)")
    for key, value in s.items():
        print(f"  {key:<28}{value:>10.3f}" if isinstance(value, float) else f"  {key:<28}{value:>10}")
    twin = results.get("twin")
    if twin and "scenarios" in twin:
        print(f"\nBGP twin, dev stack, {twin['runs']} runs: wall median {twin['wallSeconds']['median']:.0f} s, "
              f"max {twin['wallSeconds']['max']:.0f} s")
        if "bringUpMs" in twin:
            print(f"  bring-up (namespaces, links, daemons) median {twin['bringUpMs'] / 1000:.1f} s; "
                  f"convergence (all sessions up, all routes in) median {twin.get('convergenceMs', 0) / 1000:.1f} s")
        print(f"  {'scenario':<34}{'kind':<14}{'detect ms med/max':>20}{'outage ms med/max':>20}{'lost med/max':>15}")
        for name, e in twin["scenarios"].items():
            def mm(key: str, e: dict[str, Any] = e) -> str:
                v = e.get(key)
                return f"{v['median']:.0f}/{v['max']:.0f}" if v else "-"
            print(f"  {name:<34}{e['kind']:<14}{mm('detectionMs'):>20}{mm('outageMs'):>20}{mm('lostPackets'):>15}")
    elif twin:
        print(f"\nBGP twin: not measured ({twin.get('error') or twin.get('skipped')})")
    if "scale" in results:
        print_scale(results["scale"])
    if "backupComparison" in results:
        print_comparison(results["backupComparison"])
    print("\nTargets")
    for name, t in results.get("targets", {}).items():
        print(f"  {name:<28}{'met' if t['met'] else 'NOT MET':<9} target {t['target']}, measured {t['measured']}")


def _scale(sizes: tuple[int, ...]) -> dict[str, Any]:
    print("scale (one bridge, N customers):", file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="bridge-bench-scale-"))
    try:
        return scale_benchmarks(work, sizes, partial=Path(tempfile.gettempdir()) / "bridge-bench-scale-rows.json")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-twin", action="store_true", help="skip the BGP twin runs")
    parser.add_argument("--twin-runs", type=int, default=5, help="twin runs (default 5)")
    parser.add_argument("-o", "--output", default=str(RESULTS), help="results file (default bench/results.json)")
    parser.add_argument("--report", action="store_true",
                        help="print the table of an existing results file; run nothing")
    parser.add_argument("--scale-only", action="store_true",
                        help="run only the scale benchmark (bench/scale.py) and update its part of the results")
    parser.add_argument("--backup-comparison", action="store_true",
                        help="run only the VPN backup comparison (bench/backup.py; root and FRR) and update its part "
                             "of the results")
    parser.add_argument("--backup-runs", type=int, default=3, help="runs of each backup lab (default 3)")
    parser.add_argument("--scale-sizes", default=",".join(str(n) for n in SCALE_SIZES),
                        help="customer counts of the scale benchmark (default %(default)s)")
    args = parser.parse_args(argv)
    if args.report:
        print_report(json.loads(Path(args.output).read_text()))
        return 0
    if args.backup_comparison:
        if os.geteuid() != 0 or not Path("/usr/lib/frr/bgpd").exists():
            print("the backup comparison runs the BGP twin: it needs root and FRR (Debian package frr)",
                  file=sys.stderr)
            return 3
        saved: dict[str, Any] = json.loads(Path(args.output).read_text()) if Path(args.output).is_file() else {}
        print("VPN backup comparison:", file=sys.stderr)
        comparison = backup_comparison(args.backup_runs)
        comparison["machine"] = machine()
        comparison["date"] = time.strftime("%Y-%m-%d")
        saved["backupComparison"] = comparison
        Path(args.output).write_text(json.dumps(saved, indent=2) + "\n")
        print_comparison(comparison)
        return 0
    sizes = tuple(int(n) for n in args.scale_sizes.split(","))
    if args.scale_only:
        kept: dict[str, Any] = json.loads(Path(args.output).read_text()) if Path(args.output).is_file() else {}
        kept["scaleMachine"] = machine()
        kept["scaleDate"] = time.strftime("%Y-%m-%d")
        kept["scale"] = _scale(sizes)
        Path(args.output).write_text(json.dumps(kept, indent=2) + "\n")
        print_scale(kept["scale"])
        return 0
    results: dict[str, Any] = {"machine": machine(), "date": time.strftime("%Y-%m-%d")}
    work = Path(tempfile.mkdtemp(prefix="bridge-bench-"))
    try:
        print("offline plans:", file=sys.stderr)
        results["plan"] = plan_benchmarks(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("start-up:", file=sys.stderr)
    results["startup"] = startup_benchmarks()
    results["scale"] = _scale(sizes)
    if args.no_twin:
        results["twin"] = {"skipped": "--no-twin"}
    elif os.geteuid() != 0 or not Path("/usr/lib/frr/bgpd").exists():
        results["twin"] = {"skipped": "needs root and FRR (Debian package frr)"}
    else:
        print("BGP twin:", file=sys.stderr)
        results["twin"] = twin_benchmarks(args.twin_runs)
    results["targets"] = targets(results)
    previous = json.loads(Path(args.output).read_text()) if Path(args.output).is_file() else {}
    if "backupComparison" in previous:  # measured on its own (--backup-comparison); kept
        results["backupComparison"] = previous["backupComparison"]
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    print_report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
