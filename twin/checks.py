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
from .render import (
    DPD_DELAY_S,
    ESP_PROPOSAL,
    IKE_PROPOSAL,
    dpd_detection_s,
    expected_routes,
    observed_routes,
    table_differences,
)

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
                over = next((f" over VPN tunnel {t.id}" for t in rl.lab.tunnels
                             if n.address in (t.aws_address, t.azure_address)), "")
                out.append(f"{node.name}: session to {n.peer_node}{over} ({n.address}) is {state}")
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


def sessions_check(rl: RunningLab, neighbors: dict[str, dict[str, Any]] | None = None) -> Check:
    lab = rl.lab
    problems = session_problems(rl, neighbors)
    return Check("sessions", not problems, "; ".join(problems) or
                 f"{sum(len(n.neighbors) for n in lab.routers) // 2} BGP sessions Established, BFD Up "
                 f"on {sum(1 for s in lab.sessions if s.bfd)} of {len(lab.sessions)} bridge sessions")


def unconverged_checks(rl: RunningLab) -> list[Check]:
    """What is reported of a lab that did not converge: its sessions and, with a VPN backup, its IPsec (which
    name what is down and why)."""
    return [sessions_check(rl), *([ipsec_check(rl)] if rl.lab.tunnels else [])]


def converged_checks(rl: RunningLab) -> list[Check]:
    """The checks of a converged bridge: every session up, a wrong key keeps a session down, every
    table as designed, traffic across. Timers and prefix limits are shown by behaviour in the scenarios
    (a silent cut found within the BFD detection time or the hold timer; a session past its limit
    dropped), not read back from the configuration the twin wrote."""
    lab = rl.lab
    neighbors = {n.name: rl.neighbors(n.name) for n in lab.routers}
    checks = []

    checks.append(sessions_check(rl, neighbors))

    if lab.tunnels:
        checks.append(ipsec_check(rl))

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
    before = rl.vpn_data_packets() if lab.tunnels else 0
    ready = probe.wait_ready(5.0)
    if ready:
        time.sleep(BASELINE_PROBE_S)
    summary = probe.stop()
    over_vpn = rl.vpn_data_packets() - before if lab.tunnels else 0
    ok = ready and summary.received == summary.sent
    detail = (f"{summary.received}/{summary.sent} UDP packets from {lab.vpc_address} to {lab.vnet_address} and back "
              f"({summary.flows} flows x {summary.pps}/s)") if ready else "no reply from the VNet host"
    if lab.tunnels and lab.private:
        # While the private path is up the VPN backup carries nothing (its routes are held, not selected).
        ok = ok and over_vpn == 0
        detail += f"; {over_vpn} crossed the VPN backup" + ("" if over_vpn == 0 else " while the private path was up")
    elif lab.tunnels:
        ok = ok and over_vpn > 0
        detail += f"; {over_vpn} crossed the VPN (IPsec only)"
    checks.append(Check("data-plane", ok, detail))
    return checks


def ipsec_problems(rl: RunningLab) -> list[str]:
    """Every VPN tunnel whose IPsec SA is not up at both ends (IKE SA established, CHILD_SA installed)."""
    out = []
    states = {node: rl.ipsec_sas(node) for node in sorted({n for t in rl.lab.tunnels for n in (t.aws, t.azure)})}
    for t in rl.lab.tunnels:
        for node in (t.aws, t.azure):
            if states[node].get(t.id) != "up":
                out.append(f"{node}: IPsec SA of VPN tunnel {t.id} is {states[node].get(t.id, 'none')} "
                           f"(IKEv2 {t.aws_outside if node == t.azure else t.azure_outside}; charon log: "
                           f"{node}/ipsec/charon.log)")
    return out


def ipsec_check(rl: RunningLab) -> Check:
    """Every tunnel's IPsec SA up at both ends, and the internet link carrying ESP in UDP only: since the lab
    was built (IKE, every BGP session's setup and keepalives over the tunnels) no VXLAN packet crossed it in
    the clear, and ESP did."""
    problems = ipsec_problems(rl)
    seen = rl.internet_packets()
    if seen["clear"]:
        problems.append(f"{seen['clear']} VXLAN packet(s) crossed the internet link in the clear")
    if not seen["esp"]:
        problems.append("no ESP crossed the internet link")
    t = rl.lab.tunnels[0]
    return Check("ipsec", not problems, "; ".join(problems) or (
        f"{len(rl.lab.tunnels)} tunnels: IKEv2 SA and ESP CHILD_SA up at both ends ({IKE_PROPOSAL}, ESP "
        f"{ESP_PROPOSAL}, userspace ESP in UDP/4500; DPD every {DPD_DELAY_S} s, a dead peer found after "
        f"{'-'.join(f'{x:.0f}' for x in dpd_detection_s(t.dpd_timeout_s))} s); the internet link carried "
        f"{seen['esp']} ESP-in-UDP packets and no VXLAN in the clear"))
