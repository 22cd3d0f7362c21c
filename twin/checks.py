"""What a converged bridge looks like, asked of the routers themselves.

FRR-topotest style: read each router's own JSON (``show bgp neighbors json``, ``show bgp ipv4 unicast
json``) and compare it with what the design says, polling with a bound instead of sleeping.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .lab import LabError, RunningLab
from .render import expected_routes, observed_routes, table_differences

# How long a lab may take to come up (or to heal after a scenario) before it counts as broken.
CONVERGE_TIMEOUT_S = 60.0
CONVERGE_POLL_S = 0.1
# The data-plane check: this long of probe traffic, every packet answered.
BASELINE_PROBE_S = 1.0


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


def session_problems(rl: RunningLab, neighbors: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """Every BGP session that is not Established, or whose BFD is not Up where it should run."""
    out = []
    for node in rl.lab.routers:
        if node.name in rl.down_routers:
            continue
        data = neighbors[node.name] if neighbors is not None else rl.neighbors(node.name)
        for n in node.neighbors:
            info = data.get(n.address, {})
            state = info.get("bgpState", "absent")
            if state != "Established":
                out.append(f"{node.name}: session to {n.peer_node} ({n.address}) is {state}")
            elif n.bfd_profile and info.get("peerBfdInfo", {}).get("status") != "Up":
                status = info.get("peerBfdInfo", {}).get("status", "absent")
                out.append(f"{node.name}: BFD to {n.peer_node} is {status}")
    return out


def route_problems(rl: RunningLab, drained: Iterable[str] = ()) -> list[str]:
    """How every router's BGP table differs from the design's (with ``drained`` links in maintenance)."""
    expected = expected_routes(rl.lab, drained)
    out = []
    for node in rl.lab.routers:
        observed = observed_routes(node, rl.routes(node.name))
        out += table_differences(node.name, expected.get(node.name, {}), observed)
    return out


def lab_problems(rl: RunningLab, drained: Iterable[str] = ()) -> list[str]:
    return session_problems(rl) + route_problems(rl, drained)


def wait_converged(rl: RunningLab, timeout: float = CONVERGE_TIMEOUT_S, drained: Iterable[str] = ()) -> list[str]:
    """Poll until every session is up and every table is as designed; the problems left at the deadline."""
    drained = tuple(drained)
    deadline = time.monotonic() + timeout
    while True:
        try:
            problems = lab_problems(rl, drained)
        except (LabError, OSError) as exc:  # a daemon still starting
            problems = [str(exc)]
        if not problems or time.monotonic() > deadline:
            return problems
        time.sleep(CONVERGE_POLL_S)


def _running_passwords(rl: RunningLab, node: str) -> dict[str, str]:
    text = rl.bgp(node).show("show running-config")
    return dict(re.findall(r"^ neighbor (\S+) password (\S+)$", text, flags=re.MULTILINE))


def converged_checks(rl: RunningLab) -> list[Check]:
    """The checks of a converged bridge (the issue's item 3 and the per-session settings)."""
    lab = rl.lab
    neighbors = {n.name: rl.neighbors(n.name) for n in lab.routers}
    checks = []

    problems = session_problems(rl, neighbors)
    checks.append(Check("sessions", not problems, "; ".join(problems) or
                        f"{sum(len(n.neighbors) for n in lab.routers) // 2} BGP sessions Established, BFD Up "
                        f"on {sum(1 for s in lab.sessions if s.bfd)} of {len(lab.sessions)} bridge sessions"))

    timer_problems = []
    for s in lab.sessions:
        for node, peer in ((s.fcr, s.cloud_address), (s.cloud, s.fcr_address)):
            info = neighbors[node].get(peer, {})
            hold, keepalive = info.get("bgpTimerHoldTimeMsecs"), info.get("bgpTimerKeepAliveIntervalMsecs")
            if (hold, keepalive) != (s.hold_s * 1000, s.keepalive_s * 1000):
                timer_problems.append(f"{s.id} at {node}: keepalive/hold {keepalive}/{hold} ms, "
                                      f"expected {s.keepalive_s * 1000}/{s.hold_s * 1000}")
            bfd = info.get("peerBfdInfo")
            if s.bfd and s.detect_ms is not None:
                seen = (bfd or {}).get("detectMultiplier", 0) * (bfd or {}).get("rxMinInterval", 0)
                if seen != s.detect_ms:
                    timer_problems.append(f"{s.id} at {node}: BFD detects in {seen} ms, expected {s.detect_ms}")
            elif bfd:
                timer_problems.append(f"{s.id} at {node}: BFD runs, expected off")
    checks.append(Check("timers", not timer_problems, "; ".join(timer_problems) or ", ".join(
        f"{s.id} {s.keepalive_s}/{s.hold_s} s" + (f" BFD {s.detect_ms} ms" if s.bfd else " no BFD")
        for s in lab.sessions)))

    auth_problems = []
    for s in lab.sessions:
        fcr_key = _running_passwords(rl, s.fcr).get(s.cloud_address)
        cloud_key = _running_passwords(rl, s.cloud).get(s.fcr_address)
        if not fcr_key or fcr_key != cloud_key:
            auth_problems.append(f"{s.id}: MD5 keys {'differ' if fcr_key and cloud_key else 'missing'}")
    checks.append(Check("md5", not auth_problems, "; ".join(auth_problems) or
                        f"each of {len(lab.sessions)} sessions authenticates with its own key on both ends"))

    limit_problems = []
    for s in lab.sessions:
        info = neighbors[s.cloud].get(s.fcr_address, {}).get("addressFamilyInfo", {}).get("ipv4Unicast", {})
        if info.get("prefixAllowedMax") != s.max_prefixes:
            limit_problems.append(f"{s.id}: {s.cloud} accepts {info.get('prefixAllowedMax')} routes, "
                                  f"expected {s.max_prefixes}")
    checks.append(Check("prefix-limits", not limit_problems, "; ".join(limit_problems) or ", ".join(
        f"{s.id} {s.max_prefixes}" for s in lab.sessions)))

    problems = route_problems(rl)
    checks.append(Check("routes", not problems, "; ".join(problems) or (
        f"{len(lab.azure_prefixes)} Azure prefix(es) at {lab.aws_edge} and {len(lab.aws_prefixes)} AWS prefix(es) "
        f"at {lab.azure_edge} with the expected AS paths, equal paths load-balanced; nothing else anywhere")))

    probe = rl.start_probe(max_seconds=BASELINE_PROBE_S + 10)
    ready = probe.wait_ready(5.0)
    if ready:
        time.sleep(BASELINE_PROBE_S)
    summary = probe.stop()
    ok = ready and summary.received == summary.sent
    checks.append(Check("data-plane", ok, (
        f"{summary.received}/{summary.sent} UDP packets from {lab.vpc_address} to {lab.vnet_address} and back "
        f"({summary.flows} flows x {summary.pps}/s)") if ready else "no reply from the VNet host"))
    return checks
