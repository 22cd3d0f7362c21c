"""Render a bridge plan as a lab of FRR routers, and say which routes each router should hold.

The lab (one network namespace per node, veth links between them)::

    vpc --- tgw --- aws-dx-<router> ===transit VIF=== <router> ===ExpressRoute=== msee-<priority> --- ergw --- vnet
    host    TGW /   Direct Connect    (plan session)   FCR       (plan sessions)   Microsoft edge     ER gateway host
            Cloud   gateway, one per                                               ASN 12076          ASN 65515
            WAN     transit VIF

Each plan session runs as the plan has it: addresses, ASNs (each FCR its metro's), MD5 keys in the
plan's arrangement (one random key per key id: both links of an ExpressRoute peering share one, each
transit VIF has its own), configured on both ends, BFD, each provider's timers and maximum-prefix
behaviour, and outbound filters that advertise only the plan's prefixes. The provider-internal
peerings (TGW to DX gateway, Microsoft edge to gateway) are plain eBGP and never fail in a scenario.

Modelling choices, each a documented provider behaviour or a stated assumption (docs/twin.md):

* The DX gateway advertises the allowed prefixes itself: "only the allowed prefixes entered will
  be advertised to on-premises. These will show as originating from the Direct Connect gateway
  ASN" (AWS DX user guide, allowed-to-prefixes). One DX router per transit VIF, as the DX
  gateway's side of that VIF; they do not exchange routes (a DX gateway gives no transit between
  virtual interfaces).
* AWS spreads flows over transit VIFs whose routes tie, and the ExpressRoute gateway over the
  primary and secondary links ("load-balance when the paths are equal", Microsoft planned
  maintenance guidance): ECMP with layer-4 hashing at the TGW and the gateway. Paths of equal
  length through two metros' FCRs (different ASNs) tie too (FRR ``multipath-relax``): a stated
  assumption for two circuits on one gateway with equal weights.
* The FCR exports its connection subnets (its DIRECT routes) like a router with ``redistribute
  connected``, so the plan's outbound filters must keep them in; if FCRs do not export them the
  check is only stricter than reality.
* AWS takes a session over 100 routes idle and Azure drops one over its tier limit; both become
  FRR ``maximum-prefix N force`` without restart (down until cleared).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import itertools
import re
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass, field

from stacks import limits as L
from stacks.plan import BgpSession, BridgePlan
from stacks.problems import ConfigError, Problem

from .model import (
    Asns,
    BfdProfile,
    Circuit,
    Interface,
    Lab,
    Link,
    LinkKind,
    Metro,
    Neighbor,
    Node,
    Role,
    Session,
    SinglePointRef,
)

# Inside the sandbox /run is a private tmpfs; configs, logs and FRR's sockets live there.
RUN_DIR = "/run/twin"

# Address space the lab uses for itself (provider-internal links, router ids, the prefix-limit
# scenario's extra routes): the first of these that overlaps nothing in the plan. RFC 2544's
# benchmarking range is never routed on the internet, then RFC 6598's shared space.
LAB_POOLS = (ipaddress.IPv4Network("198.18.0.0/15"), ipaddress.IPv4Network("100.64.0.0/10"))

# Provider-internal peerings never fail in a scenario; they only need to come up quickly.
INTERNAL_KEEPALIVE_S = 10
INTERNAL_HOLD_S = 30

# How soon a router retries a BGP connection. Providers do not publish theirs; a short retry only
# makes the lab heal quickly after a scenario, it changes no failure figure.
CONNECT_RETRY_S = 1

# FRR batches its first announcements to a peer that has just come up (1 s by default). A short batch
# only makes the lab converge and heal sooner; withdrawals after a failure are never batched.
COALESCE_MS = 100

# FRR applies a changed route-map or prefix-list to routes it holds after this many seconds (5 by
# default). Filters change only in scenarios, which wait this long before they measure anything.
ROUTE_MAP_DELAY_S = 1

# Equal-cost paths a router may install; the bridge has at most two of anything.
MAXIMUM_PATHS = 8

# Fixed lab nodes; the plan's router names must not take them.
TGW, ERGW, VPC_HOST, VNET_HOST = "tgw", "ergw", "vpc", "vnet"

# Host addresses: AWS keeps the first four of a subnet, the VPC router is the first; Azure keeps
# the first four too, so the gateway and the endpoint host take the fifth of their subnets.
VPC_ROUTER_OFFSET, VPC_HOST_OFFSET, AZURE_HOST_OFFSET = 1, 10, 4

# An MD5 key both AWS (6-80 characters) and Azure (at most 25, letters and digits) accept.
MD5_KEY_LEN = 20
MD5_ALPHABET = string.ascii_letters + string.digits


def _name_token(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").upper()


def route_map(direction: str, peer_node: str) -> str:
    """The route-map a router applies to a neighbour: ``TO-<PEER>`` or ``FROM-<PEER>``."""
    return f"{direction}-{_name_token(peer_node)}"


def prefix_list(kind: str, peer_node: str) -> str:
    """``PL-TO-<PEER>`` (what may be advertised) or ``PL-NOT-TO-<PEER>`` (what never is)."""
    return f"PL-{kind}-{_name_token(peer_node)}"


def _lab_pool(plan: BridgePlan) -> ipaddress.IPv4Network:
    used = [*plan.aws_prefixes, *plan.azure_prefixes, plan.hub.cidr, *(s.link for s in plan.sessions)]
    for pool in LAB_POOLS:
        if not any(pool.overlaps(n) for n in used):
            return pool
    raise ConfigError([Problem("bridge:addressing", [str(p) for p in LAB_POOLS],
                               "every address range the twin uses for its own links overlaps the plan",
                               "keep one of 198.18.0.0/15 or 100.64.0.0/10 out of the plan")])


def _md5_key() -> str:
    return "".join(secrets.choice(MD5_ALPHABET) for _ in range(MD5_KEY_LEN))


@dataclass
class _Draft:
    """A node while it is being assembled."""

    name: str
    role: Role
    description: str
    asn: int | None = None
    router_id: str | None = None
    interfaces: list[Interface] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)
    originates: list[str] = field(default_factory=list)
    redistribute_connected: bool = False
    maximum_paths: int = 1
    neighbors: list[Neighbor] = field(default_factory=list)
    bfd_profiles: dict[str, BfdProfile] = field(default_factory=dict)

    def freeze(self) -> Node:
        return Node(self.name, self.role, self.description, tuple(self.interfaces), tuple(self.routes),
                    self.asn, self.router_id, tuple(self.originates), self.redistribute_connected,
                    self.maximum_paths, tuple(self.neighbors), tuple(self.bfd_profiles.values()))


class _Builder:
    def __init__(self, pool: ipaddress.IPv4Network) -> None:
        # The first /16 for links and router ids, the second for the prefix-limit scenario's routes.
        first, second = itertools.islice(pool.subnets(new_prefix=16), 2)
        link_block, id_block = list(first.subnets(new_prefix=24))[:2]
        self._internal = link_block.subnets(new_prefix=30)
        self._ids = id_block.hosts()
        self.excess_pool = second
        self.nodes: dict[str, _Draft] = {}
        self.links: list[Link] = []

    def node(self, name: str, role: Role, description: str, asn: int | None = None) -> _Draft:
        draft = _Draft(name, role, description, asn)
        if role != "host":
            draft.router_id = str(next(self._ids))
            draft.maximum_paths = MAXIMUM_PATHS
        self.nodes[name] = draft
        return draft

    def internal_pair(self) -> tuple[str, str]:
        net = next(self._internal)
        return f"{net.network_address + 1}/30", f"{net.network_address + 2}/30"

    def link(self, link_id: str, kind: LinkKind, a: _Draft, a_addr: str, b: _Draft, b_addr: str,
             session: str | None = None) -> None:
        a_if, b_if = f"eth{len(a.interfaces)}", f"eth{len(b.interfaces)}"
        a.interfaces.append(Interface(a_if, a_addr, link_id, b.name, f"to {b.name} ({link_id})"))
        b.interfaces.append(Interface(b_if, b_addr, link_id, a.name, f"to {a.name} ({link_id})"))
        self.links.append(Link(link_id, kind, a.name, a_if, b.name, b_if, session))


def _ip(address: str) -> str:
    return address.split("/")[0]


def _peer(a: _Draft, a_addr: str, b: _Draft, b_addr: str, *, description: str, keepalive_s: int, hold_s: int,
          session: str | None = None, bfd: BfdProfile | None = None, md5: str | None = None,
          a_max: int | None = None, b_max: int | None = None,
          a_advertises: tuple[str, ...] | None = None, b_advertises: tuple[str, ...] | None = None) -> None:
    """Configure a BGP session on both ends (``a_max`` is what ``a`` accepts from ``b``)."""
    for me, my_addr, other, other_addr, maximum, advertise in (
            (a, a_addr, b, b_addr, a_max, a_advertises), (b, b_addr, a, a_addr, b_max, b_advertises)):
        assert other.asn is not None, "both ends of a BGP session are routers"
        if bfd is not None:
            me.bfd_profiles[bfd.name] = bfd
        me.neighbors.append(Neighbor(
            peer_node=other.name, address=_ip(other_addr), local_address=_ip(my_addr), remote_asn=other.asn,
            description=description, keepalive_s=keepalive_s, hold_s=hold_s, session=session,
            bfd_profile=bfd.name if bfd else None, md5=md5, max_prefixes=maximum, advertise=advertise))


def _stand_in_backbone_asn(plan: BridgePlan) -> int:
    used = {plan.dxgw_asn, plan.fcr_asn}
    asn = L.AMAZON_ASN_RANGES[0][0]
    while asn in used:
        asn += 1
    return asn


def build_lab(plan: BridgePlan, *, backbone_asn: int | None = None, bfd_off: Iterable[str] = ()) -> Lab:
    """The lab for ``plan``; ``bfd_off`` names sessions to render without BFD (the hold-timer lab).

    ``backbone_asn`` is the Cloud WAN core network edge's ASN when the plan has no transit gateway
    (the plan does not carry it); without either a private stand-in is used.
    """
    bfd_off = tuple(bfd_off)
    unknown = [s for s in bfd_off if s not in {x.id for x in plan.sessions}]
    if unknown:
        raise ValueError(f"no such sessions: {unknown}")
    fixed = {TGW, ERGW, VPC_HOST, VNET_HOST, *(s.cloud.name for s in plan.sessions)}
    clash = sorted(r.name for r in plan.routers if r.name in fixed)
    if clash:
        raise ConfigError([Problem("bridge:exchange.routers", clash,
                                   f"router name {clash[0]!r} is a name the twin gives one of its own nodes",
                                   f"rename the router (the twin reserves {', '.join(sorted(fixed))})")])
    asns = Asns(backbone=plan.tgw_asn or backbone_asn or _stand_in_backbone_asn(plan), dxgw=plan.dxgw_asn,
                fcr=plan.fcr_asn, microsoft=L.MICROSOFT_EDGE_ASN, gateway=L.EXPRESSROUTE_GATEWAY_ASN)
    b = _Builder(_lab_pool(plan))
    aws = tuple(str(p) for p in plan.aws_prefixes)
    azure = tuple(str(p) for p in plan.azure_prefixes)

    # AWS side: the SaaS VPC host behind the TGW, whose VPC link is the first VPC's CIDR.
    backbone = "transit gateway" if plan.tgw_asn else "Cloud WAN core network edge"
    tgw = b.node(TGW, "tgw", f"AWS {backbone} (ASN {asns.backbone}) with the VPC attachments", asns.backbone)
    vpc_host = b.node(VPC_HOST, "host", f"a host in SaaS VPC {plan.aws_prefixes[0]}")
    vpc = plan.aws_prefixes[0]
    vpc_router = f"{vpc.network_address + VPC_ROUTER_OFFSET}/{vpc.prefixlen}"
    vpc_address = f"{vpc.network_address + VPC_HOST_OFFSET}/{vpc.prefixlen}"
    b.link(f"{VPC_HOST}~{TGW}", "host", vpc_host, vpc_address, tgw, vpc_router)
    vpc_host.routes.append(f"default via {_ip(vpc_router)}")
    tgw.routes.extend(f"blackhole {p}" for p in plan.aws_prefixes[1:])  # VPCs without a host

    # Azure side: the hub VNet host behind the ExpressRoute gateway, which sits in GatewaySubnet.
    ergw = b.node(ERGW, "ergw", f"ExpressRoute gateway (ASN {asns.gateway}) of hub {plan.hub.cidr}", asns.gateway)
    vnet_host = b.node(VNET_HOST, "host", f"a host in the hub VNet's endpoint subnet {plan.hub.endpoint_subnet}")
    hub_len = plan.hub.cidr.prefixlen
    gw_address = f"{plan.hub.gateway_subnet.network_address + AZURE_HOST_OFFSET}/{hub_len}"
    vnet_address = f"{plan.hub.endpoint_subnet.network_address + AZURE_HOST_OFFSET}/{hub_len}"
    b.link(f"{VNET_HOST}~{ERGW}", "host", vnet_host, vnet_address, ergw, gw_address)
    vnet_host.routes.append(f"default via {_ip(gw_address)}")
    ergw.routes.extend(f"blackhole {p}" for p in plan.azure_prefixes if p != plan.hub.cidr)  # spokes
    ergw.originates.extend(azure)

    # The FCR ASN is the metro's (a bridge in two metros has two).
    fcr_asn = {s.router: s.fcr.asn for s in plan.sessions}
    fcrs = {r.name: b.node(r.name, "fcr", f"Equinix Fabric Cloud Router {r.name} ({r.metro}, ASN {fcr_asn[r.name]})",
                           fcr_asn[r.name]) for r in plan.routers}
    # The plan's key arrangement: one key per key id, so both links of an ExpressRoute peering share
    # theirs and each transit VIF has its own.
    keys = {s.key.id: _md5_key() for s in plan.sessions}
    circuit_of = {s.id: c.circuit for c in (plan.circuits or (plan.azure,)) for s in plan.sessions
                  if s.kind == "azure" and s.router in c.routers}
    for f in fcrs.values():
        f.redistribute_connected = True

    sessions: list[Session] = []
    for s in plan.sessions:
        fcr = fcrs[s.router]
        bfd_on = s.bfd.enabled and s.id not in bfd_off
        profile = BfdProfile(f"{s.kind}-{_name_token(s.id).lower()}", s.bfd.interval_ms, s.bfd.multiplier)
        fcr_addr, cloud_addr = str(s.fcr.address), str(s.cloud.address)
        link_kind: LinkKind
        if s.kind == "aws":
            cloud = b.node(s.cloud.name, "dx", f"AWS Direct Connect gateway (ASN {s.cloud.asn}) on transit "
                           f"VIF {s.id}", s.cloud.asn)
            # The DX gateway originates the allowed prefixes and reaches them through the TGW.
            tgw_addr, dx_addr = b.internal_pair()
            b.link(f"{TGW}~{cloud.name}", "internal", tgw, tgw_addr, cloud, dx_addr)
            cloud.routes.extend(f"{p} via {_ip(tgw_addr)}" for p in aws)
            cloud.originates.extend(aws)
            _peer(tgw, tgw_addr, cloud, dx_addr, description="DX gateway association",
                  keepalive_s=INTERNAL_KEEPALIVE_S, hold_s=INTERNAL_HOLD_S,
                  a_advertises=(), b_advertises=None)
            link_kind = "transit-vif"
        else:
            cloud = b.node(s.cloud.name, "msee", f"Microsoft edge {s.priority} (ASN {s.cloud.asn})", s.cloud.asn)
            ms_addr, gw_addr = b.internal_pair()
            b.link(f"{cloud.name}~{ERGW}", "internal", cloud, ms_addr, ergw, gw_addr)
            _peer(cloud, ms_addr, ergw, gw_addr, description="ExpressRoute gateway connection",
                  keepalive_s=INTERNAL_KEEPALIVE_S, hold_s=INTERNAL_HOLD_S,
                  a_advertises=None, b_advertises=azure)
            link_kind = "expressroute"
        b.link(s.id, link_kind, fcr, fcr_addr, cloud, cloud_addr, session=s.id)
        fcr_out = tuple(str(p) for p in s.fcr_advertises)
        cloud_out = tuple(str(p) for p in s.cloud_advertises)
        _peer(fcr, fcr_addr, cloud, cloud_addr, description=_session_description(s), session=s.id,
              keepalive_s=s.timers.keepalive_s, hold_s=s.timers.hold_s, bfd=profile if bfd_on else None,
              md5=keys[s.key.id], b_max=s.max_prefixes_from_fcr, a_advertises=fcr_out, b_advertises=cloud_out)
        sessions.append(Session(
            id=s.id, kind=s.kind, fcr=fcr.name, cloud=cloud.name, link=s.id, fcr_address=_ip(fcr_addr),
            cloud_address=_ip(cloud_addr), bfd=bfd_on, detect_ms=s.bfd.detect_ms if bfd_on else None,
            keepalive_s=s.timers.keepalive_s, hold_s=s.timers.hold_s, max_prefixes=s.max_prefixes_from_fcr,
            fcr_advertises=fcr_out, cloud_advertises=cloud_out, priority=s.priority, key_id=s.key.id,
            circuit=circuit_of.get(s.id)))

    # What a provider propagates inside its cloud is not filtered, so a leak from the FCR shows up
    # at the edges; only a prefix's own origin is held back (the DX gateway's allowed prefixes are
    # not sent back into the TGW, the VNet's prefixes not back into the gateway).
    _hold_back(b.nodes, "dx", TGW, aws)
    _hold_back(b.nodes, "msee", ERGW, azure)

    notes = [f"sessions without BFD: {', '.join(bfd_off)}"] if bfd_off else []
    if plan.fcr_asn_source == "stand-in":
        notes.append(f"FCR ASN {plan.fcr_asn} is the plan's stand-in")
    return Lab(
        stack=plan.stack, asns=asns, nodes=tuple(n.freeze() for n in b.nodes.values()), links=tuple(b.links),
        sessions=tuple(sessions), aws_prefixes=aws, azure_prefixes=azure, vpc_host=VPC_HOST,
        vpc_address=_ip(vpc_address), vnet_host=VNET_HOST, vnet_address=_ip(vnet_address), aws_edge=TGW,
        azure_edge=ERGW, excess_pool=str(b.excess_pool), bfd_off=bfd_off, notes=tuple(notes),
        circuits=tuple(Circuit(c.circuit, c.peering_location, c.metro,
                               tuple(s.id for s in sessions if s.circuit == c.circuit))
                       for c in (plan.circuits or (plan.azure,))),
        metros=tuple(Metro(m, tuple(r.name for r in plan.routers if r.metro == m))
                     for m in dict.fromkeys(r.metro for r in plan.routers)),
        single_points=tuple(SinglePointRef(sp.kind, sp.name) for sp in plan.single_points))


def _hold_back(nodes: dict[str, _Draft], role: str, toward: str, prefixes: tuple[str, ...]) -> None:
    for draft in nodes.values():
        if draft.role == role:
            draft.neighbors = [dataclasses.replace(n, suppress=prefixes) if n.peer_node == toward else n
                               for n in draft.neighbors]


def _session_description(s: BgpSession) -> str:
    if s.kind == "aws":
        return f"{s.id} transit VIF to AWS DX gateway ASN {s.cloud.asn}"
    return f"{s.id} ExpressRoute {s.priority} to Microsoft ASN {s.cloud.asn}"


# --- FRR configuration ---------------------------------------------------------------------------


def _header(node: Node, daemon: str) -> list[str]:
    return ["frr defaults traditional", f"hostname {node.name}", f"log file {RUN_DIR}/{node.name}/{daemon}.log",
            "log timestamp precision 6", "!"]


def zebra_config(node: Node) -> str:
    lines = _header(node, "zebra")
    for iface in node.interfaces:
        lines += [f"interface {iface.name}", f" description {iface.description}", "exit", "!"]
    return "\n".join(lines) + "\n"


def bfdd_config(node: Node) -> str:
    lines = _header(node, "bfdd")
    if node.bfd_profiles:
        lines.append("bfd")
        for p in node.bfd_profiles:
            lines += [f" profile {p.name}", f"  detect-multiplier {p.multiplier}",
                      f"  receive-interval {p.interval_ms}", f"  transmit-interval {p.interval_ms}", " exit", " !"]
        lines += ["exit", "!"]
    return "\n".join(lines) + "\n"


def bgpd_config(node: Node) -> str:
    assert node.asn is not None
    lines = _header(node, "bgpd")
    lines += [f"bgp route-map delay-timer {ROUTE_MAP_DELAY_S}", "!"]
    lines += [f"router bgp {node.asn}", f" bgp router-id {node.router_id}", " bgp log-neighbor-changes",
              # Equal-length AS paths through different neighbour ASNs (two metros' FCRs) share the
              # load, as the clouds spread flows over equal paths (see the module docstring).
              " bgp bestpath as-path multipath-relax", f" coalesce-time {COALESCE_MS}"]
    for n in node.neighbors:
        ip = n.address
        lines += [f" neighbor {ip} remote-as {n.remote_asn}", f" neighbor {ip} description {n.description}",
                  f" neighbor {ip} timers {n.keepalive_s} {n.hold_s}",
                  f" neighbor {ip} timers connect {CONNECT_RETRY_S}"]
        if n.md5:
            lines.append(f" neighbor {ip} password {n.md5}")
        if n.bfd_profile:
            lines.append(f" neighbor {ip} bfd profile {n.bfd_profile}")
    lines += [" !", " address-family ipv4 unicast"]
    lines += [f"  network {p}" for p in node.originates]
    if node.redistribute_connected:
        lines.append("  redistribute connected")
    lines.append(f"  maximum-paths {node.maximum_paths}")
    for n in node.neighbors:
        lines += [f"  neighbor {n.address} route-map {route_map('FROM', n.peer_node)} in",
                  f"  neighbor {n.address} route-map {route_map('TO', n.peer_node)} out"]
        if n.max_prefixes is not None:
            # `force` counts every route received, filtered or not, as the providers count them;
            # without `restart` the session stays down until cleared, as AWS keeps it idle.
            lines.append(f"  neighbor {n.address} maximum-prefix {n.max_prefixes} force")
    lines += [" exit-address-family", "exit", "!"]
    for n in node.neighbors:
        to, never = prefix_list("TO", n.peer_node), prefix_list("NOT-TO", n.peer_node)
        lines += [f"ip prefix-list {to} seq {5 * (i + 1)} permit {p}" for i, p in enumerate(n.advertise or ())]
        lines += [f"ip prefix-list {never} seq {5 * (i + 1)} permit {p}" for i, p in enumerate(n.suppress)]
        lines += [f"route-map {route_map('FROM', n.peer_node)} permit 10", "exit"]
        out = route_map("TO", n.peer_node)
        if n.suppress:
            lines += [f"route-map {out} deny 5", f" match ip address prefix-list {never}", "exit"]
        if n.advertise is None:
            lines += [f"route-map {out} permit 10", "exit"]
        elif not n.advertise:
            lines += [f"route-map {out} deny 10", "exit"]
        else:
            lines += [f"route-map {out} permit 10", f" match ip address prefix-list {to}", "exit"]
        lines.append("!")
    return "\n".join(lines) + "\n"


def frr_configs(node: Node) -> dict[str, str]:
    """The FRR daemons' configuration files of a router, by daemon."""
    return {"zebra": zebra_config(node), "bfdd": bfdd_config(node), "bgpd": bgpd_config(node)}


# --- what each router should hold -------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Route:
    """A path to a prefix as one router holds it."""

    peer: str  # the node it was learned from; "" for a route the router originates
    as_path: str
    selected: bool  # the best path or one of its equal-cost multipaths

    def describe(self) -> str:
        where = f"from {self.peer}" if self.peer else "originated here"
        return f"{where}, AS path [{self.as_path}]{'' if self.selected else ', not selected'}"


Table = dict[str, frozenset[Route]]  # prefix -> paths


def expected_routes(lab: Lab, drained: Iterable[str] = ()) -> dict[str, Table]:
    """Every router's BGP table as the design intends, with ``drained`` ExpressRoute sessions in maintenance.

    Stated from the design, not from the rendered filters, so a filter that lets something else
    through (or holds an expected prefix back) shows up as a difference: the AWS side learns
    exactly the Azure prefixes, the Azure side exactly the AWS prefixes, each with the AS path
    the chain of ASNs gives it; equal paths are all selected (load-balanced).
    """
    drained = set(drained)
    a = lab.asns
    asn_of = {n.name: n.asn for n in lab.routers}
    raw: dict[str, dict[str, list[tuple[str, tuple[int, ...]]]]] = {n.name: {} for n in lab.routers}

    def best(node: str, prefix: str) -> tuple[int, ...] | None:
        paths = raw[node].get(prefix)
        return min((p for _, p in paths), key=len) if paths else None

    def send(sender: str, receiver: str, prefixes: Iterable[str], *, extra: tuple[int, ...] = ()) -> None:
        """``sender`` advertises its best path to each prefix over eBGP (prepending ``extra`` first)."""
        for prefix in prefixes:
            path = best(sender, prefix)
            if path is None:
                continue
            sender_asn = asn_of[sender]
            assert sender_asn is not None
            full = (sender_asn, *extra, *path)
            if asn_of[receiver] in full:  # eBGP loop prevention
                continue
            raw[receiver].setdefault(prefix, []).append((sender, full))

    def prepend(s: Session) -> tuple[int, ...]:
        return (a.microsoft,) * L.MICROSOFT_MAINTENANCE_PREPEND if s.id in drained else ()

    aws_sessions = [s for s in lab.sessions if s.kind == "aws"]
    azure_sessions = [s for s in lab.sessions if s.kind == "azure"]
    for prefix in lab.azure_prefixes:
        raw[lab.azure_edge].setdefault(prefix, []).append(("", ()))
    for s in aws_sessions:
        for prefix in lab.aws_prefixes:
            raw[s.cloud].setdefault(prefix, []).append(("", ()))
    for fcr in lab.fcrs:
        for iface in fcr.interfaces:
            net = ipaddress.IPv4Interface(iface.address).network
            # Routers do not redistribute IPv4 link-local subnets (RFC 3927; AWS's link pool is one).
            if not net.is_link_local:
                raw[fcr.name].setdefault(str(net), []).append(("", ()))
    # Toward the FCRs: the gateway's VNet prefixes through each Microsoft edge, the allowed prefixes
    # from each DX gateway router.
    for s in azure_sessions:
        send(lab.azure_edge, s.cloud, lab.azure_prefixes)
        send(s.cloud, s.fcr, lab.azure_prefixes, extra=prepend(s))
    for s in aws_sessions:
        send(s.cloud, s.fcr, lab.aws_prefixes)
    # Across the FCRs, each side's prefixes to the other side only.
    for s in aws_sessions:
        send(s.fcr, s.cloud, lab.azure_prefixes)
    for s in azure_sessions:
        send(s.fcr, s.cloud, lab.aws_prefixes)
    # Into each cloud's core.
    for s in aws_sessions:
        send(s.cloud, lab.aws_edge, lab.azure_prefixes)
    for s in azure_sessions:
        send(s.cloud, lab.azure_edge, lab.aws_prefixes, extra=prepend(s))

    tables: dict[str, Table] = {}
    for node, prefixes in raw.items():
        table: Table = {}
        for prefix, paths in prefixes.items():
            shortest = min(len(p) for _, p in paths)
            table[prefix] = frozenset(Route(peer, " ".join(map(str, p)), len(p) == shortest) for peer, p in paths)
        tables[node] = table
    return tables


def observed_routes(node: Node, show_bgp: dict[str, object]) -> Table:
    """A router's table from FRR's ``show bgp ipv4 unicast json``."""
    peers = {n.address: n.peer_node for n in node.neighbors}
    table: dict[str, set[Route]] = {}
    routes = show_bgp.get("routes", {})
    assert isinstance(routes, dict)
    for prefix, paths in routes.items():
        for p in paths:
            peer_id = p.get("peerId", "(unspec)")
            peer = "" if peer_id == "(unspec)" else peers.get(peer_id, peer_id)
            as_path = p.get("path", "") if p.get("valid") else f"{p.get('path', '')} (invalid)"
            table.setdefault(prefix, set()).add(Route(peer, as_path, bool(p.get("bestpath") or p.get("multipath"))))
    return {k: frozenset(v) for k, v in table.items()}


def table_differences(node: str, expected: Table, observed: Table) -> list[str]:
    """What differs between two tables of ``node``, one line each (empty when they match)."""
    out = []
    for prefix in sorted(set(expected) | set(observed), key=lambda p: ipaddress.IPv4Network(p)):
        exp, obs = expected.get(prefix, frozenset()), observed.get(prefix, frozenset())
        if exp == obs:
            continue
        if not obs:
            out.append(f"{node}: {prefix} is missing (expected {'; '.join(r.describe() for r in sorted(exp))})")
        elif not exp:
            out.append(f"{node}: {prefix} leaked here ({'; '.join(r.describe() for r in sorted(obs))})")
        else:
            out.append(f"{node}: {prefix} has {'; '.join(r.describe() for r in sorted(obs))}; expected "
                       f"{'; '.join(r.describe() for r in sorted(exp))}")
    return out
