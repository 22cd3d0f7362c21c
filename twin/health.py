"""Health, read from the twin's FRR routers: the evaluation ``bridgectl health`` runs on the clouds,
tested against real BGP.

Each bridge session is read at both ends, as the clouds show it: the FCR end (what Equinix's routing
protocol and route table show) and the cloud end (what the VIF's BGP peer, or the Microsoft edge's
route table, shows). The routes each end received on the session are the paths in its BGP table
whose peer is the other end (``peerId`` in ``show bgp ipv4 unicast json``). A router that does not
answer (stopped) holds no session and no route. The edges (the TGW, the ExpressRoute gateway) are
read too: a prefix with no valid path there is lost to the whole bridge (paths over the VPN backup do
not count: the backup is not the bridge).
"""

from __future__ import annotations

from typing import Any

from bridgectl.health.model import EdgeRoutes, Expected, Observation, PlannedSession, SessionObservation

from .lab import LabError, RunningLab
from .model import Lab


def expected_from_lab(lab: Lab) -> Expected:
    """The plan as health sees it, from the lab (which the sandbox has; the plan stays on the host)."""
    return Expected(lab.stack, tuple(PlannedSession(
        id=s.id, kind=s.kind, router=s.fcr, fcr_address=s.fcr_address, cloud_address=s.cloud_address,
        cloud=s.cloud, bfd=s.bfd, to_cloud=s.fcr_advertises, to_fcr=s.cloud_advertises, limit=s.max_prefixes,
        equinix_connection=s.link, priority=s.priority) for s in lab.sessions), lab.aws_prefixes, lab.azure_prefixes)


def _read(rl: RunningLab, node: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    if node in rl.down_routers:
        return None
    try:
        return rl.neighbors(node), rl.routes(node).get("routes", {})
    except (LabError, OSError):
        return None


def _received(routes: dict[str, Any], peer: str) -> tuple[str, ...]:
    return tuple(sorted(p for p, paths in routes.items()
                        if any(path.get("peerId") == peer and path.get("valid") for path in paths)))


def observe(rl: RunningLab) -> Observation:
    """Read every bridge session at both ends, and the two edges."""
    lab = rl.lab
    obs = Observation(read={"twin"})
    cache: dict[str, tuple[dict[str, Any], dict[str, Any]] | None] = {}

    def read(node: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        if node not in cache:
            cache[node] = _read(rl, node)
        return cache[node]

    for s in lab.sessions:
        for node, peer, at_fcr in ((s.fcr, s.cloud_address, True), (s.cloud, s.fcr_address, False)):
            data = read(node)
            received: tuple[str, ...] = ()
            state, bfd, detail = "not answering", None, f"{node} does not answer"
            if data is not None:
                neighbors, routes = data
                info = neighbors.get(peer, {})
                bgp = info.get("bgpState", "absent")
                state, detail = ("up" if bgp == "Established" else bgp), ""
                status = info.get("peerBfdInfo", {}).get("status") if s.bfd else None
                bfd = None if status is None else ("up" if status == "Up" else status)
                received = _received(routes, peer) if bgp == "Established" else ()
            obs.sessions.append(SessionObservation(
                s.id, f"twin:{node}", state, bfd=bfd, to_fcr=received if at_fcr else None,
                to_cloud=None if at_fcr else received, detail=detail))
    for edge, want in ((lab.aws_edge, lab.azure_prefixes), (lab.azure_edge, lab.aws_prefixes)):
        data = read(edge)
        routes = data[1] if data else {}
        # What the private bridge still carries: a path over the VPN backup is not one (the backup is no
        # bridge session; twin.scenarios measures it on its own).
        vpn = {n.address for n in lab.node(edge).neighbors if n.backup}
        seen = tuple(p for p, paths in routes.items()
                     if any(path.get("valid") and path.get("peerId") not in vpn for path in paths))
        obs.edges.append(EdgeRoutes(edge, f"twin:{edge}", want, seen))
    return obs
