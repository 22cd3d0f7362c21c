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

With the plan's VPN backup (``bridge:vpnBackup``, :mod:`stacks.vpn`) the lab grows an internet link
between the TGW and a ``vpngw`` node (the active-active Azure VPN gateway, ASN 65515), four tunnels
over it and a BGP session over each, always up:

* The TGW terminates the tunnels itself, as a VPN attachment of the transit gateway does: the BGP
  sessions speak its ASN, and it holds the four AWS outside addresses on the internet link.
* The gateway's two instances are one node with two outside addresses: one resource, one ASN, one
  set of routes; no scenario fails an instance apart from its tunnels, and a node less is a third
  fewer daemons on a two-core machine.
* This kernel has no ESP (``CONFIG_INET_ESP`` is off: ``ip xfrm state add ... proto esp`` answers
  "Requested type not found"), no VTI, GRE or xfrm interfaces. Each tunnel is real IPsec all the same:
  IKEv2 and ESP in userspace (strongSwan's charon with kernel-libipsec, one per VPN end), protecting a
  VXLAN interface that carries the plan's inside /30 (a route-based tunnel, as both clouds' VPNs are),
  with dead-peer detection sized to the plan's DPD timeout ("the VPN backup's IPsec" below). The BGP
  hold timer (30 s, shorter than any DPD timeout AWS allows) still ends a dead tunnel's session first.
* No BFD on the VPN sessions: neither cloud's API has a BFD setting for a VPN, only dead-peer
  detection (AWS VpnTunnelOptionsSpecification: DPDTimeoutSeconds, DPDTimeoutAction,
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_VpnTunnelOptionsSpecification.html;
  Azure connections: dpdTimeoutSeconds, https://learn.microsoft.com/en-us/azure/templates/microsoft.network/connections).
* Preference as the clouds encode it: the TGW prefers Direct Connect gateway routes over VPN routes
  for the same prefix ("Route evaluation order",
  https://docs.aws.amazon.com/vpc/latest/tgw/how-transit-gateways-work.html), Azure prefers
  ExpressRoute over a site-to-site VPN (https://learn.microsoft.com/en-us/azure/expressroute/expressroute-howto-coexist-resource-manager).
  Both become a lower local preference (:data:`VPN_LOCAL_PREF`) on VPN-learned routes: at the TGW on
  the tunnel sessions, at the ExpressRoute gateway on an iBGP session to the VPN gateway (both in
  GatewaySubnet, both ASN 65515), which stands for the VNet's effective routes choosing between them.
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
    Tunnel,
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
VPNGW = "vpngw"

# The VPN backup's internet: RFC 5737's TEST-NET-3, never routed. AWS's four tunnel outside addresses
# from .11, the Azure gateway instances' public addresses from .100.
INTERNET = ipaddress.IPv4Network("203.0.113.0/24")
AWS_OUTSIDE_OFFSET, AZURE_OUTSIDE_OFFSET = 11, 100
# The internet link takes the lower half of it; each tunnel's protected endpoints (its IPsec traffic
# selectors, the ends of its VXLAN) are /32s from the upper half, on no link: reachable only through
# the tunnel's SA (a route charon installs), never in the clear.
WIRE_PREFIXLEN = 25
AWS_SELECTOR_OFFSET, AZURE_SELECTOR_OFFSET = 129, 193
# VXLAN (RFC 7348) carries each tunnel inside its SA; its network identifier is this plus the tunnel's
# position.
VXLAN_PORT = 4789
# IKE and ESP in UDP (RFC 3948): charon's NAT-T port, the only one ESP crosses the internet on.
IKE_PORT, NATT_PORT = 500, 4500
VNI_BASE = 100
# Local preference of routes learned over the VPN (BGP's default is 100): the private path wins while
# it is up, as both clouds prefer it (module docstring).
VPN_LOCAL_PREF = 50
DEFAULT_LOCAL_PREF = 100

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


def _check_internet(plan: BridgePlan) -> None:
    used = [*plan.aws_prefixes, *plan.azure_prefixes, plan.hub.cidr]
    clash = [str(n) for n in used if n.overlaps(INTERNET)]
    if clash:
        raise ConfigError([Problem("bridge:vpnBackup", clash, f"overlaps {INTERNET}, the address range the twin "
                                   "gives the VPN backup's internet link",
                                   f"keep {INTERNET} (TEST-NET-3) out of the plan")])


def _md5_key() -> str:
    return "".join(secrets.choice(MD5_ALPHABET) for _ in range(MD5_KEY_LEN))


def _psk() -> str:
    """A tunnel's pre-shared key: as long as the plan generates them (stacks.limits.VPN_PSK_GENERATED_LEN),
    letters and digits (both clouds accept them)."""
    return "".join(secrets.choice(MD5_ALPHABET) for _ in range(L.VPN_PSK_GENERATED_LEN))


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
          a_advertises: tuple[str, ...] | None = None, b_advertises: tuple[str, ...] | None = None,
          a_local_pref: int | None = None, b_local_pref: int | None = None, a_nh_self: bool = False,
          b_nh_self: bool = False, backup: bool = False) -> None:
    """Configure a BGP session on both ends (``a_max`` is what ``a`` accepts from ``b``, ``a_local_pref``
    what ``a`` gives routes from ``b``)."""
    for me, my_addr, other, other_addr, maximum, advertise, pref, nh_self in (
            (a, a_addr, b, b_addr, a_max, a_advertises, a_local_pref, a_nh_self),
            (b, b_addr, a, a_addr, b_max, b_advertises, b_local_pref, b_nh_self)):
        assert other.asn is not None, "both ends of a BGP session are routers"
        if bfd is not None:
            me.bfd_profiles[bfd.name] = bfd
        me.neighbors.append(Neighbor(
            peer_node=other.name, address=_ip(other_addr), local_address=_ip(my_addr), remote_asn=other.asn,
            description=description, keepalive_s=keepalive_s, hold_s=hold_s, session=session,
            bfd_profile=bfd.name if bfd else None, md5=md5, max_prefixes=maximum, advertise=advertise,
            local_pref=pref, next_hop_self=nh_self, backup=backup))


def _stand_in_backbone_asn(plan: BridgePlan) -> int:
    used = {plan.dxgw_asn, plan.fcr_asn}
    asn = L.AMAZON_ASN_RANGES[0][0]
    while asn in used:
        asn += 1
    return asn


def build_lab(plan: BridgePlan, *, backbone_asn: int | None = None, bfd_off: Iterable[str] = (),
              private: bool = True) -> Lab:
    """The lab for ``plan``; ``bfd_off`` names sessions to render without BFD (the hold-timer lab).

    ``backbone_asn`` is the Cloud WAN core network edge's ASN when the plan has no transit gateway
    (the plan does not carry it); without either a private stand-in is used. ``private=False``
    renders the plan's VPN backup alone, without the private path (the IPsec-only comparison).
    """
    bfd_off = tuple(bfd_off)
    if not private and plan.backup is None:
        raise ValueError("an IPsec-only lab needs a plan with a VPN backup (bridge:vpnBackup)")
    unknown = [s for s in bfd_off if s not in {x.id for x in plan.sessions}]
    if unknown:
        raise ValueError(f"no such sessions: {unknown}")
    fixed = {TGW, ERGW, VPC_HOST, VNET_HOST, VPNGW, *(s.cloud.name for s in plan.sessions)}
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
                           fcr_asn[r.name]) for r in plan.routers if private}
    # The plan's key arrangement: one key per key id, so both links of an ExpressRoute peering share
    # theirs and each transit VIF has its own.
    keys = {s.key.id: _md5_key() for s in plan.sessions}
    circuit_of = {s.id: c.circuit for c in (plan.circuits or (plan.azure,)) for s in plan.sessions
                  if s.kind == "azure" and s.router in c.routers}
    for f in fcrs.values():
        f.redistribute_connected = True

    sessions: list[Session] = []
    for s in (plan.sessions if private else ()):
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

    tunnels = _add_backup(b, plan, tgw, ergw) if plan.backup is not None else []

    notes = [f"sessions without BFD: {', '.join(bfd_off)}"] if bfd_off else []
    if not private:
        notes.append("IPsec-only: the VPN backup without the private path")
    if plan.fcr_asn_source == "stand-in":
        notes.append(f"FCR ASN {plan.fcr_asn} is the plan's stand-in")
    return Lab(
        stack=plan.stack, asns=asns, nodes=tuple(n.freeze() for n in b.nodes.values()), links=tuple(b.links),
        sessions=tuple(sessions), aws_prefixes=aws, azure_prefixes=azure, vpc_host=VPC_HOST,
        vpc_address=_ip(vpc_address), vnet_host=VNET_HOST, vnet_address=_ip(vnet_address), aws_edge=TGW,
        azure_edge=ERGW, excess_pool=str(b.excess_pool), bfd_off=bfd_off, notes=tuple(notes),
        circuits=tuple(Circuit(c.circuit, c.peering_location, c.metro,
                               tuple(s.id for s in sessions if s.circuit == c.circuit))
                       for c in (plan.circuits or (plan.azure,)) if private),
        metros=tuple(Metro(m, tuple(r.name for r in plan.routers if r.metro == m))
                     for m in dict.fromkeys(r.metro for r in plan.routers) if private),
        single_points=tuple(SinglePointRef(sp.kind, sp.name) for sp in plan.single_points if private),
        tunnels=tuple(tunnels), vpn_gateway=VPNGW if tunnels else None, private=private)


def _add_backup(b: _Builder, plan: BridgePlan, tgw: _Draft, ergw: _Draft) -> list[Tunnel]:
    """The VPN backup: the internet link, the Azure VPN gateway, four tunnels and their BGP sessions."""
    backup = plan.backup
    assert backup is not None
    _check_internet(plan)
    assert tgw.asn == backup.aws_asn or plan.tgw_asn is None, "the VPN speaks the backbone's ASN"
    vpngw = b.node(VPNGW, "vpngw", f"Azure VPN gateway, active-active (ASN {backup.azure_asn}), in GatewaySubnet",
                   backup.azure_asn)
    hosts = list(INTERNET.hosts())
    aws_outside = {t.id: f"{hosts[AWS_OUTSIDE_OFFSET - 1 + i]}" for i, t in enumerate(backup.tunnels)}
    instances = sorted({t.instance for t in backup.tunnels})
    azure_outside = {i: f"{hosts[AZURE_OUTSIDE_OFFSET - 1 + i]}" for i in instances}
    plen = WIRE_PREFIXLEN
    # One veth: the TGW holds the AWS outside addresses, the gateway its instances' public addresses.
    first_aws, *more_aws = aws_outside.values()
    first_az, *more_az = azure_outside.values()
    b.link(f"{TGW}~{VPNGW}", "internet", tgw, f"{first_aws}/{plen}", vpngw, f"{first_az}/{plen}")
    tgw.interfaces[-1] = dataclasses.replace(tgw.interfaces[-1], extra=tuple(f"{a}/{plen}" for a in more_aws),
                                             description="internet: the VPN's AWS outside addresses")
    vpngw.interfaces[-1] = dataclasses.replace(vpngw.interfaces[-1], extra=tuple(f"{a}/{plen}" for a in more_az),
                                               description="internet: the gateway instances' public addresses")
    to_azure = tuple(str(p) for p in backup.to_azure)
    to_aws = tuple(str(p) for p in backup.to_aws)
    # The TGW propagates its VPC attachments' CIDRs to the VPN itself (the DX gateway's side carries them
    # toward the FCRs): it originates them here, and never passes them to the DX routers (it sends them nothing).
    tgw.originates.extend(to_azure)
    tunnels = []
    for i, t in enumerate(backup.tunnels):
        aws_addr, az_addr = str(t.aws.address), str(t.azure.address)
        b.link(t.id, "vpn-tunnel", tgw, aws_addr, vpngw, az_addr)
        # Both ends' interface carries the tunnel's name (VXLAN devices are made, not veth ends).
        for draft in (tgw, vpngw):
            draft.interfaces[-1] = dataclasses.replace(draft.interfaces[-1], name=t.id,
                                                       description=f"VPN tunnel {t.id} (instance {t.instance})")
        b.links[-1] = dataclasses.replace(b.links[-1], a_iface=t.id, b_iface=t.id)
        _peer(tgw, aws_addr, vpngw, az_addr, description=f"{t.id} VPN tunnel to Azure VPN gateway instance "
              f"{t.instance}", keepalive_s=t.timers.keepalive_s, hold_s=t.timers.hold_s,
              a_max=backup.max_prefixes_to_aws, b_max=backup.max_prefixes_to_azure,
              a_advertises=to_azure, b_advertises=to_aws, a_local_pref=VPN_LOCAL_PREF, backup=True)
        psk = _psk()
        tunnels.append(Tunnel(t.id, t.instance, TGW, VPNGW, _ip(aws_addr), _ip(az_addr), aws_outside[t.id],
                              azure_outside[t.instance], VNI_BASE + i, t.timers.keepalive_s, t.timers.hold_s,
                              t.dpd_timeout_s, aws_selector=str(hosts[AWS_SELECTOR_OFFSET - 1 + i]),
                              azure_selector=str(hosts[AZURE_SELECTOR_OFFSET - 1 + i]), aws_psk=psk, azure_psk=psk))
    # Inside Azure: the VPN gateway and the ExpressRoute gateway (iBGP, ASN 65515); the ExpressRoute gateway
    # prefers ExpressRoute, the VPN gateway passes on what the tunnels bring with itself as next hop.
    gw_addr, vpn_addr = b.internal_pair()
    b.link(f"{ERGW}~{VPNGW}", "internal", ergw, gw_addr, vpngw, vpn_addr)
    _peer(ergw, gw_addr, vpngw, vpn_addr, description="VPN and ExpressRoute gateways, GatewaySubnet",
          keepalive_s=INTERNAL_KEEPALIVE_S, hold_s=INTERNAL_HOLD_S, a_advertises=to_aws, b_advertises=to_azure,
          a_local_pref=VPN_LOCAL_PREF, b_nh_self=True, backup=True)
    return tunnels


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
        if n.next_hop_self:
            lines.append(f"  neighbor {n.address} next-hop-self")
        if n.max_prefixes is not None:
            # `force` counts every route received, filtered or not, as the providers count them;
            # without `restart` the session stays down until cleared, as AWS keeps it idle.
            lines.append(f"  neighbor {n.address} maximum-prefix {n.max_prefixes} force")
    lines += [" exit-address-family", "exit", "!"]
    # Filters are named after the peer node: several sessions to one node (a VPN's tunnels) share them.
    for n in {n.peer_node: n for n in node.neighbors}.values():
        to, never = prefix_list("TO", n.peer_node), prefix_list("NOT-TO", n.peer_node)
        lines += [f"ip prefix-list {to} seq {5 * (i + 1)} permit {p}" for i, p in enumerate(n.advertise or ())]
        lines += [f"ip prefix-list {never} seq {5 * (i + 1)} permit {p}" for i, p in enumerate(n.suppress)]
        lines += [f"route-map {route_map('FROM', n.peer_node)} permit 10",
                  *([f" set local-preference {n.local_pref}"] if n.local_pref is not None else []), "exit"]
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


# --- the VPN backup's IPsec ---------------------------------------------------------------------------
#
# This kernel has no ESP (module docstring), so each end of the VPN runs strongSwan's charon with the
# kernel-libipsec backend: ESP in userspace over a TUN device, always UDP-encapsulated ("The resulting
# ESP packets are usually sent over the UDP sockets the daemon uses for IKE traffic, that is, the plugin
# enforces UDP encapsulation", https://docs.strongswan.org/docs/latest/plugins/kernel-libipsec.html).
# One IKEv2 SA and one tunnel-mode CHILD_SA per tunnel, between the two outside addresses, whose traffic
# selectors are the tunnel's two protected /32s (Tunnel.aws_selector, azure_selector): charon routes the
# peer's /32 into its TUN device (table 220), the tunnel's VXLAN runs between the two /32s, so every
# frame of the tunnel (BGP and data) crosses the internet as ESP in UDP/4500 and nothing else can.

#: Proposals both clouds accept by default: Azure's default IKEv2 offers are AES256/AES128 with SHA1/SHA256
#: and DH group 2 (modp1024) in phase 1, and in phase 2 AES256-SHA256 without PFS among them
#: (https://learn.microsoft.com/en-us/azure/virtual-wan/virtual-wan-ipsec, "Default IPsec policies";
#: https://learn.microsoft.com/en-us/azure/vpn-gateway/vpn-gateway-about-compliance-crypto: "the IKEv2 main
#: mode policies for Azure VPN gateways utilize only Diffie-Hellman Group 2"); AWS accepts AES256, SHA2-256
#: and DH group 2 in both phases (VpnTunnelOptionsSpecification Phase1/Phase2EncryptionAlgorithms,
#: IntegrityAlgorithms, DHGroupNumbers; whether AWS insists on PFS in phase 2 those pages do not say, and
#: the lab takes Azure's initiator offer,
#: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_VpnTunnelOptionsSpecification.html).
IKE_PROPOSAL = "aes256-sha256-modp1024"
ESP_PROPOSAL = "aes256-sha256"
#: Dead-peer detection: charon sends an R_U_THERE every dpd_delay (swanctl.conf
#: connections.<conn>.dpd_delay; with the userspace backend it sees no ESP use times, so it asks whether or
#: not ESP flowed), then retransmits it and gives up after
#: retransmit_timeout * sum(retransmit_base ** n for n in 0..retransmit_tries) seconds
#: (https://docs.strongswan.org/docs/latest/config/retransmission.html). :func:`retransmit_timeout` sizes
#: that to the plan's DPD timeout (AWS DPDTimeoutSeconds, Azure dpdTimeoutSeconds) less dpd_delay, as AWS
#: defines it: "A DPD timeout of 40 seconds means that the VPN endpoint will consider the peer dead 30
#: seconds after the first failed keep-alive"
#: (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyVpnTunnelOptionsSpecification.html).
#: A dead peer is so declared dead between ``dpd_timeout - dpd_delay`` and ``dpd_timeout`` after its last
#: packet, depending on where in the DPD interval it died.
DPD_DELAY_S = 10
RETRANSMIT_TRIES = 5
RETRANSMIT_BASE = 1.4
#: The plugins charon loads (load_modular = no): crypto for the proposals, PSK, the userspace ESP
#: backend (which still needs kernel-netlink for addresses and routes), UDP sockets, vici for swanctl.
CHARON_PLUGINS = ("random nonce aes sha1 sha2 hmac kdf pem pkcs1 pubkey x509 gmp kernel-libipsec kernel-netlink "
                  "socket-default vici")
#: Inside charon's own mount namespace its node's IPsec directory (:func:`ipsec_dir`) is mounted on /run,
#: where charon keeps its pid file (/var/run/charon.pid, fixed at build time): one charon per node.
CHARON_RUN = "/run"


def ipsec_dir(node: str) -> str:
    """Where a node's charon keeps its configuration, vici socket, pid file and log (seen from the lab)."""
    return f"{RUN_DIR}/{node}/ipsec"


def retransmit_timeout(dpd_timeout_s: int) -> float:
    """charon's first retransmission timeout such that an R_U_THERE is given up ``dpd_timeout_s - DPD_DELAY_S``
    after it was sent (see DPD_DELAY_S)."""
    return (dpd_timeout_s - DPD_DELAY_S) / sum(RETRANSMIT_BASE ** n for n in range(RETRANSMIT_TRIES + 1))


def dpd_detection_s(dpd_timeout_s: int) -> tuple[float, float]:
    """The earliest and latest a dead peer is declared dead after its last packet, as configured."""
    give_up = retransmit_timeout(dpd_timeout_s) * sum(RETRANSMIT_BASE ** n for n in range(RETRANSMIT_TRIES + 1))
    return give_up, DPD_DELAY_S + give_up


def ipsec_configs(lab: Lab, node: str) -> dict[str, str]:
    """charon's strongswan.conf and the swanctl.conf of ``node``'s tunnels (empty if it ends none)."""
    ends = [t for t in lab.tunnels if node in (t.aws, t.azure)]
    if not ends:
        return {}
    timeout = retransmit_timeout(ends[0].dpd_timeout_s)
    conf = f"""charon {{
  load_modular = no
  load = {CHARON_PLUGINS}
  port = {IKE_PORT}
  port_nat_t = {NATT_PORT}
  install_routes = yes
  retransmit_timeout = {timeout:.3f}
  retransmit_tries = {RETRANSMIT_TRIES}
  retransmit_base = {RETRANSMIT_BASE}
  retransmit_jitter = 0
  plugins {{
    vici {{
      socket = unix://{CHARON_RUN}/charon.vici
    }}
  }}
  filelog {{
    charon {{
      path = {CHARON_RUN}/charon.log
      time_format = "%H:%M:%S"
      ike_name = yes
      flush_line = yes
      default = 1
    }}
  }}
  syslog {{
    daemon {{
      default = -1
    }}
  }}
}}
"""
    conns, secrets_ = [], []
    for t in ends:
        aws = node == t.aws
        local, remote = (t.aws_outside, t.azure_outside) if aws else (t.azure_outside, t.aws_outside)
        mine, theirs = (t.aws_selector, t.azure_selector) if aws else (t.azure_selector, t.aws_selector)
        # Azure initiates and restarts a tunnel whose peer died; AWS answers and clears (its default
        # DPDTimeoutAction). The plan also sets AWS's startup action to start; in the lab one initiator per
        # tunnel keeps one IKE SA per tunnel (two initiators at once make two).
        start, dpd_action = ("none", "clear") if aws else ("start", "restart")
        conns.append(f"""  {t.id} {{
    version = 2
    local_addrs = {local}
    remote_addrs = {remote}
    encap = yes
    proposals = {IKE_PROPOSAL}
    dpd_delay = {DPD_DELAY_S}s
    keyingtries = 0
    local {{
      auth = psk
      id = {local}
    }}
    remote {{
      auth = psk
      id = {remote}
    }}
    children {{
      {t.id} {{
        mode = tunnel
        local_ts = {mine}/32
        remote_ts = {theirs}/32
        esp_proposals = {ESP_PROPOSAL}
        start_action = {start}
        dpd_action = {dpd_action}
      }}
    }}
  }}
""")
        secrets_.append(f"""  ike-{t.id} {{
    id-local = {local}
    id-remote = {remote}
    secret = "{t.aws_psk if aws else t.azure_psk}"
  }}
""")
    return {"strongswan.conf": conf,
            "swanctl.conf": "connections {\n" + "".join(conns) + "}\nsecrets {\n" + "".join(secrets_) + "}\n"}


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
    # prefix -> [(learned from, AS path, local preference)]
    raw: dict[str, dict[str, list[tuple[str, tuple[int, ...], int]]]] = {n.name: {} for n in lab.routers}

    def rank(path: tuple[str, tuple[int, ...], int]) -> tuple[int, int]:
        return -path[2], len(path[1])  # the highest local preference, then the shortest AS path

    def best(node: str, prefix: str) -> tuple[int, ...] | None:
        paths = raw[node].get(prefix)
        return min(paths, key=rank)[1] if paths else None

    def send(sender: str, receiver: str, prefixes: Iterable[str], *, extra: tuple[int, ...] = (),
             local_pref: int = DEFAULT_LOCAL_PREF, ibgp: bool = False, via: str | None = None) -> None:
        """``sender`` advertises its best path to each prefix (over eBGP prepending its ASN and ``extra``;
        over iBGP unchanged); ``receiver`` gives it ``local_pref``."""
        for prefix in prefixes:
            path = best(sender, prefix)
            if path is None:
                continue
            sender_asn = asn_of[sender]
            assert sender_asn is not None
            full = path if ibgp else (sender_asn, *extra, *path)
            if not ibgp and asn_of[receiver] in full:  # eBGP loop prevention
                continue
            label = peer_label(sender, via) if via else sender
            raw[receiver].setdefault(prefix, []).append((label, full, local_pref))

    def originate(node: str, prefixes: Iterable[str]) -> None:
        for prefix in prefixes:
            raw[node].setdefault(prefix, []).append(("", (), DEFAULT_LOCAL_PREF))

    def prepend(s: Session) -> tuple[int, ...]:
        return (a.microsoft,) * L.MICROSOFT_MAINTENANCE_PREPEND if s.id in drained else ()

    aws_sessions = [s for s in lab.sessions if s.kind == "aws"]
    azure_sessions = [s for s in lab.sessions if s.kind == "azure"]
    originate(lab.azure_edge, lab.azure_prefixes)
    for s in aws_sessions:
        originate(s.cloud, lab.aws_prefixes)
    for fcr in lab.fcrs:
        for iface in fcr.interfaces:
            net = ipaddress.IPv4Interface(iface.address).network
            # Routers do not redistribute IPv4 link-local subnets (RFC 3927; AWS's link pool is one).
            if not net.is_link_local:
                originate(fcr.name, [str(net)])
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
    # The VPN backup: the TGW originates the AWS prefixes toward it; each tunnel carries them to the VPN
    # gateway and the Azure prefixes back, which the TGW and (over iBGP) the ExpressRoute gateway hold at
    # the VPN's lower preference: present, selected only when no private path is left.
    if lab.tunnels and lab.vpn_gateway:
        vpn = lab.vpn_gateway
        originate(lab.aws_edge, lab.aws_prefixes)
        send(lab.azure_edge, vpn, lab.azure_prefixes, ibgp=True)
        for t in lab.tunnels:
            send(t.aws, t.azure, lab.aws_prefixes, via=t.aws_address)
            send(t.azure, t.aws, lab.azure_prefixes, local_pref=VPN_LOCAL_PREF, via=t.azure_address)
        send(vpn, lab.azure_edge, lab.aws_prefixes, local_pref=VPN_LOCAL_PREF, ibgp=True)

    tables: dict[str, Table] = {}
    for node, prefixes in raw.items():
        table: Table = {}
        for prefix, paths in prefixes.items():
            top = min(rank(p) for p in paths)
            table[prefix] = frozenset(Route(peer, " ".join(map(str, p)), rank((peer, p, lp)) == top)
                                      for peer, p, lp in paths)
        tables[node] = table
    return tables


def peer_label(node: str, address: str) -> str:
    """How a route's source is named when a router has several sessions to one node (a VPN's tunnels)."""
    return f"{node} via {address}"


def observed_routes(node: Node, show_bgp: dict[str, object]) -> Table:
    """A router's table from FRR's ``show bgp ipv4 unicast json``."""
    shared = {n.peer_node for n in node.neighbors if sum(m.peer_node == n.peer_node for m in node.neighbors) > 1}
    peers = {n.address: peer_label(n.peer_node, n.address) if n.peer_node in shared else n.peer_node
             for n in node.neighbors}
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
