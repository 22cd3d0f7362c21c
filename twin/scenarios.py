"""The failures the twin inflicts, how each is measured, and the property each must show.

Every scenario follows one script: start the probe, let it run, inject the fault and note when,
poll the surviving routers' own state until they react (watching the edges' routes all along), let
the bridge settle, stop the probe, count what was lost, undo the fault, wait until the lab is
exactly as before and check that traffic flows again.

Figures (see docs/twin.md):

* detection: from injecting the fault to the last affected session being declared down by its
  surviving end (polled every 10 ms from the routers' vty sockets); for a drain, to every router
  holding the prepended paths;
* outage: the longest gap in any probe flow's replies (flows are spread over every path);
* lost packets: probe packets sent but never answered;
* routes lost: the most expected prefixes with no path left at the AWS edge (TGW) or the Azure edge
  (ExpressRoute gateway) at any moment of the fault, sampled from injection to the end.

The judge is the same for every kind: a scenario passes only when traffic keeps flowing within the
bars and flows again after the fault is undone. With the plan's VPN backup, the probe packets that
enter a tunnel are counted too: none may while a private path is up, and the traffic must once none
is (``backup-failover``, and on a one-metro bridge ``metro-down`` and ``circuit-down``). A fault the
plan's topology cannot survive (its single points of failure, stacks.spec.single_points) is run like
any other and fails, naming them.
"""

from __future__ import annotations

import abc
import contextlib
import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from bridgectl.health.model import evaluate, fault_footprint, matches
from stacks import limits as L

from .checks import CONVERGE_TIMEOUT_S, lab_problems, route_problems, wait_converged
from .health import expected_from_lab
from .health import observe as observe_health
from .lab import LabError, RunningLab, run
from .model import Lab, Session
from .probe import Summary
from .render import ERGW, ROUTE_MAP_DELAY_S, dpd_detection_s, prefix_list, route_map

Kind = Literal["link-cut", "loud-cut", "router-down", "circuit-down", "metro-down", "double-fault", "drain",
               "circuit-drain", "bfd-off", "prefix-limit", "backup-failover", "backup-failback", "backup-down"]
KINDS: tuple[Kind, ...] = ("link-cut", "loud-cut", "router-down", "circuit-down", "metro-down", "double-fault",
                           "drain", "circuit-drain", "bfd-off", "prefix-limit", "backup-failover", "backup-failback",
                           "backup-down")
#: kinds that take sessions down and must be survived within the bars
LOSS_KINDS = ("link-cut", "loud-cut", "router-down", "circuit-down", "metro-down", "double-fault", "prefix-limit",
              "backup-failover")
#: the VPN backup's own kinds (only in a lab whose plan has bridge:vpnBackup)
BACKUP_KINDS = ("backup-failover", "backup-failback", "backup-down")

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
# Losing every private path moves traffic to the VPN, whose tunnels and sessions are already up: BFD's
# detection (<= 1 s) plus the withdrawal reaching both edges, which then select the VPN routes they
# already hold. The outage must stay under this (issue 17's target).
MAX_BACKUP_OUTAGE_MS = 2000
# A failback (private path restored) and a VPN tunnel lost while the private path is up lose nothing.
MAX_BACKUP_LOST_PACKETS = 0
# After a failback, traffic has left the VPN: the probe runs this long and not one packet may cross it.
FAILBACK_QUIET_S = 0.5
# How long the private path may take to come back and be selected again at both edges.
FAILBACK_TIMEOUT_S = 30.0

# --- observation ----------------------------------------------------------------------------------

BASELINE_S = 0.5  # probe traffic before the fault
SETTLE_S = 1.5  # after detection: long enough to see the probe flow again within MAX_OUTAGE_MS
# The probe runs at least this long after the fault, so an outage that lasts past the bar is never
# cut short into an "at least" figure under it: a flow that has not recovered by then fails.
MIN_WINDOW_S = MAX_OUTAGE_MS / 1000 + 1.0
ROUTES_SAMPLE_S = 0.05  # the edges' routes are sampled this often while the fault lasts
AFTER_PROBE_S = 0.5  # traffic after the fault is undone: every packet of this must come back
POLL_S = 0.01  # state polling while waiting for a reaction
DETECT_MARGIN_S = 5.0  # waited beyond the slowest detection the design allows
# Dead-peer detection may end an IKE SA this much outside its configured window (twin.render.dpd_detection_s):
# the poll, a busy machine.
DPD_MARGIN_S = 3.0
PROBE_READY_S = 5.0
PROBE_SPARE_S = 30.0  # the probe's own deadline lies this far past the longest a scenario can take
PREFIX_FILL_TIMEOUT_S = 60.0  # for the routes up to a session's limit to reach the cloud
HEALTH_SETTLE_S = 3.0  # health's reading may wait this long for withdrawals still in flight

MAX_PREFIX_REASON = "Cease/Maximum Number of Prefixes Reached"
HOLD_TIMER_REASON = "Hold Timer Expired"


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: Kind
    target: str  # a session id, a router's name, a circuit (circuit:0), a metro, or two units joined by " + "
    lab: Literal["main", "hold"]
    expect: str  # the property, in words
    #: the plan's single points of failure this fault takes out (empty when the topology survives it)
    exercises: tuple[str, ...] = ()
    #: the failure units it takes down together: router:<name>, vif:<session>, circuit:<n>, tunnel:<id>
    units: tuple[str, ...] = ()
    #: with a VPN backup: "idle" (a private path is left: no data may cross the VPN), "carries" (none is
    #: left: the traffic must move to the VPN), "back" (a failback: none may cross it once the private path
    #: is back), "only" (an IPsec-only lab: it carries everything); "" without a backup
    backup: str = ""


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
    #: whether `bridgectl health`'s evaluation, run on the routers during the fault, named exactly the
    #: sessions and prefixes the fault took down (None: not run)
    health_matched: bool | None = None
    health_detail: str = ""
    #: the single points of failure the fault exercised (Scenario.exercises)
    single_points: list[str] = field(default_factory=list)
    #: traffic flowed again, every packet answered, once the fault was undone (None: not measured)
    recovered_after: bool | None = None
    #: probe packets that crossed the VPN backup: while the fault lasted (for a failback, once the private
    #: path was back), and in the half second before the fault (None: no backup)
    vpn_packets: int | None = None
    vpn_packets_before: int | None = None
    #: a VPN tunnel cut: when each end's dead-peer detection ended the tunnel's IKE SA, in ms after the
    #: cut ({node: ms}; None: not a tunnel cut)
    dpd_ms: dict[str, int] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "target": self.target, "passed": self.passed,
                "detectionMs": self.detection_ms, "outageMs": self.outage_ms, "lostPackets": self.lost_packets,
                "sentPackets": self.sent_packets, "routesLost": self.routes_lost, "recovered": self.recovered,
                "flowsHit": self.flows_hit, "detail": self.detail, "failures": self.failures,
                "healthMatched": self.health_matched, "healthDetail": self.health_detail,
                "singlePoints": self.single_points, "recoveredAfter": self.recovered_after,
                "vpnPackets": self.vpn_packets, "vpnPacketsBefore": self.vpn_packets_before, "dpdMs": self.dpd_ms}

    @classmethod
    def from_json(cls, r: dict[str, Any]) -> Result:
        return cls(r["name"], r["kind"], r["target"], r["passed"], r["detectionMs"], r["outageMs"], r["lostPackets"],
                   r["sentPackets"], r["routesLost"], r["recovered"], r["flowsHit"], r["detail"], r["failures"],
                   health_matched=r.get("healthMatched"), health_detail=r.get("healthDetail", ""),
                   single_points=list(r.get("singlePoints") or []), recovered_after=r.get("recoveredAfter"),
                   vpn_packets=r.get("vpnPackets"), vpn_packets_before=r.get("vpnPacketsBefore"),
                   dpd_ms=r.get("dpdMs"))

    @classmethod
    def not_run(cls, sc: Scenario, why: str) -> Result:
        return cls(sc.name, sc.kind, sc.target, False, detail=f"not run: {why}", failures=[why],
                   single_points=list(sc.exercises))


# --- the topology, from the plan: what a set of failures leaves ----------------------------------------


def unit_sessions(lab: Lab, unit: str) -> set[str]:
    """The plan sessions a failure unit takes down: a router all of its, a transit VIF its own, a
    circuit both of its links."""
    kind, _, name = unit.partition(":")
    if kind == "router":
        return {s.id for s in lab.sessions if s.fcr == name}
    if kind == "vif":
        return {name}
    if kind == "circuit":
        return {s.id for s in lab.sessions if s.circuit == int(name)}
    if kind == "session":
        return {name}
    if kind == "tunnel":
        return set()  # a VPN tunnel carries no plan session
    raise ValueError(f"unknown failure unit {unit!r}")


def unit_name(lab: Lab, unit: str) -> str:
    kind, _, name = unit.partition(":")
    if kind == "circuit":
        c = next(c for c in lab.circuits if c.index == int(name))
        return f"circuit {c.peering_location}"
    what = {"router": "router", "vif": "transit VIF", "session": "session", "tunnel": "VPN tunnel"}
    return f"{what[kind]} {name}"


#: how complete_paths names the VPN backup
VPN_PATH = "the VPN backup"


def complete_paths(lab: Lab, down: set[str], tunnels_down: frozenset[str] = frozenset()) -> list[str]:
    """What still joins AWS to Azure with the sessions ``down`` (and VPN tunnels ``tunnels_down``) gone: the
    private paths (:func:`private_paths`), and the VPN backup while any of its tunnels is up."""
    out = private_paths(lab, down)
    if any(t.id not in tunnels_down for t in lab.tunnels):
        out.append(VPN_PATH)
    return out


def private_paths(lab: Lab, down: set[str]) -> list[str]:
    """The routers that still join AWS to Azure with the sessions ``down`` gone: a router whose transit
    VIF and at least one ExpressRoute link are up (the DX gateway and the ExpressRoute gateway give no
    transit between routers, so a path never crosses two)."""
    out = []
    for f in lab.fcrs:
        mine = [s for s in lab.sessions if s.fcr == f.name and s.id not in down]
        if any(s.kind == "aws" for s in mine) and any(s.kind == "azure" for s in mine):
            out.append(f.name)
    return out


def exercised(lab: Lab, down: set[str]) -> tuple[str, ...]:
    """The plan's single points of failure that ``down`` takes out, when it leaves no complete path."""
    if complete_paths(lab, down):
        return ()
    out = []
    for sp in lab.single_points:
        if sp.kind == "router" or sp.kind == "aws-device":
            gone = {s.id for s in lab.sessions if s.fcr == sp.name and (sp.kind == "router" or s.kind == "aws")}
        elif sp.kind == "metro":
            routers = next((m.routers for m in lab.metros if m.code == sp.name), ())
            gone = {s.id for s in lab.sessions if s.fcr in routers}
        else:  # circuit, peering-location: every circuit there
            gone = {sid for c in lab.circuits if c.peering_location == sp.name for sid in c.sessions}
        if gone and gone <= down:
            out.append(sp.describe())
    return tuple(out) or ("no complete path is left",)


def failure_units(lab: Lab) -> list[str]:
    """The independent parts a double fault combines: each router, each transit VIF, each circuit."""
    return ([f"router:{f.name}" for f in lab.fcrs] + [f"vif:{s.id}" for s in lab.sessions if s.kind == "aws"]
            + [c.unit for c in lab.circuits])


def _lacks(lab: Lab, pair: tuple[str, str], down: set[str]) -> str:
    kinds = {u.partition(":")[0] for u in pair}
    if kinds == {"circuit"}:
        return "a third circuit at another peering location"
    if kinds == {"router"}:
        return "a third router"
    if kinds == {"vif"}:
        return "a third transit VIF (a third router)"
    why = []
    for f in lab.fcrs:
        mine = [s for s in lab.sessions if s.fcr == f.name]
        if all(s.id in down for s in mine):
            why.append(f"{f.name} is down")
        elif all(s.id in down for s in mine if s.kind == "aws"):
            why.append(f"{f.name} has no transit VIF")
        else:
            why.append(f"{f.name} has no ExpressRoute link")
    return "a router that keeps its transit VIF and an ExpressRoute link: " + ", ".join(why)


def double_faults(lab: Lab) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """Pairs of failure units, each survivable alone: those that leave a complete path (to run), and
    those that leave none (exposures, with what the topology lacks). A pair of which one part contains
    the other is the bigger part alone, already a single-failure scenario, and is left out.

    Only private paths count here: a pair that leaves none but the VPN backup is not run (``backup-failover``
    loses every private path at once and shows the backup taking over); it is listed with ``backupCarries``.
    """
    run_pairs: list[tuple[str, str]] = []
    exposures: list[dict[str, Any]] = []
    units = [u for u in failure_units(lab) if private_paths(lab, unit_sessions(lab, u))]
    for i, a in enumerate(units):
        for b in units[i + 1:]:
            da, db = unit_sessions(lab, a), unit_sessions(lab, b)
            if da <= db or db <= da:
                continue
            down = da | db
            if private_paths(lab, down):
                run_pairs.append((a, b))
            else:
                exposures.append({"faults": [unit_name(lab, a), unit_name(lab, b)],
                                  "lacks": _lacks(lab, (a, b), down) + (
                                      " (meanwhile the VPN backup carries the traffic)" if lab.tunnels else ""),
                                  "backupCarries": bool(lab.tunnels)})
    return run_pairs, exposures


def exposures(lab: Lab) -> list[dict[str, Any]]:
    """The double failures the topology cannot survive, computed from the plan (none is run)."""
    return double_faults(lab)[1]


def plan_scenarios(lab: Lab) -> list[Scenario]:
    """Every scenario the design calls for, in the order they run."""
    aws = [s for s in lab.sessions if s.kind == "aws"]
    azure = [s for s in lab.sessions if s.kind == "azure"]
    survive = f"detected in <= {MAX_DETECTION_MS} ms, probe outage <= {MAX_OUTAGE_MS} ms, no route lost"

    def lose(kind: Kind, name: str, target: str, units: tuple[str, ...], expect: str = survive) -> Scenario:
        down: set[str] = set()
        for u in units:
            down |= unit_sessions(lab, u)
        spofs = exercised(lab, down)
        if spofs:
            expect = f"not survivable: {', '.join(spofs)} (a single point of failure); reported failed"
        backup = backup_role(lab, down)
        if backup == "carries":
            expect = (f"no private path left: traffic moves to the VPN backup, detected in <= {MAX_DETECTION_MS} ms, "
                      f"outage < {MAX_BACKUP_OUTAGE_MS} ms")
        return Scenario(name, kind, target, "main", expect, spofs, units, backup)

    out = [lose("link-cut", f"link-cut {s.id}", s.id, (f"session:{s.id}",)) for s in (*aws, *azure)]
    # Carrier loss and a NOTIFICATION: one transit VIF and one ExpressRoute link of each circuit.
    loud = aws[:1] + [next(s for s in azure if s.circuit == c.index) for c in lab.circuits]
    out += [lose("loud-cut", f"loud-cut {s.id}", s.id, (f"session:{s.id}",),
                 f"carrier loss and a BGP NOTIFICATION: detected at once, outage <= {MAX_OUTAGE_MS} ms, no route lost")
            for s in loud]
    out += [lose("router-down", f"router-down {f.name}", f.name, (f"router:{f.name}",)) for f in lab.fcrs]
    out += [lose("circuit-down", f"circuit-down {c.peering_location}", c.unit, (c.unit,)) for c in lab.circuits]
    out += [lose("metro-down", f"metro-down {m.code}", m.code, tuple(f"router:{r}" for r in m.routers))
            for m in lab.metros]
    pairs, _ = double_faults(lab)
    out += [lose("double-fault", f"double-fault {unit_name(lab, a)} + {unit_name(lab, b)}", f"{a} + {b}", (a, b))
            for a, b in pairs]
    idle = backup_role(lab, set())
    out += [Scenario(f"drain {s.id}", "drain", s.id, "main",
                     f"AS {L.MICROSOFT_EDGE_ASN} prepended {L.MICROSOFT_MAINTENANCE_PREPEND} times, session stays "
                     "up, no packet lost", backup=idle) for s in azure]
    out += [Scenario(f"circuit-drain {c.peering_location}", "circuit-drain", c.unit, "main",
                     f"both links of the circuit drained (AS {L.MICROSOFT_EDGE_ASN} prepended), sessions stay up, "
                     "no packet lost", units=(c.unit,), backup=idle) for c in lab.circuits]
    with_bfd = [s for s in aws if s.bfd]
    if with_bfd:
        s = with_bfd[0]
        spofs = exercised(lab, {s.id})
        out.append(Scenario(f"bfd-off {s.id}", "bfd-off", s.id, "hold",
                            f"without BFD a silent cut is found only by the {s.hold_s} s hold timer", spofs,
                            (f"session:{s.id}",), backup_role(lab, {s.id})))
    # One session of each provider: AWS takes a transit VIF session over 100 routes idle, Azure drops
    # a private peering session over its tier's limit. The traffic must survive the drop.
    for first, toward in ((aws[:1], "AWS"), (azure[:1], "Azure")):
        out += [lose("prefix-limit", f"prefix-limit {s.id}", s.id, (f"session:{s.id}",),
                     f"over {s.max_prefixes} routes toward {toward}: the session goes down and stays down; "
                     f"outage <= {MAX_OUTAGE_MS} ms, no route lost")
                for s in first]
    return out + backup_scenarios(lab)


def backup_role(lab: Lab, down: set[str]) -> str:
    """What the VPN backup must do while the sessions ``down`` are down (Scenario.backup): "only" in an
    IPsec-only lab, where it always carries the traffic."""
    if not lab.tunnels:
        return ""
    if not lab.private:
        return "only"
    return "idle" if private_paths(lab, down) else "carries"


def backup_scenarios(lab: Lab) -> list[Scenario]:
    """The VPN backup's scenarios: every private path lost (on a one-metro bridge, the metro) and restored,
    and a tunnel lost while the private path is up. None without a backup; an IPsec-only lab (no private
    path) has only the tunnel loss, which its traffic then feels."""
    if not lab.tunnels:
        return []
    out = []
    if lab.fcrs:
        every = tuple(f"router:{f.name}" for f in lab.fcrs)
        out += [Scenario("backup-failover", "backup-failover", "every private path", "main",
                         f"every router down at once: traffic moves to the VPN, detected in <= {MAX_DETECTION_MS} ms, "
                         f"outage < {MAX_BACKUP_OUTAGE_MS} ms, no route lost at the edges", units=every,
                         backup="carries"),
                Scenario("backup-failback", "backup-failback", "every private path", "main",
                         "the routers come back while traffic crosses the VPN: it moves back to the private path "
                         "with no packet lost, and none crosses the VPN after", units=every, backup="back")]
    t = lab.tunnels[0]
    role = backup_role(lab, set())
    out.append(Scenario(f"backup-down {t.id}", "backup-down", t.id, "main",
                        f"a silent cut of VPN tunnel {t.id}: its session ends by the {t.hold_s} s hold timer, the "
                        + ("other tunnels stay up, no packet lost, none crosses the VPN" if role == "idle" else
                           "flows on it are lost until then (IPsec only)"),
                        units=(f"tunnel:{t.id}",), backup=role))
    return out


# --- running one ------------------------------------------------------------------------------------


class _RouteWatch:
    """The edges' routes, sampled while a fault lasts: the most expected prefixes missing at once."""

    def __init__(self, rl: RunningLab) -> None:
        self.rl, self.worst, self.samples, self._next = rl, 0, 0, 0.0

    def tick(self) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + ROUTES_SAMPLE_S
        try:
            lost = _routes_lost(self.rl)
        except (LabError, OSError):
            return  # an edge busy for a moment: the next sample reads it
        self.samples += 1
        self.worst = max(self.worst, lost)

    def wait(self, seconds: float) -> None:
        """Sleep ``seconds``, sampling all along."""
        deadline = time.monotonic() + seconds
        while True:
            self.tick()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(POLL_S * 2, left))


def _down_times(rl: RunningLab, ends: list[tuple[str, str]], t0: float, timeout: float,
                tick: Callable[[], None] = lambda: None) -> dict[tuple[str, str], Any]:
    """Poll each (router, neighbour address) until its session leaves Established.

    Returns, per end, (milliseconds after ``t0``, the neighbour's JSON at that moment); ends that
    never went down are missing. ``tick`` runs on every round (the route watch).
    """
    seen: dict[tuple[str, str], Any] = {}
    deadline = t0 + timeout
    while len(seen) < len(ends) and time.monotonic() < deadline:
        tick()
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
        self.drained: list[str] = []  # sessions it drains (a drain takes none down)

    #: prepare() runs before the probe starts (its effect is not measured)
    before_probe = False

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
    """A silent cut: both ends keep carrier, nothing crosses."""

    def __init__(self, rl: RunningLab, sc: Scenario, target: str | None = None) -> None:
        super().__init__(rl, sc)
        s = self.lab.session(target or sc.target)
        self.session = s
        self.ends = [(s.fcr, s.cloud_address), (s.cloud, s.fcr_address)]
        self.timeout_s = _down_within_s(s) + DETECT_MARGIN_S

    def inject(self) -> None:
        self.rl.cut(self.session.link)

    def undo(self) -> None:
        self.rl.mend(self.session.link)


class _LoudCut(_Fault):
    """A loud cut: the cloud end sends a BGP NOTIFICATION (Cease) and its port goes dark, so the FCR sees
    the session end and its interface lose carrier at once."""

    def __init__(self, rl: RunningLab, sc: Scenario) -> None:
        super().__init__(rl, sc)
        s = self.session = self.lab.session(sc.target)
        self.ends = [(s.fcr, s.cloud_address), (s.cloud, s.fcr_address)]
        self.timeout_s = DETECT_MARGIN_S
        self.asn = self.lab.node(s.cloud).asn

    def _shutdown(self, on: bool) -> None:
        s = self.session
        self.rl.bgp(s.cloud).configure(f"router bgp {self.asn}",
                                       f"{'' if on else 'no '}neighbor {s.fcr_address} shutdown", "exit")

    def inject(self) -> None:
        self._shutdown(True)
        self.rl.carrier_down(self.session.link, self.session.cloud)

    def undo(self) -> None:
        self.rl.carrier_up(self.session.link)
        self._shutdown(False)


class _RouterDown(_Fault):
    def __init__(self, rl: RunningLab, sc: Scenario, target: str | None = None) -> None:
        super().__init__(rl, sc)
        self.router = target or sc.target
        sessions = [s for s in self.lab.sessions if s.fcr == self.router]
        self.ends = [(s.cloud, s.fcr_address) for s in sessions]
        self.timeout_s = max(_down_within_s(s) for s in sessions) + DETECT_MARGIN_S

    def inject(self) -> None:
        self.rl.router_down(self.router)

    def undo(self) -> None:
        self.rl.router_up(self.router)


class _Together(_Fault):
    """Several faults at once (a circuit's two links, a metro's routers, a double fault)."""

    def __init__(self, rl: RunningLab, sc: Scenario, parts: list[_Fault]) -> None:
        super().__init__(rl, sc)
        self.parts = parts
        self.ends = list(dict.fromkeys(end for p in parts for end in p.ends))
        self.timeout_s = max(p.timeout_s for p in parts)
        self.drained = [d for p in parts for d in p.drained]
        self.done: list[_Fault] = []

    def inject(self) -> None:
        for p in self.parts:
            p.inject()
            self.done.append(p)

    def undo(self) -> None:
        errors = []
        for p in reversed(self.done):
            try:
                p.undo()
            except LabError as exc:
                errors.append(str(exc))
        if errors:
            raise LabError("; ".join(errors))


class _Drain(_Fault):
    """Microsoft's planned maintenance on one link: AS 12076 prepended toward the FCR and the gateway."""

    def __init__(self, rl: RunningLab, sc: Scenario, target: str | None = None) -> None:
        super().__init__(rl, sc)
        self.session = s = self.lab.session(target or sc.target)
        self.drained = [s.id]
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


class _TunnelCut(_Fault):
    """A VPN tunnel cut silently (its path across the internet lost): both ends keep their interfaces,
    nothing crosses; no BFD, so the BGP hold timer ends the session."""

    def __init__(self, rl: RunningLab, sc: Scenario) -> None:
        super().__init__(rl, sc)
        t = self.tunnel = self.lab.tunnel(sc.target)
        self.ends = [(t.aws, t.azure_address), (t.azure, t.aws_address)]
        self.timeout_s = t.hold_s + DETECT_MARGIN_S

    def inject(self) -> None:
        self.rl.cut(self.tunnel.id)

    def undo(self) -> None:
        self.rl.mend(self.tunnel.id)


class _Failback(_Fault):
    """Every private path is lost before the probe starts (:meth:`prepare`, traffic then crosses the VPN);
    the fault measured is their return."""

    before_probe = True

    def __init__(self, rl: RunningLab, sc: Scenario) -> None:
        super().__init__(rl, sc)
        self.down = _Together(rl, sc, [_RouterDown(rl, sc, u.partition(":")[2]) for u in sc.units])
        self.prepare_s = self.down.timeout_s + FAILBACK_TIMEOUT_S
        self.timeout_s = FAILBACK_TIMEOUT_S
        self.restored = False

    def prepare(self) -> None:
        self.down.inject()
        deadline = time.monotonic() + self.prepare_s
        while not on_vpn(self.rl):
            if time.monotonic() > deadline:
                raise LabError("traffic did not move to the VPN with every private path down")
            time.sleep(POLL_S * 5)

    def inject(self) -> None:
        self.restored = True
        self.down.undo()

    def undo(self) -> None:
        if not self.restored:
            self.restored = True
            self.down.undo()


def on_vpn(rl: RunningLab) -> bool:
    """Whether both edges send the other side's prefixes over the VPN backup only (every selected path is
    from a VPN session)."""
    lab = rl.lab
    for edge, prefixes in ((lab.aws_edge, lab.azure_prefixes), (lab.azure_edge, lab.aws_prefixes)):
        vpn = {n.address for n in lab.node(edge).neighbors if n.backup}
        routes = rl.routes(edge).get("routes", {})
        for p in prefixes:
            chosen = [path for path in routes.get(p, []) if path.get("bestpath") or path.get("multipath")]
            if not chosen or any(path.get("peerId") not in vpn for path in chosen):
                return False
    return True


def make_fault(rl: RunningLab, sc: Scenario) -> _Fault:
    """The fault a scenario inflicts."""
    lab = rl.lab

    def unit_fault(unit: str) -> list[_Fault]:
        kind, _, name = unit.partition(":")
        if kind == "router":
            return [_RouterDown(rl, sc, name)]
        if kind == "circuit":
            return [_LinkCut(rl, sc, s) for s in sorted(unit_sessions(lab, unit))]
        return [_LinkCut(rl, sc, name)]

    if sc.kind in ("link-cut", "bfd-off"):
        return _LinkCut(rl, sc)
    if sc.kind == "loud-cut":
        return _LoudCut(rl, sc)
    if sc.kind == "router-down":
        return _RouterDown(rl, sc)
    if sc.kind == "drain":
        return _Drain(rl, sc)
    if sc.kind == "prefix-limit":
        return _PrefixFlood(rl, sc)
    if sc.kind == "circuit-drain":
        return _Together(rl, sc, [_Drain(rl, sc, s) for s in sorted(unit_sessions(lab, sc.target))])
    if sc.kind == "backup-down":
        return _TunnelCut(rl, sc)
    if sc.kind == "backup-failback":
        return _Failback(rl, sc)
    # circuit-down, metro-down, double-fault: their units, all at once
    return _Together(rl, sc, [f for u in sc.units for f in unit_fault(u)])


def execute(rl: RunningLab, sc: Scenario, say: Callable[[str], None] = lambda _: None) -> Result:
    """Run one scenario on a converged lab and leave the lab converged again (or say it is not)."""
    fault = make_fault(rl, sc)
    result = Result(sc.name, sc.kind, sc.target, passed=False, single_points=list(sc.exercises))
    draining = sc.kind in ("drain", "circuit-drain")
    before = _connections(rl) if draining else {}
    watch = _RouteWatch(rl)
    vpn = bool(rl.lab.tunnels)
    vpn_mark: int | None = None
    injected = False
    if fault.before_probe:
        injected = True
        try:
            fault.prepare()
        except BaseException:
            with contextlib.suppress(LabError):
                fault.undo()
            raise
    probe = rl.start_probe(max_seconds=fault.prepare_s + fault.timeout_s + BASELINE_S + SETTLE_S + MIN_WINDOW_S
                           + PREFIX_LIMIT_STAYS_DOWN_S + HEALTH_SETTLE_S + PROBE_SPARE_S)
    summary: Summary | None = None
    try:
        if not probe.wait_ready(PROBE_READY_S):
            raise LabError("the probe got no reply before the fault")
        injected = True  # from here on, whatever was applied is undone
        if not fault.before_probe:
            fault.prepare()
        start = rl.vpn_data_packets() if vpn else 0
        time.sleep(BASELINE_S)
        if vpn:
            vpn_mark = rl.vpn_data_packets()
            result.vpn_packets_before = vpn_mark - start
        t0 = time.monotonic()
        fault.inject()
        say(f"{sc.name}: fault injected")
        if draining:
            _observe_drain(rl, fault, t0, result, watch.tick)
        elif sc.kind == "backup-failback":
            _observe_failback(rl, fault, t0, result, watch.tick)
            vpn_mark = None  # counted by _observe_failback, once the private path was back
        else:
            _observe_down(rl, fault, t0, result, watch.tick)
        if sc.kind == "backup-down":
            _check_backup_stands(rl, fault, result)
            _observe_dpd(rl, fault, t0, result, watch.tick)
        # Long enough to see the probe flow again, and never shorter than the outage bar plus a margin.
        watch.wait(max(SETTLE_S, t0 + MIN_WINDOW_S - time.monotonic()))
        if rl.lab.private:
            result.health_matched, result.health_detail = _health(rl, sc, watch.tick)
        if sc.kind == "prefix-limit":
            _check_stays_down(rl, fault, result, watch)
        result.routes_lost = watch.worst
    finally:
        try:
            summary = probe.stop()
            if vpn_mark is not None:
                result.vpn_packets = rl.vpn_data_packets() - vpn_mark
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
            else:
                result.recovered_after = _flows_again(rl)
    assert summary is not None
    result.outage_ms = round(summary.outage_ms)
    result.lost_packets = summary.sent - summary.received
    result.sent_packets = summary.sent
    result.recovered = summary.recovered
    result.flows_hit = summary.flows_hit
    if draining:
        after = _connections(rl)
        dropped = [f"{node}->{peer}" for (node, peer), n in before.items() if after.get((node, peer)) != n]
        if dropped:
            result.failures.append(f"sessions re-established during the drain: {', '.join(dropped)}")
    judge(sc, result, fault)
    return result


def _flows_again(rl: RunningLab) -> bool:
    """Once the fault is undone, every probe packet crosses the bridge and comes back."""
    probe = rl.start_probe(max_seconds=AFTER_PROBE_S + PROBE_READY_S + 10)
    ready = probe.wait_ready(PROBE_READY_S)
    if ready:
        time.sleep(AFTER_PROBE_S)
    summary = probe.stop()
    return ready and summary.sent > 0 and summary.received == summary.sent


def fault_sessions(lab: Lab, sc: Scenario) -> set[str]:
    """The plan sessions a scenario's fault takes down (none for a drain: it only lengthens paths)."""
    if sc.kind in ("drain", "circuit-drain", "backup-failback", "backup-down"):
        return set()  # a failback measures the return; a VPN tunnel is no plan session
    if sc.kind == "router-down":
        return {s.id for s in lab.sessions if s.fcr == sc.target}
    if sc.kind in ("circuit-down", "metro-down", "double-fault", "backup-failover"):
        return {sid for u in sc.units for sid in unit_sessions(lab, u)}
    return {sc.target}


def _health(rl: RunningLab, sc: Scenario, tick: Callable[[], None] = lambda: None) -> tuple[bool, str]:
    """Run health's evaluation on the routers while the fault lasts and compare what it names with what
    the fault took down; polled briefly, as withdrawals may still be crossing the bridge."""
    expected = expected_from_lab(rl.lab)
    footprint = fault_footprint(expected, fault_sessions(rl.lab, sc))
    deadline = time.monotonic() + HEALTH_SETTLE_S
    while True:
        tick()
        ok, detail = matches(evaluate(expected, observe_health(rl)), footprint)
        if ok or time.monotonic() > deadline:
            return ok, detail
        time.sleep(POLL_S * 10)


def _observe_down(rl: RunningLab, fault: _Fault, t0: float, result: Result,
                  tick: Callable[[], None] = lambda: None) -> None:
    seen = _down_times(rl, fault.ends, t0, fault.timeout_s, tick)
    missing = [f"{n} (to {a})" for n, a in fault.ends if (n, a) not in seen]
    if missing:
        result.failures.append(f"not detected within {fault.timeout_s:.0f} s at {', '.join(missing)}")
    if seen:
        result.detection_ms = round(max(ms for ms, _ in seen.values()))
        reasons = sorted({info.get("lastNotificationReason") or info.get("lastResetDueTo") or "?"
                          for _, info in seen.values()})
        result.detail = f"down at {', '.join(sorted(n for n, _ in seen))}: {', '.join(reasons)}"


def _observe_failback(rl: RunningLab, fault: _Fault, t0: float, result: Result,
                      tick: Callable[[], None] = lambda: None) -> None:
    """Wait until the lab is as designed again (every session up, both edges selecting the private path),
    then count the probe packets that still cross the VPN for :data:`FAILBACK_QUIET_S`."""
    deadline = t0 + fault.timeout_s
    while True:
        tick()
        try:
            problems = lab_problems(rl)
        except (LabError, OSError) as exc:  # a daemon still starting
            problems = [str(exc)]
        if not problems:
            break
        if time.monotonic() > deadline:
            result.failures.append("the private path did not come back: " + "; ".join(problems[:3]))
            return
        time.sleep(POLL_S * 5)
    result.detection_ms = round((time.monotonic() - t0) * 1000)
    mark = rl.vpn_data_packets()
    quiet = time.monotonic() + FAILBACK_QUIET_S
    while time.monotonic() < quiet:
        tick()
        time.sleep(POLL_S * 2)
    result.vpn_packets = rl.vpn_data_packets() - mark
    result.detail = (f"private path back and selected at both edges {result.detection_ms} ms after the routers "
                     f"restarted; {result.vpn_packets} probe packet(s) crossed the VPN in the {FAILBACK_QUIET_S} s "
                     "after")


def _check_backup_stands(rl: RunningLab, fault: _Fault, result: Result) -> None:
    """The VPN's other tunnels keep their sessions while one is lost."""
    lost = fault.tunnel.id if isinstance(fault, _TunnelCut) else ""
    down = []
    for t in rl.lab.tunnels:
        if t.id != lost and rl.neighbors(t.aws).get(t.azure_address, {}).get("bgpState") != "Established":
            down.append(t.id)
    if down:
        result.failures.append(f"other VPN tunnels lost their sessions too: {', '.join(down)}")


def _observe_dpd(rl: RunningLab, fault: _Fault, t0: float, result: Result,
                 tick: Callable[[], None] = lambda: None) -> None:
    """A tunnel cut: wait for both ends' dead-peer detection to end the tunnel's IKE SA (charon, configured
    to the plan's DPD timeout: twin.render.retransmit_timeout) and record when each did."""
    if not isinstance(fault, _TunnelCut):
        return
    t = fault.tunnel
    earliest, latest = dpd_detection_s(t.dpd_timeout_s)
    deadline = t0 + latest + DPD_MARGIN_S
    seen: dict[str, int] = {}
    while len(seen) < 2 and time.monotonic() < deadline:
        tick()
        for node in (t.aws, t.azure):
            if node not in seen and rl.ipsec_sas(node).get(t.id) != "up":
                seen[node] = round((time.monotonic() - t0) * 1000)
        time.sleep(POLL_S * 5)
    result.dpd_ms = seen
    missing = [n for n in (t.aws, t.azure) if n not in seen]
    if missing:
        result.failures.append(f"dead-peer detection did not end tunnel {t.id}'s IKE SA at {', '.join(missing)} "
                               f"within {latest + DPD_MARGIN_S:.0f} s")
    early = [f"{n} ({ms} ms)" for n, ms in seen.items() if ms < (earliest - DPD_MARGIN_S) * 1000]
    if early:
        result.failures.append(f"tunnel {t.id}'s IKE SA ended before dead-peer detection could have found the peer "
                               f"dead ({earliest:.0f} s): {', '.join(early)}")
    result.detail += "; DPD ended its IKE SA after " + ", ".join(f"{ms} ms at {n}" for n, ms in seen.items())


def _observe_drain(rl: RunningLab, fault: _Fault, t0: float, result: Result,
                   tick: Callable[[], None] = lambda: None) -> None:
    deadline = t0 + fault.timeout_s
    while True:
        tick()
        problems = route_problems(rl, drained=fault.drained)
        if not problems:
            result.detection_ms = round((time.monotonic() - t0) * 1000)
            result.detail = "every router holds the prepended paths; traffic left the drained link(s)"
            return
        if time.monotonic() > deadline:
            result.failures.append("the prepend did not reach every router: " + "; ".join(problems[:3]))
            return
        time.sleep(POLL_S * 5)


def _check_stays_down(rl: RunningLab, fault: _Fault, result: Result, watch: _RouteWatch) -> None:
    node, peer = fault.ends[0]
    deadline = time.monotonic() + PREFIX_LIMIT_STAYS_DOWN_S
    while time.monotonic() < deadline:
        watch.tick()
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


def judge(sc: Scenario, result: Result, fault: _Fault | None = None) -> None:
    """Pass or fail a scenario on its measured figures: the same bars for every kind that takes sessions
    down, no packet lost for a drain, the hold timer for the scenario without BFD; and, for every kind,
    traffic flowing again while the fault lasts and once it is undone. A fault the topology cannot survive
    fails naming its single points of failure; one predicted fatal that traffic survived fails too (the
    twin would then not be the plan's topology)."""
    f = result.failures
    if sc.kind in LOSS_KINDS:
        if result.detection_ms is not None and result.detection_ms > MAX_DETECTION_MS:
            f.append(f"detection {result.detection_ms} ms > {MAX_DETECTION_MS} ms")
        if sc.backup == "carries":
            # Over the VPN: under 2 s (a strict bar).
            if result.outage_ms is not None and result.outage_ms >= MAX_BACKUP_OUTAGE_MS:
                f.append(f"outage {'at least ' if result.recovered is False else ''}{result.outage_ms} ms, not under "
                         f"{MAX_BACKUP_OUTAGE_MS} ms")
        elif result.outage_ms is not None and result.outage_ms > MAX_OUTAGE_MS:
            f.append(f"outage {'at least ' if result.recovered is False else ''}{result.outage_ms} ms > "
                     f"{MAX_OUTAGE_MS} ms")
    elif sc.kind in ("drain", "circuit-drain"):
        if result.lost_packets is not None and result.lost_packets > MAX_DRAIN_LOST_PACKETS:
            f.append(f"{result.lost_packets} packet(s) lost during the drain")
    elif sc.kind == "bfd-off":
        hold_s = fault.session.hold_s if isinstance(fault, _LinkCut) else L.AWS_BGP_HOLD_S
        if result.detection_ms is not None and result.detection_ms > hold_s * 1000 + HOLD_TIMER_TOLERANCE_MS:
            f.append(f"detection {result.detection_ms} ms, later than the {hold_s} s hold timer")
        if HOLD_TIMER_REASON not in result.detail:
            f.append("not brought down by the hold timer")
        limit = hold_s * 1000 + HOLD_TIMER_TOLERANCE_MS + MAX_OUTAGE_MS
        if result.outage_ms is not None and result.outage_ms > limit:
            f.append(f"outage {result.outage_ms} ms > the hold timer plus {MAX_OUTAGE_MS} ms")
    elif sc.kind == "backup-failback":
        if result.detection_ms is None and not f:
            f.append("the private path's return was not observed")
        if result.lost_packets is not None and result.lost_packets > MAX_BACKUP_LOST_PACKETS:
            f.append(f"{result.lost_packets} packet(s) lost while traffic moved back to the private path")
    elif sc.kind == "backup-down":
        hold_s = fault.tunnel.hold_s if isinstance(fault, _TunnelCut) else L.AWS_VPN_BGP_HOLD_S
        if result.detection_ms is not None and result.detection_ms > hold_s * 1000 + HOLD_TIMER_TOLERANCE_MS:
            f.append(f"detection {result.detection_ms} ms, later than the {hold_s} s hold timer")
        if result.detection_ms is not None and HOLD_TIMER_REASON not in result.detail:
            f.append("the tunnel's session was not brought down by the hold timer")
        if sc.backup == "idle":
            if result.lost_packets is not None and result.lost_packets > MAX_BACKUP_LOST_PACKETS:
                f.append(f"{result.lost_packets} packet(s) lost when a VPN tunnel went, with the private path up")
        elif (result.outage_ms is not None
              and result.outage_ms > hold_s * 1000 + HOLD_TIMER_TOLERANCE_MS + MAX_OUTAGE_MS):
            f.append(f"outage {result.outage_ms} ms > the hold timer plus {MAX_OUTAGE_MS} ms")
    _judge_backup(sc, result)
    if result.recovered is False:
        f.append("traffic did not flow again while the fault lasted")
    if result.routes_lost:
        f.append(f"{result.routes_lost} route(s) lost at the edges during the fault")
    if result.health_matched is False and sc.kind not in ("drain", "circuit-drain"):
        f.append(f"health did not name exactly what the fault took down: {result.health_detail}")
    if result.recovered_after is False:
        f.append("traffic did not flow again after the fault was undone")
    if sc.exercises:
        if f:
            f.insert(0, f"{', '.join(sc.exercises)}: a single point of failure; the topology cannot survive "
                        "this fault")
        elif result.sent_packets is not None:
            f.append(f"the plan says this cuts AWS from Azure ({', '.join(sc.exercises)}), yet traffic kept "
                     "flowing: the twin is not the plan's topology")
    result.passed = not f


def _judge_backup(sc: Scenario, result: Result) -> None:
    """What the probe saw cross the VPN backup: nothing while a private path is up, the traffic once none is."""
    f = result.failures
    if sc.backup in ("idle", "carries") and result.vpn_packets_before:
        f.append(f"{result.vpn_packets_before} probe packet(s) crossed the VPN before the fault, with every private "
                 "path up")
    if sc.backup == "idle" and result.vpn_packets:
        f.append(f"{result.vpn_packets} probe packet(s) crossed the VPN while a private path was up")
    if sc.backup in ("carries", "only") and result.vpn_packets == 0:
        f.append("no probe packet crossed the VPN, with no private path left")
    if sc.backup == "back" and result.vpn_packets:
        f.append(f"{result.vpn_packets} probe packet(s) still crossed the VPN after the private path was back")


def converged_before(rl: RunningLab) -> list[str]:
    """Problems that make a lab unfit for the next scenario (empty when it is as designed)."""
    return lab_problems(rl)
