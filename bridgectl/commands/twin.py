"""bridgectl twin STACK: run the planned bridge as FRR routers in namespaces and measure failover."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stacks.plan import BridgePlan
    from stacks.spec import BridgeSpec
    from twin.sandbox import Report

ORDER = 60

# Where --keep may not write: the sandbox mounts its own private filesystems there.
_SANDBOX_MOUNTS = (Path("/run"), Path("/var/run"), Path("/var/tmp"))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "twin", help="run the bridge as FRR routers and measure failover (needs root and FRR)",
        description="Render the stack's plan as FRR routers (AWS side, FCRs, Microsoft edges, ExpressRoute "
                    "gateway) and two hosts in network namespaces, check that every prefix arrives with the "
                    "expected AS path and nothing else does and that a wrong MD5 key keeps a session down, then "
                    "cut each link and router silently, cut links loudly, take down each circuit and each metro, "
                    "every survivable pair of failures, drain each ExpressRoute link and each circuit, turn BFD "
                    "off on one session and push too many prefixes toward AWS and toward Azure, measuring "
                    "detection, outage, packets and routes lost. A failure the topology cannot survive (a single "
                    "point of failure) is run and reported failed. Needs root and FRR (Debian package frr); see "
                    "docs/twin.md.",
        epilog="Exit codes: 0 every check and scenario passed, 1 one failed (a single point of failure makes "
               "its scenarios fail), 2 bad input (e.g. a customer stack), 3 root or FRR missing.")
    p.add_argument("stack", metavar="STACK", help="bridge stack name (dev) or path to its file")
    p.add_argument("--json", action="store_true",
                   help='print {"stack", "converged", "scenarios": [{"name", "kind", "passed", "detectionMs", '
                        '"outageMs", "lostPackets", "sentPackets", "routesLost", "recovered", "recoveredAfter", '
                        '"healthMatched", "singlePoints", ...}], "checks", "singlePoints", "exposures", ...} '
                        'instead of tables')
    p.add_argument("-s", "--scenario", action="append", metavar="PATTERN",
                   help="run only scenarios whose name (shell pattern, e.g. 'link-cut *') or kind matches; "
                        "repeatable")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit (no root needed)")
    p.add_argument("--configs", metavar="DIR",
                   help="write the rendered FRR configs and the lab description to DIR and exit (no root needed)")
    p.add_argument("--keep", metavar="DIR", help="keep each lab's configs, FRR logs and results in DIR")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)


def _bridge(args: argparse.Namespace) -> tuple[BridgePlan, BridgeSpec]:
    from bridgectl.commands import bridge_plan

    return bridge_plan(args, "twin", "the twin runs a bridge stack's routers")


def _backbone_asn(spec: BridgeSpec) -> int | None:
    """The Cloud WAN core network edge's ASN (the first of its ranges); the plan does not carry it."""
    core = spec.aws.core_network
    if spec.aws.backbone != "cloud-wan" or core is None or not core.asn_ranges:
        return None
    return int(core.asn_ranges[0].split("-")[0])


def run(args: argparse.Namespace) -> int:
    from bridgectl.cli import PrerequisiteMissing, UsageError
    from bridgectl.render import table
    from twin import sandbox
    from twin.render import build_lab, frr_configs, ipsec_configs
    from twin.scenarios import plan_scenarios

    plan, spec = _bridge(args)
    backbone_asn = _backbone_asn(spec)
    lab = build_lab(plan, backbone_asn=backbone_asn)
    scenarios = sandbox.select_scenarios(plan_scenarios(lab), args.scenario)
    if args.scenario and not scenarios:
        names = ", ".join(s.name for s in plan_scenarios(lab))
        raise UsageError(f"--scenario {' '.join(args.scenario)} matches no scenario of {plan.stack} "
                         f"(there are: {names})")
    if args.list:
        from twin.scenarios import exposures

        print(table(["scenario", "kind", "lab", "expected"], [[s.name, s.kind, s.lab, s.expect] for s in scenarios]))
        print(exposure_text(exposures(lab)))
        return 0
    if args.configs:
        from bridgectl.console import atomic_write_tree

        out = Path(args.configs)
        files = {f"{node.name}/{daemon}.conf": text for node in lab.routers
                 for daemon, text in frr_configs(node).items()}
        # The VPN backup's tunnel ends: strongSwan's configs too (pre-shared keys are the lab's, made up per run).
        ipsec = {f"{node.name}/ipsec/{name}": text for node in lab.routers
                 for name, text in ipsec_configs(lab, node.name).items()}
        files.update(ipsec)
        files["lab.json"] = lab.to_json()
        atomic_write_tree(out, files, option="--configs")
        print(f"wrote the FRR configs of {len(lab.routers)} routers"
              + (f", the strongSwan configs of {len({k.split('/')[0] for k in ipsec})} tunnel ends" if ipsec else "")
              + f" and lab.json to {out}")
        return 0
    missing = sandbox.missing_prerequisites(ipsec=bool(lab.tunnels))
    if missing:
        raise PrerequisiteMissing("; ".join(missing))
    keep = Path(args.keep).resolve() if args.keep else None
    if keep and any(keep == m or m in keep.parents for m in _SANDBOX_MOUNTS):
        raise UsageError(f"--keep {args.keep}: the twin's sandbox has its own {keep.parts[1]}; choose another "
                         "directory")

    progress = _Progress(enabled=not args.quiet, total=len(scenarios))
    if not args.quiet:
        labs = 1 + sum(1 for s in scenarios if s.lab == "hold")
        print(f"twin {plan.stack}: {len(lab.routers)} routers, {len(scenarios)} scenario(s) in {labs} lab(s)",
              file=sys.stderr)
    report = sandbox.run(plan, backbone_asn=backbone_asn, patterns=args.scenario, keep=keep, on_event=progress)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(result_text(report, plan.notes))
    return 0 if report.passed else 1


class _Progress:
    """One line on stderr per step of each lab, and a line per scenario result."""

    def __init__(self, *, enabled: bool, total: int) -> None:
        self.enabled, self.total, self.done = enabled, total, 0
        self.started = time.monotonic()

    def __call__(self, lab: str, event: dict[str, Any]) -> None:
        if not self.enabled:
            return
        kind = event["event"]
        if kind == "progress":
            text = event["text"]
        elif kind == "converged":
            text = "converged" if event["ok"] else "did not converge: " + "; ".join(event["problems"][:3])
        elif kind == "checks":
            failed = [c["name"] for c in event["checks"] if not c["passed"]]
            text = (f"checks: {len(event['checks']) - len(failed)}/{len(event['checks'])} passed"
                    + (f" (failed: {', '.join(failed)})" if failed else ""))
        elif kind == "scenario-start":
            text = f"{event['name']} ..."
        elif kind == "scenario":
            self.done += 1
            r = event["result"]
            text = f"[{self.done}/{self.total}] {r['name']}: {'passed' if r['passed'] else 'FAILED'}  {_figures(r)}"
        elif kind == "error":
            text = f"error: {event['text']}"
        else:
            return
        print(f"[{time.monotonic() - self.started:6.1f}s] {lab}: {text}", file=sys.stderr, flush=True)


def _ms(value: int | None) -> str:
    return "-" if value is None else f"{value} ms"


def _figures(r: dict[str, Any]) -> str:
    if r["sentPackets"] is None:
        return r["detail"]
    return (f"detection {_ms(r['detectionMs'])}, outage {_ms(r['outageMs'])}, lost {r['lostPackets']}/"
            f"{r['sentPackets']} packets, routes lost {r['routesLost']}")


def result_text(report: Report, notes: tuple[str, ...] = ()) -> str:
    from bridgectl.render import table

    rows = [r.to_json() for r in report.scenarios]
    passed = sum(1 for r in rows if r["passed"])
    lines = [f"BGP twin of {report.stack}: {'converged' if report.converged else 'NOT converged'}; "
             f"{passed}/{len(rows)} scenarios passed ({report.seconds:.0f} s)"]
    if report.bring_up_ms is not None and report.convergence_ms is not None:
        lines.append(f"lab up in {report.bring_up_ms / 1000:.1f} s (namespaces, links, FRR), converged "
                     f"{report.convergence_ms / 1000:.1f} s later")
    lines.append("")
    if report.checks:
        lines.append(table(["check", "result", "detail"],
                           [[c["name"], "ok" if c["passed"] else "FAILED", c["detail"]] for c in report.checks]))
        lines.append("")
    if rows:
        lines.append(table(
            ["scenario", "kind", "result", "detection", "outage", "lost/sent packets", "routes lost", "recovered",
             "health"],
            [[r["name"], r["kind"], "pass" if r["passed"] else "FAIL", _ms(r["detectionMs"]),
              # an outage that had not ended when the probe stopped lasted at least this long
              (">= " if r["recovered"] is False else "") + _ms(r["outageMs"]),
              "-" if r["sentPackets"] is None else f"{r['lostPackets']}/{r['sentPackets']}",
              "-" if r["routesLost"] is None else r["routesLost"],
              "-" if r["recovered"] is None else ("yes" if r["recovered"] else "NO"),
              # whether health named exactly what the fault took down
              "-" if r.get("healthMatched") is None else ("matched" if r["healthMatched"] else "MISMATCH")]
             for r in rows]))
    failures = [f"  {r['name']}: {'; '.join(r['failures'])}" for r in rows if r["failures"]]
    if failures or report.problems:
        lines += ["", "problems:", *failures, *(f"  {p}" for p in report.problems)]
    lines += ["", "single points of failure: " + (", ".join(report.single_points) or "none")]
    lines.append(exposure_text(report.exposures))
    lines += [f"note: {n}" for n in notes]
    return "\n".join(lines)


def exposure_text(exposures: list[dict[str, Any]]) -> str:
    """The double failures the plan's topology cannot survive (not run), one line each."""
    if not exposures:
        return "double failures the topology cannot survive: none"
    if all(e.get("backupCarries") for e in exposures):
        # With the VPN backup these pairs cut the private path only: the backup carries the traffic.
        header = "double failures the private path cannot survive (from the plan, not run; the VPN backup carries):"
    else:
        header = "double failures the topology cannot survive (from the plan, not run):"
    return "\n".join([header,
                      *(f"  {' + '.join(e['faults'])}: lacks {e['lacks']}" for e in exposures)])
