"""What health observes, and the evaluation that compares it with the plan.

Pure data and pure functions: no SDK, no Pulumi, no I/O, so the same evaluation runs on what the
clouds' APIs return and on what the twin's FRR routers hold.

An observation is what one source saw of one planned BGP session: its state, BFD where the source
shows it, and the prefixes each end receives over it (``None`` where the source does not show
them). A session is down when any source sees it down; a prefix is missing when a source that
shows that end's routes does not list it. Findings name the session, what the plan expects, what
was seen, and the runbook step.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

RUNBOOK = "docs/runbook-network.md"

#: A route count above this share of the provider's limit is a finding (the plan keeps well below).
ROUTE_LIMIT_SHARE = 0.8

Direction = Literal["to-cloud", "to-fcr"]
Kind = Literal["session-down", "bfd-down", "prefixes-missing", "prefixes-unexpected", "route-limit",
               "resource-state", "edge-prefixes-missing", "unreadable"]

# The sources whose APIs show a session of each kind (the FCR's side shows both).
SHOWN_BY = {"aws": {"aws", "equinix", "twin"}, "azure": {"azure", "equinix", "twin"}}

# The runbook section each kind of finding points to.
RUNBOOK_STEPS: dict[str, str] = {
    "session-down": f"{RUNBOOK}#health-session-down",
    "bfd-down": f"{RUNBOOK}#health-bfd-down",
    "prefixes-missing": f"{RUNBOOK}#health-prefixes-missing",
    "prefixes-unexpected": f"{RUNBOOK}#health-prefixes-unexpected",
    "route-limit": f"{RUNBOOK}#health-route-limit",
    "resource-state": f"{RUNBOOK}#health-resource-state",
    "edge-prefixes-missing": f"{RUNBOOK}#health-prefixes-missing",
    "unreadable": f"{RUNBOOK}#health-unreadable",
}


@dataclass(frozen=True)
class PlannedSession:
    """A BGP session of the plan, as health needs it (built from ``stacks.plan.BgpSession``)."""

    id: str
    kind: Literal["aws", "azure"]
    router: str
    fcr_address: str
    cloud_address: str
    cloud: str  # the cloud end's name (aws-dx-<router>, msee-<priority>)
    bfd: bool
    #: what the cloud end must receive from the FCR, and what the FCR must receive from the cloud
    to_cloud: tuple[str, ...]
    to_fcr: tuple[str, ...]
    #: routes the cloud accepts on the session before it takes it down
    limit: int
    equinix_connection: str
    priority: str | None = None


@dataclass(frozen=True)
class Expected:
    """The plan, as health compares against it."""

    stack: str
    sessions: tuple[PlannedSession, ...]
    aws_prefixes: tuple[str, ...]
    azure_prefixes: tuple[str, ...]

    def session(self, session_id: str) -> PlannedSession:
        return next(s for s in self.sessions if s.id == session_id)


def expected_from_plan(plan: Any) -> Expected:
    """``Expected`` from a ``stacks.plan.BridgePlan`` (typed loosely: this module imports nothing)."""
    sessions = tuple(PlannedSession(
        id=s.id, kind=s.kind, router=s.router, fcr_address=str(s.fcr.ip), cloud_address=str(s.cloud.ip),
        cloud=s.cloud.name, bfd=s.bfd.enabled, to_cloud=tuple(str(p) for p in s.fcr_advertises),
        to_fcr=tuple(str(p) for p in s.cloud_advertises), limit=s.max_prefixes_from_fcr,
        equinix_connection=s.equinix_connection, priority=s.priority) for s in plan.sessions)
    return Expected(plan.stack, sessions, tuple(str(p) for p in plan.aws_prefixes),
                    tuple(str(p) for p in plan.azure_prefixes))


@dataclass(frozen=True)
class SessionObservation:
    """What one source saw of one planned session."""

    session: str
    source: str  # "aws", "azure", "equinix", "twin:<node>"
    state: str | None  # "up", or the provider's word for not up ("down", "Idle", "Active"); None: not shown
    bfd: str | None = None  # "up" / other; None: the source does not show BFD
    to_cloud: tuple[str, ...] | None = None  # prefixes the cloud end receives on it; None: not shown
    to_fcr: tuple[str, ...] | None = None  # prefixes the FCR receives on it; None: not shown
    detail: str = ""

    @property
    def up(self) -> bool | None:
        return None if self.state is None else self.state.lower() in ("up", "established")


@dataclass(frozen=True)
class ResourceState:
    """A resource's provisioning or operational state against the states the plan needs."""

    name: str
    kind: str  # "dx-connection", "vif", "circuit", "peering", "fabric-router", "fabric-connection", ...
    source: str
    state: str
    ok: tuple[str, ...]
    session: str | None = None


@dataclass(frozen=True)
class RouteCount:
    name: str
    source: str
    count: int
    limit: int
    what: str


@dataclass(frozen=True)
class EdgeRoutes:
    """Prefixes an edge (the AWS backbone, the ExpressRoute gateway) must hold, and what it holds."""

    name: str
    source: str
    expected: tuple[str, ...]
    seen: tuple[str, ...]


@dataclass
class Observation:
    sessions: list[SessionObservation] = field(default_factory=list)
    resources: list[ResourceState] = field(default_factory=list)
    route_counts: list[RouteCount] = field(default_factory=list)
    edges: list[EdgeRoutes] = field(default_factory=list)
    #: a source that could not be read at all (access denied, not found): named, never silently skipped
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    #: the sources read ("aws", "azure", "equinix", "twin"): a session none of them can show is not judged
    read: set[str] = field(default_factory=set)

    def extend(self, other: Observation) -> None:
        self.read |= other.read
        self.sessions += other.sessions
        self.resources += other.resources
        self.route_counts += other.route_counts
        self.edges += other.edges
        self.unreadable += other.unreadable


@dataclass(frozen=True)
class Finding:
    kind: Kind
    subject: str  # a session id, or a resource / edge name
    expected: str
    seen: str
    source: str
    session: str | None = None
    direction: Direction | None = None
    prefixes: tuple[str, ...] = ()

    @property
    def runbook(self) -> str:
        return RUNBOOK_STEPS[self.kind]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "subject": self.subject, "session": self.session, "direction": self.direction,
                "prefixes": list(self.prefixes), "expected": self.expected, "seen": self.seen,
                "source": self.source, "runbook": self.runbook}


@dataclass(frozen=True)
class SessionRow:
    """One line of the table: a planned session as every source saw it."""

    session: str
    state: str
    bfd: str
    to_cloud: str
    to_fcr: str
    sources: str

    def to_json(self) -> dict[str, Any]:
        return {"session": self.session, "state": self.state, "bfd": self.bfd, "toCloud": self.to_cloud,
                "toFcr": self.to_fcr, "sources": self.sources}


@dataclass(frozen=True)
class Report:
    stack: str
    rows: tuple[SessionRow, ...]
    findings: tuple[Finding, ...]

    @property
    def healthy(self) -> bool:
        return not self.findings

    def sessions_named(self) -> set[str]:
        """Sessions the report says are down."""
        return {f.subject for f in self.findings if f.kind == "session-down"}

    def prefixes_named(self) -> set[tuple[str, str, str]]:
        """(session, direction, prefix) the report says are missing on a session."""
        return {(f.session or "", f.direction or "", p) for f in self.findings
                if f.kind == "prefixes-missing" for p in f.prefixes}

    def to_json(self) -> dict[str, Any]:
        return {"stack": self.stack, "healthy": self.healthy, "sessions": [r.to_json() for r in self.rows],
                "findings": [f.to_json() for f in self.findings]}


def _fmt(prefixes: Iterable[str]) -> str:
    items = sorted(prefixes)
    return ", ".join(items) if items else "none"


def evaluate(expected: Expected, obs: Observation) -> Report:
    """Compare what the sources saw with the plan; one finding per difference."""
    findings: list[Finding] = []
    rows: list[SessionRow] = []
    for src, why in obs.unreadable:
        findings.append(Finding("unreadable", src, "readable with the credentials given", why, src))
    by_session: dict[str, list[SessionObservation]] = {}
    for o in obs.sessions:
        by_session.setdefault(o.session, []).append(o)
    planned_ids = {s.id for s in expected.sessions}
    for sid in sorted(set(by_session) - planned_ids):
        findings.append(Finding("prefixes-unexpected", sid, "no such session in the plan", "a session is configured",
                                by_session[sid][0].source, session=sid))
    for s in expected.sessions:
        seen = by_session.get(s.id, [])
        states = [(o.source, o.state) for o in seen if o.state is not None]
        down = [(src, st) for src, st in states if st is not None and st.lower() not in ("up", "established")]
        shown = bool(obs.read & SHOWN_BY[s.kind])
        if down or (not states and shown):
            findings.append(Finding(
                "session-down", s.id, "Established",
                "; ".join(f"{st} at {src}" for src, st in down) if down else "no source shows the session",
                ", ".join(src for src, _ in down) or "-", session=s.id))
        if not down and s.bfd:
            bfd_down = [(o.source, o.bfd) for o in seen if o.bfd is not None and o.bfd.lower() != "up"]
            if bfd_down:
                findings.append(Finding("bfd-down", s.id, "BFD Up", "; ".join(f"{b} at {src}" for src, b in bfd_down),
                                        ", ".join(src for src, _ in bfd_down), session=s.id))
        for direction, want in (("to-cloud", s.to_cloud), ("to-fcr", s.to_fcr)):
            where = s.cloud if direction == "to-cloud" else s.router
            views = [(o.source, o.to_cloud if direction == "to-cloud" else o.to_fcr) for o in seen]
            missing: set[str] = set()
            extra: set[str] = set()
            sources = []
            for src, got in views:
                if got is None:
                    continue
                sources.append(src)
                missing |= set(want) - set(got)
                extra |= set(got) - set(want)
            if missing:
                findings.append(Finding(
                    "prefixes-missing", s.id, f"{where} receives {_fmt(want)}",
                    f"missing {_fmt(missing)}", ", ".join(sources), session=s.id,
                    direction=direction, prefixes=tuple(sorted(missing))))  # type: ignore[arg-type]
            if extra:
                findings.append(Finding(
                    "prefixes-unexpected", s.id, f"{where} receives only {_fmt(want)}",
                    f"also {_fmt(extra)}", ", ".join(sources), session=s.id,
                    direction=direction, prefixes=tuple(sorted(extra))))  # type: ignore[arg-type]
            count = max((len(got) for _, got in views if got is not None), default=0)
            if direction == "to-cloud" and count > s.limit * ROUTE_LIMIT_SHARE:
                findings.append(Finding("route-limit", s.id, f"at most {int(s.limit * ROUTE_LIMIT_SHARE)} of the "
                                        f"{s.limit} routes {where} accepts", f"{count} routes", ", ".join(sources),
                                        session=s.id))
        rows.append(_row(s, seen))
    for r in obs.resources:
        if r.state not in r.ok:
            findings.append(Finding("resource-state", r.name, " or ".join(r.ok), r.state, r.source,
                                    session=r.session))
    for c in obs.route_counts:
        if c.count > c.limit * ROUTE_LIMIT_SHARE:
            findings.append(Finding("route-limit", c.name, f"at most {int(c.limit * ROUTE_LIMIT_SHARE)} of "
                                    f"{c.limit} ({c.what})", f"{c.count} routes", c.source))
    for e in obs.edges:
        gone = set(e.expected) - set(e.seen)
        if gone:
            findings.append(Finding("edge-prefixes-missing", e.name, f"holds {_fmt(e.expected)}",
                                    f"missing {_fmt(gone)}: no path left", e.source, prefixes=tuple(sorted(gone))))
    return Report(expected.stack, tuple(rows), tuple(findings))


def _row(s: PlannedSession, seen: Sequence[SessionObservation]) -> SessionRow:
    states = sorted({o.state for o in seen if o.state is not None})
    bfds = sorted({o.bfd for o in seen if o.bfd is not None})

    def count(direction: str, want: tuple[str, ...]) -> str:
        got = [o.to_cloud if direction == "to-cloud" else o.to_fcr for o in seen]
        shown = [g for g in got if g is not None]
        if not shown:
            return f"-/{len(want)}"
        return f"{min(len(set(g) & set(want)) for g in shown)}/{len(want)}"

    state = "up" if states and all(x.lower() in ("up", "established") for x in states) else (
        ", ".join(states) if states else "unknown")
    bfd = ("off" if not s.bfd else ", ".join(bfds)) if (bfds or not s.bfd) else "not shown"
    return SessionRow(s.id, state, bfd, count("to-cloud", s.to_cloud), count("to-fcr", s.to_fcr),
                      ", ".join(sorted({o.source for o in seen})) or "-")


# --- matching a fault (the twin) ------------------------------------------------------------------


@dataclass(frozen=True)
class Footprint:
    """What a fault takes down: sessions, (session, direction, prefix) on sessions, prefixes an edge loses."""

    sessions: frozenset[str]
    prefixes: frozenset[tuple[str, str, str]]
    edge_prefixes: frozenset[str] = frozenset()


def fault_footprint(expected: Expected, down: Iterable[str]) -> Footprint:
    """What a fault that takes ``down`` sessions down must make health name: those sessions, every
    prefix each of their ends received over them, what the FCR can no longer pass on, and the
    prefixes a cloud is left with no path to.

    An FCR passes on what it receives (AWS's prefixes to Azure and back): when a router's only
    session that brought a prefix is down, its other sessions stop carrying that prefix to their
    cloud, although they stay up (a router whose AWS session is down sends Azure no AWS prefix).
    A cloud loses a prefix when none of its sessions carries it any more.
    """
    sessions = set(down)
    prefixes = {(sid, d, p) for sid in sessions for d, ps in (("to-cloud", expected.session(sid).to_cloud),
                                                            ("to-fcr", expected.session(sid).to_fcr)) for p in ps}
    for s in expected.sessions:
        if s.id in sessions:
            continue
        still = {p for o in expected.sessions if o.router == s.router and o.id not in sessions for p in o.to_fcr}
        lost = {p for o in expected.sessions if o.router == s.router and o.id in sessions for p in o.to_fcr} - still
        prefixes |= {(s.id, "to-cloud", p) for p in set(s.to_cloud) & lost}
    edge: set[str] = set()
    for kind in ("aws", "azure"):
        carried = {p for s in expected.sessions if s.kind == kind for p in s.to_cloud}
        edge |= {p for p in carried if all((s.id, "to-cloud", p) in prefixes
                                           for s in expected.sessions if s.kind == kind and p in s.to_cloud)}
    return Footprint(frozenset(sessions), frozenset(prefixes), frozenset(edge))


def matches(report: Report, fault: Footprint) -> tuple[bool, str]:
    """Whether ``report`` names exactly what ``fault`` took down and nothing else; and why not."""
    problems = []
    sessions, prefixes = set(fault.sessions), set(fault.prefixes)
    named_s, named_p = report.sessions_named(), report.prefixes_named()
    named_e = {p for f in report.findings if f.kind == "edge-prefixes-missing" for p in f.prefixes}
    if named_s - sessions:
        problems.append(f"named sessions the fault did not take down: {_fmt(named_s - sessions)}")
    if sessions - named_s:
        problems.append(f"did not name sessions the fault took down: {_fmt(sessions - named_s)}")
    if named_p - prefixes:
        problems.append(f"named {len(named_p - prefixes)} prefix(es) the fault did not take down: "
                        + _fmt(f"{s} {d} {p}" for s, d, p in named_p - prefixes))
    if prefixes - named_p:
        problems.append(f"did not name {len(prefixes - named_p)} prefix(es) the fault took down: "
                        + _fmt(f"{s} {d} {p}" for s, d, p in prefixes - named_p))
    if named_e != set(fault.edge_prefixes):
        problems.append(f"named {_fmt(named_e)} lost at an edge, the fault lost {_fmt(fault.edge_prefixes)}")
    others = [f for f in report.findings if f.kind not in ("session-down", "prefixes-missing", "edge-prefixes-missing")]
    if others:
        problems.append("other findings: " + "; ".join(f"{f.kind} {f.subject}: {f.seen}" for f in others[:5]))
    return not problems, "; ".join(problems) or (
        f"named exactly {len(sessions)} session(s) and {len(prefixes)} prefix(es)"
        + (f", {len(fault.edge_prefixes)} lost at an edge" if fault.edge_prefixes else ""))
