"""The VPN backup's failover, measured side by side (issue 17, "the article's claim").

Three labs of the dev stack, each run a few times in the BGP twin (needs root and FRR):

* **pre-established**: the design as planned: BFD on every private session, the VPN's tunnels and BGP
  sessions up all along at a lower preference. ``backup-failover`` loses every private path (dev's whole
  metro) at once; ``backup-failback`` brings it back while traffic crosses the VPN.
* **no BFD on the private path**: the same lab with BFD off on every private session: the private
  sessions' hold timers (90 s at AWS) have to notice before the VPN takes over.
* **IPsec only**: the VPN alone, no private path; ``backup-down`` cuts one tunnel's internet path: the
  flows on it are lost until its BGP session ends by the hold timer (30 s); then both ends' dead-peer
  detection (strongSwan, sized to the plan's 40 s DPD timeout: docs/twin.md) ends its IKE SA (``dpdMs``,
  the later of the two ends).

    python -m bench --backup-comparison            # 3 runs of each, into bench/results.json
    python -m bench --backup-comparison --backup-runs 5

Every figure is the twin's own measurement (twin.scenarios): detection, the probe's longest gap, packets
lost, packets that crossed the VPN.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

#: (key, label, sandbox variant, scenario kinds run)
VARIANTS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("preEstablished", "pre-established VPN, BFD on the private path", "planned",
     ("backup-failover", "backup-failback")),
    ("noBfd", "pre-established VPN, no BFD on the private path", "no-bfd", ("backup-failover",)),
    ("ipsecOnly", "IPsec only (one tunnel lost; hold timer, then DPD)", "ipsec-only", ("backup-down",)),
)
FIGURES = ("detectionMs", "outageMs", "lostPackets", "sentPackets", "vpnPackets", "dpdMs")


def _dev_plan() -> Any:
    from stacks.loader import load_stack
    from stacks.plan import plan_bridge

    plan = plan_bridge(load_stack(ROOT, "dev").spec)  # type: ignore[arg-type]
    if plan.backup is None:
        raise SystemExit("the dev stack has no bridge:vpnBackup: nothing to compare")
    return plan


def backup_comparison(runs: int, only: tuple[str, ...] = ()) -> dict[str, Any]:
    """Each variant (or those whose key is in ``only``) ``runs`` times, one after another (timing is not
    shared with another lab)."""
    from twin import sandbox

    plan = _dev_plan()
    out: dict[str, Any] = {"command": f"python -m bench --backup-comparison --backup-runs {runs}", "runs": runs}
    for key, label, variant, kinds in VARIANTS:
        if only and key not in only:
            continue
        per_kind: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
        walls = []
        for i in range(runs):
            start = time.perf_counter()
            report = sandbox.run(plan, patterns=kinds, variant=variant)  # type: ignore[arg-type]
            walls.append(time.perf_counter() - start)
            if not report.converged:
                per_kind.setdefault("problems", []).append({"problems": report.problems[:3]})
            for r in report.scenarios:
                per_kind[r.kind].append(r.to_json())
            print(f"  {label}: run {i + 1}/{runs}, {walls[-1]:.0f} s", file=sys.stderr)
        out[key] = {"label": label, "variant": variant, "wallSeconds": round(statistics.median(walls), 1),
                    "scenarios": {k: _summary(v) for k, v in per_kind.items() if k in kinds}}
    return out


def _summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {"runs": len(results), "passed": sum(bool(r["passed"]) for r in results)}
    for key in FIGURES:
        # dpdMs is per VPN end ({node: ms}): the tunnel is gone once both ends found it dead, the later one.
        values = [max(r[key].values()) if isinstance(r.get(key), dict) else r[key] for r in results
                  if r.get(key) is not None and r.get(key) != {}]
        if values:
            summary[key] = {"median": statistics.median(values), "min": min(values), "max": max(values),
                            "values": values}
    summary["failures"] = sorted({f for r in results for f in r["failures"]})[:5]
    return summary


def print_comparison(data: dict[str, Any]) -> None:
    print(f"\nVPN backup, dev stack, {data['runs']} run(s) each (`{data['command']}`)")
    print(f"  {'lab':<50}{'scenario':<17}{'detect ms':>27}{'outage ms':>27}{'lost/sent':>18}{'via VPN':>9}"
          f"{'DPD ms':>27}")
    for key, *_ in VARIANTS:
        entry = data.get(key)
        if not entry:
            continue
        for kind, s in entry["scenarios"].items():
            def mm(fig: str, s: dict[str, Any] = s) -> str:
                v = s.get(fig)
                return f"{v['median']:,.0f} ({v['min']:,.0f}-{v['max']:,.0f})" if v else "-"
            lost, sent = s.get("lostPackets"), s.get("sentPackets")
            ls = f"{lost['median']:,.0f}/{sent['median']:,.0f}" if lost and sent else "-"
            vpn = s.get("vpnPackets")
            via = f"{vpn['median']:,.0f}" if vpn else "-"
            print(f"  {entry['label']:<50}{kind:<17}{mm('detectionMs'):>27}{mm('outageMs'):>27}{ls:>18}{via:>9}"
                  f"{mm('dpdMs'):>27}")
