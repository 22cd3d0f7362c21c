"""What a converged bridge looks like, asked of the routers themselves.

FRR-topotest style: read each router's own JSON (``show bgp neighbors json``, ``show bgp ipv4 unicast
json``) and compare it with what the design says, polling with a bound instead of sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .lab import LabError, RunningLab
from .model import Session
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


# A session given a wrong MD5 key must stay down at least this long (TCP-MD5 drops every segment).
MD5_STAYS_DOWN_S = 2.0
MD5_RECOVER_S = 20.0


def _state(rl: RunningLab, node: str, peer: str) -> str:
    return str(rl.neighbors(node).get(peer, {}).get("bgpState", "absent"))


def md5_problems(rl: RunningLab, session: Session) -> list[str]:
    """Behaviour, not a read-back: the FCR end of ``session`` is given a wrong key, and the session must
    go down and stay down; given its key again, it must come back."""
    lab = rl.lab
    fcr = lab.node(session.fcr)
    right = fcr.neighbor_at(session.cloud_address)
    assert right is not None and right.md5, "every bridge session has a key"
    vty = rl.bgp(session.fcr)
    out = []

    def set_key(key: str) -> None:
        vty.configure(f"router bgp {fcr.asn}", f"neighbor {session.cloud_address} password {key}", "exit")

    set_key("Wrong" + right.md5[:10][::-1])
    try:
        deadline = time.monotonic() + MD5_STAYS_DOWN_S
        while _state(rl, session.fcr, session.cloud_address) == "Established" and time.monotonic() < deadline:
            time.sleep(CONVERGE_POLL_S / 2)
        stays = time.monotonic() + MD5_STAYS_DOWN_S
        while time.monotonic() < stays:
            if _state(rl, session.fcr, session.cloud_address) == "Established":
                out.append(f"{session.id}: came up with a wrong MD5 key at {session.fcr}")
                break
            time.sleep(CONVERGE_POLL_S)
    finally:
        set_key(right.md5)
    deadline = time.monotonic() + MD5_RECOVER_S
    while _state(rl, session.fcr, session.cloud_address) != "Established":
        if time.monotonic() > deadline:
            out.append(f"{session.id}: did not come back with its key within {MD5_RECOVER_S:.0f} s")
            break
        time.sleep(CONVERGE_POLL_S)
    return out


def converged_checks(rl: RunningLab) -> list[Check]:
    """The checks of a converged bridge: every session up, a wrong key keeps a session down, every
    table as designed, traffic across. Timers and prefix limits are shown by behaviour in the scenarios
    (a silent cut found within the BFD detection time or the hold timer; a session past its limit
    dropped), not read back from the configuration the twin wrote."""
    lab = rl.lab
    neighbors = {n.name: rl.neighbors(n.name) for n in lab.routers}
    checks = []

    problems = session_problems(rl, neighbors)
    checks.append(Check("sessions", not problems, "; ".join(problems) or
                        f"{sum(len(n.neighbors) for n in lab.routers) // 2} BGP sessions Established, BFD Up "
                        f"on {sum(1 for s in lab.sessions if s.bfd)} of {len(lab.sessions)} bridge sessions"))

    # One session of each kind: a transit VIF's key is its own, an ExpressRoute peering's is shared by
    # both its links (the plan's arrangement; the sessions came up with it).
    tried = [next(s for s in lab.sessions if s.kind == kind) for kind in ("aws", "azure")
             if any(s.kind == kind for s in lab.sessions)]
    auth_problems = [p for s in tried for p in md5_problems(rl, s)]
    if not auth_problems:
        auth_problems = wait_converged(rl, CONVERGE_TIMEOUT_S)
    keys: dict[str, list[str]] = {}
    for s in lab.sessions:
        keys.setdefault(s.key_id or s.id, []).append(s.id)
    checks.append(Check("md5", not auth_problems, "; ".join(auth_problems[:5]) or (
        f"{', '.join(s.id for s in tried)} stayed down for {MD5_STAYS_DOWN_S:.0f} s with a wrong key and came back "
        f"with theirs; keys: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in keys.items()))))

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
