"""The failures the twin inflicts, how each is measured, and the property each must show.

Every scenario follows one script: start the probe, let it run, inject the fault and note when,
poll the surviving routers' own state until they react, let the bridge settle, stop the probe,
count what was lost, undo the fault and wait until the lab is exactly as before.

Figures (see docs/twin.md):

* detection: from injecting the fault to the last affected session being declared down by its
  surviving end (polled every 10 ms from the routers' vty sockets); for a drain, to every router
  holding the prepended paths;
* outage: the longest gap in any probe flow's replies (flows are spread over every path);
* lost packets: probe packets sent but never answered;
* routes lost: expected prefixes with no path left at the AWS edge (TGW) or the Azure edge
  (ExpressRoute gateway) while the fault lasts.
"""

from __future__ import annotations

import abc
import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from stacks import limits as L

from .checks import CONVERGE_TIMEOUT_S, lab_problems, route_problems, wait_converged
from .lab import LabError, RunningLab, run
from .model import Lab, Session
from .probe import Summary
from .render import ERGW, ROUTE_MAP_DELAY_S, prefix_list, route_map

Kind = Literal["link-cut", "router-down", "drain", "bfd-off", "prefix-limit"]
KINDS: tuple[Kind, ...] = ("link-cut", "router-down", "drain", "bfd-off", "prefix-limit")

# --- the properties (the product's pass/fail bars) ----------------------------------------------------

# BFD at 300 ms x 3 declares a silent peer dead at most 900 ms after its last packet; the bridge is
# held to 1 s for any single link or router loss.
MAX_DETECTION_MS = 1000
# Detection plus the withdrawal crossing the bridge and a FIB update: the bar for the probe's
# longest gap after any single link or router loss.
MAX_OUTAGE_MS = 1500
# A drain only makes a path longer; every path stays valid, so not one packet may be lost.
MAX_DRAIN_LOST_PACKETS = 0
# A hold timer counts in whole seconds; it fires within this of its nominal expiry.
HOLD_TIMER_TOLERANCE_MS = 1500
# AWS keeps a session that went over its prefix limit idle; it must still be down this long after.
PREFIX_LIMIT_STAYS_DOWN_S = 2.0

# --- observation ----------------------------------------------------------------------------------

BASELINE_S = 0.5  # probe traffic before the fault
SETTLE_S = 1.5  # after detection: long enough to see the probe flow again within MAX_OUTAGE_MS
POLL_S = 0.01  # state polling while waiting for a reaction
DETECT_MARGIN_S = 5.0  # waited beyond the slowest detection the design allows
PROBE_READY_S = 5.0
PROBE_SPARE_S = 30.0  # the probe's own deadline lies this far past the longest a scenario can take
PREFIX_FILL_TIMEOUT_S = 60.0  # for the routes up to a session's limit to reach the cloud

MAX_PREFIX_REASON = "Cease/Maximum Number of Prefixes Reached"
HOLD_TIMER_REASON = "Hold Timer Expired"


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: Kind
    target: str  # a session id, or a router's name
    lab: Literal["main", "hold"]
    expect: str  # the property, in words


@dataclass
class Result:
    name: str
    kind: Kind
    target: str
    passed: bool
    detection_ms: int | None = None
    outage_ms: int | None = None
    lost_packets: int | None = None
    sent_packets: int | None = None
    routes_lost: int | None = None
    recovered: bool | None = None
    flows_hit: int | None = None
    detail: str = ""
    failures: list[str] = field(default_factory=list)
    healed: bool = True  # the lab was as before once the fault was undone

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "target": self.target, "passed": self.passed,
                "detectionMs": self.detection_ms, "outageMs": self.outage_ms, "lostPackets": self.lost_packets,
                "sentPackets": self.sent_packets, "routesLost": self.routes_lost, "recovered": self.recovered,
                "flowsHit": self.flows_hit, "detail": self.detail, "failures": self.failures}

    @classmethod
    def not_run(cls, sc: Scenario, why: str) -> Result:
        return cls(sc.name, sc.kind, sc.target, False, detail=f"not run: {why}", failures=[why])


def plan_scenarios(lab: Lab) -> list[Scenario]:
    """Every scenario the design calls for, in the order they run."""
    aws = [s for s in lab.sessions if s.kind == "aws"]
    azure = [s for s in lab.sessions if s.kind == "azure"]
    survive = f"detected in <= {MAX_DETECTION_MS} ms, probe outage <= {MAX_OUTAGE_MS} ms, no route lost"
    out = [Scenario(f"link-cut {s.id}", "link-cut", s.id, "main", survive) for s in (*aws, *azure)]
    out += [Scenario(f"router-down {f.name}", "router-down", f.name, "main", survive) for f in lab.fcrs]
    out += [Scenario(f"drain {s.id}", "drain", s.id, "main",
                     f"AS {L.MICROSOFT_EDGE_ASN} prepended {L.MICROSOFT_MAINTENANCE_PREPEND} times, session stays "
                     "up, no packet lost") for s in azure]
    with_bfd = [s for s in aws if s.bfd]
    if with_bfd:
        s = with_bfd[0]
        out.append(Scenario(f"bfd-off {s.id}", "bfd-off", s.id, "hold",
                            f"without BFD a silent cut is found only by the {s.hold_s} s hold timer"))
    # One session of each provider: AWS takes a transit VIF session over 100 routes idle, Azure drops
    # a private peering session over its tier's limit.
    for first, toward in ((aws[:1], "AWS"), (azure[:1], "Azure")):
        out += [Scenario(f"prefix-limit {s.id}", "prefix-limit", s.id, "main",
                         f"over {s.max_prefixes} routes toward {toward}: the session goes down and stays down")
                for s in first]
    return out


# --- running one ------------------------------------------------------------------------------------


def _down_times(rl: RunningLab, ends: list[tuple[str, str]], t0: float, timeout: float) -> dict[tuple[str, str], Any]:
    """Poll each (router, neighbour address) until its session leaves Established.

    Returns, per end, (milliseconds after ``t0``, the neighbour's JSON at that moment); ends that
    never went down are missing.
    """
    seen: dict[tuple[str, str], Any] = {}
    deadline = t0 + timeout
    while len(seen) < len(ends) and time.monotonic() < deadline:
        for node in {n for n, a in ends if (n, a) not in seen}:
            data = rl.neighbors(node)
            now = time.monotonic()
            for end in ends:
                if end[0] == node and end not in seen:
                    info = data.get(end[1], {})
                    if info.get("bgpState") != "Established":
                        seen[end] = ((now - t0) * 1000, info)
        time.sleep(POLL_S)
    return seen


def _routes_lost(rl: RunningLab) -> int:
    lab = rl.lab
    lost = 0
    for edge, prefixes in ((lab.aws_edge, lab.azure_prefixes), (lab.azure_edge, lab.aws_prefixes)):
        routes = rl.routes(edge).get("routes", {})
        lost += sum(1 for p in prefixes if not any(path.get("valid") for path in routes.get(p, [])))
    return lost


def _connections(rl: RunningLab) -> dict[tuple[str, str], int]:
    """How often each bridge session has been (re)established, at both ends."""
    out = {}
    for s in rl.lab.sessions:
        for node, peer in ((s.fcr, s.cloud_address), (s.cloud, s.fcr_address)):
            out[(node, peer)] = int(rl.neighbors(node).get(peer, {}).get("connectionsEstablished", -1))
    return out


def _excess_prefixes(lab: Lab, s: Session) -> list[str]:
    count = max(1, s.max_prefixes + 1 - len(s.fcr_advertises))
    pool = ipaddress.IPv4Network(lab.excess_pool)
    length = max(24, pool.prefixlen + math.ceil(math.log2(max(count, 2))))
    subnets = pool.subnets(new_prefix=length)
    return [str(next(subnets)) for _ in range(count)]


class _Fault(abc.ABC):
    """A fault: what it breaks, which sessions must notice, and how to undo it."""

    def __init__(self, rl: RunningLab, sc: Scenario) -> None:
        self.rl, self.sc, self.lab = rl, sc, rl.lab
        self.ends: list[tuple[str, str]] = []  # (router, neighbour address) that must go down
        self.timeout_s = 10.0  # for them to go down
        self.prepare_s = 0.0  # the longest prepare() may take

    def prepare(self) -> None:  # noqa: B027 (an optional hook: most faults need nothing)
        """Anything that must be in place before the fault, outside the measured time."""

    @abc.abstractmethod
    def inject(self) -> None:
        """Cause the fault."""

    @abc.abstractmethod
    def undo(self) -> None:
        """Repair it."""


def _down_within_s(session: Session) -> float:
    """How long a silent peer takes to be declared down: BFD's detection time, else the hold timer."""
    return session.detect_ms / 1000 if session.bfd and session.detect_ms else float(session.hold_s)


class _LinkCut(_Fault):
    def __init__(self, rl: RunningLab, sc: Scenario) -> None:
        super().__init__(rl, sc)
        s = self.lab.session(sc.target)
        self.session = s
        self.ends = [(s.fcr, s.cloud_address), (s.cloud, s.fcr_address)]
        self.timeout_s = _down_within_s(s) + DETECT_MARGIN_S

    def inject(self) -> None:
        self.rl.cut(self.session.link)

    def undo(self) -> None:
        self.rl.mend(self.session.link)


class _RouterDown(_Fault):
    def __init__(self, rl: RunningLab, sc: Scenario) -> None:
        super().__init__(rl, sc)
        sessions = [s for s in self.lab.sessions if s.fcr == sc.target]
        self.ends = [(s.cloud, s.fcr_address) for s in sessions]
        self.timeout_s = max(_down_within_s(s) for s in sessions) + DETECT_MARGIN_S

    def inject(self) -> None:
        self.rl.router_down(self.sc.target)

    def undo(self) -> None:
        self.rl.router_up(self.sc.target)


class _Drain(_Fault):
    """Microsoft's planned maintenance on one link: AS 12076 prepended toward the FCR and the gateway."""

    def __init__(self, rl: RunningLab, sc: Scenario) -> None:
        super().__init__(rl, sc)
        self.session = s = self.lab.session(sc.target)
        edge = self.lab.node(s.cloud)
        self.toward = [(route_map("TO", s.fcr), s.fcr_address),
                       (route_map("TO", ERGW), edge.neighbor_to(ERGW).address)]
        self.prepend = " ".join([str(self.lab.asns.microsoft)] * L.MICROSOFT_MAINTENANCE_PREPEND)

    def _apply(self, on: bool) -> None:
        vty = self.rl.bgp(self.session.cloud)
        lines = []
        for rmap, _ in self.toward:
            lines += [f"route-map {rmap} permit 10",
                      f" set as-path prepend {self.prepend}" if on else " no set as-path prepend", "exit"]
        vty.configure(*lines)
        vty.configure(*(f"do clear bgp ipv4 unicast {addr} soft out" for _, addr in self.toward))

    def inject(self) -> None:
        self._apply(True)

    def undo(self) -> None:
        self._apply(False)


class _PrefixFlood(_Fault):
    """The FCR sends a cloud one route more than it accepts on the session (from the lab's own space)."""

    def __init__(self, rl: RunningLab, sc: Scenario) -> None:
        super().__init__(rl, sc)
        self.session = s = self.lab.session(sc.target)
        self.ends = [(s.cloud, s.fcr_address)]
        self.extra = _excess_prefixes(self.lab, s)
        self.length = self.extra[0].split("/")[1]
        self.allow = (f"ip prefix-list {prefix_list('TO', s.cloud)} seq 100000 permit {self.lab.excess_pool} "
                      f"ge {self.length} le {self.length}")
        self.asn = self.lab.node(s.fcr).asn
        self.opened = False
        self.prepare_s = ROUTE_MAP_DELAY_S + 0.5 + PREFIX_FILL_TIMEOUT_S

    def prepare(self) -> None:
        """Bring the session to its limit exactly: the FCR advertises as many routes as the cloud accepts.

        The filter toward the cloud opens first (FRR applies a changed filter to routes it already
        holds only after its route-map delay; routes that arrive later meet it at once), then all
        extra routes but one appear; the one route over the limit is the fault (:meth:`inject`).
        """
        s = self.session
        self.opened = True
        self.rl.bgp(s.fcr).configure(self.allow)
        time.sleep(ROUTE_MAP_DELAY_S + 0.5)
        self._add(self.extra[:-1])
        self.rl.bgp(s.fcr).configure(f"router bgp {self.asn}", "address-family ipv4 unicast", "redistribute kernel",
                                     "exit-address-family", "exit")
        deadline = time.monotonic() + PREFIX_FILL_TIMEOUT_S
        while True:
            info = self.rl.neighbors(s.cloud).get(s.fcr_address, {})
            count = info.get("addressFamilyInfo", {}).get("ipv4Unicast", {}).get("acceptedPrefixCounter", 0)
            if info.get("bgpState") != "Established":
                raise LabError(f"{s.cloud} took the session down at {count} routes, before the limit")
            if count >= s.max_prefixes:
                return
            if time.monotonic() > deadline:
                raise LabError(f"{s.cloud} holds {count} routes from {s.fcr}, not the {s.max_prefixes} sent")
            time.sleep(0.05)

    def _add(self, prefixes: list[str]) -> None:
        run(["ip", "-n", self.session.fcr, "-batch", "-"],
            stdin="".join(f"route add blackhole {p}\n" for p in prefixes))

    def inject(self) -> None:
        """The route over the limit, then every route again.

        FRR checks a limit when an update arrives, against the routes it already holds: the route
        that takes it over is accepted and the next update trips it, where AWS and Azure count each
        route as it arrives. Re-sending at once makes that next update come within milliseconds.
        """
        s, last = self.session, self.extra[-1]
        self._add([last])
        vty = self.rl.bgp(s.fcr)
        deadline = time.monotonic() + 5
        while not vty.json(f"show bgp ipv4 unicast {last} json").get("paths"):
            if time.monotonic() > deadline:
                raise LabError(f"{s.fcr} did not take {last} into BGP")
            time.sleep(0.005)
        vty.configure(f"do clear bgp ipv4 unicast {s.cloud_address} soft out")

    def undo(self) -> None:
        s = self.session
        self.rl.bgp(s.fcr).configure(f"router bgp {self.asn}", "address-family ipv4 unicast", "no redistribute kernel",
                                     "exit-address-family", "exit", *([f"no {self.allow}"] if self.opened else []))
        run(["ip", "-n", s.fcr, "-batch", "-"], stdin="".join(f"route del blackhole {p}\n" for p in self.extra))
        # FRR keeps the session down until it is cleared; clearing stands for the provider bringing it
        # back once the routes are under the limit again.
        self.rl.bgp(s.cloud).configure(f"do clear bgp ipv4 unicast {s.fcr_address}")


FAULTS: dict[Kind, Callable[[RunningLab, Scenario], _Fault]] = {
    "link-cut": _LinkCut, "router-down": _RouterDown, "drain": _Drain, "bfd-off": _LinkCut,
    "prefix-limit": _PrefixFlood,
}


def execute(rl: RunningLab, sc: Scenario, say: Callable[[str], None] = lambda _: None) -> Result:
    """Run one scenario on a converged lab and leave the lab converged again (or say it is not)."""
    fault = FAULTS[sc.kind](rl, sc)
    result = Result(sc.name, sc.kind, sc.target, passed=False)
    before = _connections(rl) if sc.kind == "drain" else {}
    probe = rl.start_probe(max_seconds=fault.prepare_s + fault.timeout_s + BASELINE_S + SETTLE_S
                           + PREFIX_LIMIT_STAYS_DOWN_S + PROBE_SPARE_S)
    summary: Summary | None = None
    injected = False
    try:
        if not probe.wait_ready(PROBE_READY_S):
            raise LabError("the probe got no reply before the fault")
        injected = True  # from here on, whatever was applied is undone
        fault.prepare()
        time.sleep(BASELINE_S)
        t0 = time.monotonic()
        fault.inject()
        say(f"{sc.name}: fault injected")
        if sc.kind == "drain":
            _observe_drain(rl, sc, fault, t0, result)
        else:
            _observe_down(rl, sc, fault, t0, result)
        time.sleep(SETTLE_S)
        result.routes_lost = _routes_lost(rl)
        if sc.kind == "prefix-limit":
            _check_stays_down(rl, fault, result)
    finally:
        try:
            summary = probe.stop()
        finally:
            say(f"{sc.name}: undoing the fault")
            try:
                if injected:
                    fault.undo()
                problems = wait_converged(rl, CONVERGE_TIMEOUT_S)
            except LabError as exc:
                problems = [str(exc)]
            if problems:
                result.healed = False
                result.failures.append("the lab did not heal after the fault was undone: " + "; ".join(problems[:3]))
    assert summary is not None
    result.outage_ms = round(summary.outage_ms)
    result.lost_packets = summary.sent - summary.received
    result.sent_packets = summary.sent
    result.recovered = summary.recovered
    result.flows_hit = summary.flows_hit
    if sc.kind == "drain":
        after = _connections(rl)
        dropped = [f"{node}->{peer}" for (node, peer), n in before.items() if after.get((node, peer)) != n]
        if dropped:
            result.failures.append(f"sessions re-established during the drain: {', '.join(dropped)}")
    _judge(sc, fault, result)
    return result


def _observe_down(rl: RunningLab, sc: Scenario, fault: _Fault, t0: float, result: Result) -> None:
    seen = _down_times(rl, fault.ends, t0, fault.timeout_s)
    missing = [f"{n} (to {a})" for n, a in fault.ends if (n, a) not in seen]
    if missing:
        result.failures.append(f"not detected within {fault.timeout_s:.0f} s at {', '.join(missing)}")
    if seen:
        result.detection_ms = round(max(ms for ms, _ in seen.values()))
        reasons = sorted({info.get("lastNotificationReason") or info.get("lastResetDueTo") or "?"
                          for _, info in seen.values()})
        result.detail = f"down at {', '.join(sorted(n for n, _ in seen))}: {', '.join(reasons)}"


def _observe_drain(rl: RunningLab, sc: Scenario, fault: _Fault, t0: float, result: Result) -> None:
    deadline = t0 + fault.timeout_s
    while True:
        problems = route_problems(rl, drained=[sc.target])
        if not problems:
            result.detection_ms = round((time.monotonic() - t0) * 1000)
            result.detail = "every router holds the prepended paths; traffic left the drained link"
            return
        if time.monotonic() > deadline:
            result.failures.append("the prepend did not reach every router: " + "; ".join(problems[:3]))
            return
        time.sleep(POLL_S * 5)


def _check_stays_down(rl: RunningLab, fault: _Fault, result: Result) -> None:
    node, peer = fault.ends[0]
    deadline = time.monotonic() + PREFIX_LIMIT_STAYS_DOWN_S
    while time.monotonic() < deadline:
        info = rl.neighbors(node).get(peer, {})
        if info.get("bgpState") == "Established":
            result.failures.append(f"{node} brought the session back up while over the limit")
            return
        time.sleep(0.1)
    info = rl.neighbors(node).get(peer, {})
    if info.get("lastNotificationReason") != MAX_PREFIX_REASON:
        result.failures.append(f"{node} took the session down for {info.get('lastNotificationReason')!r}, "
                               f"not {MAX_PREFIX_REASON!r}")
    else:
        count = info.get("addressFamilyInfo", {}).get("ipv4Unicast", {}).get("prefixAllowedMax")
        result.detail = f"{node} idle after more than {count} routes: {MAX_PREFIX_REASON}"


def _judge(sc: Scenario, fault: _Fault, result: Result) -> None:
    f = result.failures
    if sc.kind in ("link-cut", "router-down"):
        if result.detection_ms is not None and result.detection_ms > MAX_DETECTION_MS:
            f.append(f"detection {result.detection_ms} ms > {MAX_DETECTION_MS} ms")
        if result.outage_ms is not None and result.outage_ms > MAX_OUTAGE_MS:
            f.append(f"outage {result.outage_ms} ms > {MAX_OUTAGE_MS} ms")
        if not result.recovered:
            f.append("the probe did not flow again while the fault lasted")
        if result.routes_lost:
            f.append(f"{result.routes_lost} route(s) lost at the edges")
    elif sc.kind == "drain":
        if result.lost_packets is not None and result.lost_packets > MAX_DRAIN_LOST_PACKETS:
            f.append(f"{result.lost_packets} packet(s) lost during the drain")
    elif sc.kind == "bfd-off":
        assert isinstance(fault, _LinkCut)
        hold_ms = fault.session.hold_s * 1000
        if result.detection_ms is not None and result.detection_ms > hold_ms + HOLD_TIMER_TOLERANCE_MS:
            f.append(f"detection {result.detection_ms} ms, later than the {fault.session.hold_s} s hold timer")
        if HOLD_TIMER_REASON not in result.detail:
            f.append("not brought down by the hold timer")
    result.passed = not f


def converged_before(rl: RunningLab) -> list[str]:
    """Problems that make a lab unfit for the next scenario (empty when it is as designed)."""
    return lab_problems(rl)
