"""The twin's lab: nodes, links and BGP neighbours as plain data.

:mod:`twin.render` builds a :class:`Lab` from a bridge plan; :mod:`twin.lab` runs it inside a
sandbox. The lab crosses that boundary as JSON (``Lab.to_json`` / ``Lab.from_json``), so the sandbox
runs exactly what the host rendered and ``bridgectl twin --configs DIR`` can show it.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, Union

Role = Literal["host", "tgw", "dx", "fcr", "msee", "ergw", "vpngw"]
LinkKind = Literal["transit-vif", "expressroute", "internal", "host", "internet", "vpn-tunnel"]


@dataclass(frozen=True)
class Interface:
    """One end of a veth link, inside its node's namespace."""

    name: str
    address: str  # "169.254.100.221/30"
    link: str
    peer_node: str
    description: str
    #: further addresses on the same interface (the VPN endpoints' outside addresses on the internet link)
    extra: tuple[str, ...] = ()


@dataclass(frozen=True)
class Link:
    """A point-to-point veth pair between two nodes."""

    id: str
    kind: LinkKind
    a: str
    a_iface: str
    b: str
    b_iface: str
    session: str | None = None  # the plan session that runs over this link


@dataclass(frozen=True)
class BfdProfile:
    name: str
    interval_ms: int
    multiplier: int


@dataclass(frozen=True)
class Neighbor:
    """A BGP neighbour as one node configures it."""

    peer_node: str
    address: str
    local_address: str
    remote_asn: int
    description: str
    keepalive_s: int
    hold_s: int
    session: str | None = None  # plan session id; None for a provider-internal peering
    bfd_profile: str | None = None
    md5: str | None = None
    # Routes this node accepts from the neighbour before it tears the session down.
    max_prefixes: int | None = None
    # Prefixes this node may advertise to the neighbour; None means everything it has.
    advertise: tuple[str, ...] | None = None
    # Prefixes never advertised to the neighbour, whatever ``advertise`` says.
    suppress: tuple[str, ...] = ()
    # Local preference given to every route learned from the neighbour (None: BGP's default, 100).
    local_pref: int | None = None
    # iBGP: this node gives its own address as the next hop of what it passes on.
    next_hop_self: bool = False
    # A session of the VPN backup (a tunnel's, or the VPN gateway's inside Azure), not of the private path.
    backup: bool = False


@dataclass(frozen=True)
class Node:
    """A network namespace: a router (FRR) or a host (a probe endpoint)."""

    name: str
    role: Role
    description: str
    interfaces: tuple[Interface, ...]
    routes: tuple[str, ...] = ()  # `ip route add` arguments, installed before FRR starts
    asn: int | None = None
    router_id: str | None = None
    originates: tuple[str, ...] = ()  # BGP network statements
    redistribute_connected: bool = False
    maximum_paths: int = 1
    neighbors: tuple[Neighbor, ...] = ()
    bfd_profiles: tuple[BfdProfile, ...] = ()

    @property
    def is_router(self) -> bool:
        return self.role != "host"

    def neighbor_at(self, address: str) -> Neighbor | None:
        return next((n for n in self.neighbors if n.address == address), None)

    def neighbor_to(self, peer_node: str) -> Neighbor:
        return next(n for n in self.neighbors if n.peer_node == peer_node)

    def interface_to(self, peer_node: str) -> Interface:
        return next(i for i in self.interfaces if i.peer_node == peer_node)


@dataclass(frozen=True)
class Session:
    """A BGP session of the plan (FCR to a cloud edge), as the twin runs it."""

    id: str
    kind: Literal["aws", "azure"]
    fcr: str  # node names
    cloud: str
    link: str
    fcr_address: str
    cloud_address: str
    bfd: bool
    detect_ms: int | None
    keepalive_s: int
    hold_s: int
    max_prefixes: int
    fcr_advertises: tuple[str, ...]
    cloud_advertises: tuple[str, ...]
    priority: str | None = None
    #: the plan's MD5 key id: sessions with one id share one key (one per ExpressRoute peering)
    key_id: str = ""
    #: the ExpressRoute circuit an Azure session belongs to (0 or 1); None for a transit VIF
    circuit: int | None = None


@dataclass(frozen=True)
class Tunnel:
    """One tunnel of the VPN backup: an encapsulated link between an AWS outside address and an Azure
    gateway instance's public address over the lab's internet link, with a BGP session over it."""

    id: str  # the plan's tunnel id (vpn1-t1, ...); also the link id and both ends' interface name
    instance: int  # the Azure gateway instance (0, 1)
    aws: str  # node names: the AWS end (the TGW) and the Azure VPN gateway
    azure: str
    aws_address: str  # inside addresses (BGP)
    azure_address: str
    aws_outside: str  # outside addresses (the IKE peers; ESP in UDP between them)
    azure_outside: str
    vni: int
    keepalive_s: int
    hold_s: int
    dpd_timeout_s: int
    # The tunnel's protected endpoints: a /32 at each end, the VXLAN endpoints and the IPsec SA's
    # traffic selectors (twin.render, "The VPN backup's IPsec").
    aws_selector: str = ""
    azure_selector: str = ""
    # Each end's pre-shared key (the plan gives both ends one key; a test mis-keys one end).
    aws_psk: str = ""
    azure_psk: str = ""


@dataclass(frozen=True)
class Circuit:
    """One ExpressRoute circuit: where it is and which sessions are its links."""

    index: int
    peering_location: str
    metro: str
    sessions: tuple[str, ...]

    @property
    def unit(self) -> str:
        return f"circuit:{self.index}"


@dataclass(frozen=True)
class Metro:
    """The routers that sit in one metro (with the circuit whose peering location is there)."""

    code: str
    routers: tuple[str, ...]


@dataclass(frozen=True)
class SinglePointRef:
    """A single point of failure of the plan (stacks.spec.SinglePoint), as the twin names it."""

    kind: str  # router, aws-device, metro, circuit, peering-location
    name: str

    def describe(self) -> str:
        what = {"router": "router", "aws-device": "the AWS device of router", "metro": "metro",
                "circuit": "the only circuit, at", "peering-location": "the one peering location"}
        return f"{what.get(self.kind, self.kind)} {self.name}"


@dataclass(frozen=True)
class Asns:
    backbone: int
    dxgw: int
    fcr: int
    microsoft: int
    gateway: int


@dataclass(frozen=True)
class Lab:
    """Everything the sandbox needs to build, check and break the bridge."""

    stack: str
    asns: Asns
    nodes: tuple[Node, ...]
    links: tuple[Link, ...]
    sessions: tuple[Session, ...]
    aws_prefixes: tuple[str, ...]
    azure_prefixes: tuple[str, ...]
    vpc_host: str
    vpc_address: str
    vnet_host: str
    vnet_address: str
    aws_edge: str
    azure_edge: str
    # Where the prefix-limit scenario takes the extra routes it pushes toward AWS.
    excess_pool: str
    # Sessions rendered with BFD off (the hold-timer lab); empty for the bridge as planned.
    bfd_off: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())
    circuits: tuple[Circuit, ...] = ()
    metros: tuple[Metro, ...] = ()
    single_points: tuple[SinglePointRef, ...] = ()
    #: the VPN backup's tunnels (empty without a backup)
    tunnels: tuple[Tunnel, ...] = ()
    #: the Azure VPN gateway's node (None without a backup)
    vpn_gateway: str | None = None
    #: False for the IPsec-only comparison lab: no private path, the VPN alone
    private: bool = True

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def session(self, session_id: str) -> Session:
        return next(s for s in self.sessions if s.id == session_id)

    def link(self, link_id: str) -> Link:
        return next(lk for lk in self.links if lk.id == link_id)

    def tunnel(self, tunnel_id: str) -> Tunnel:
        return next(t for t in self.tunnels if t.id == tunnel_id)

    @property
    def routers(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.is_router)

    @property
    def fcrs(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.role == "fcr")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> Lab:
        return from_data(cls, json.loads(text))


T = TypeVar("T")


def from_data(cls: type[T], data: Any) -> T:
    """Rebuild a dataclass tree from ``dataclasses.asdict`` output (lists back to tuples)."""
    return typing.cast(T, _convert(cls, data))


def _convert(tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = typing.get_type_hints(tp)
        kwargs = {f.name: _convert(hints[f.name], value[f.name]) for f in dataclasses.fields(tp)
                  if f.name in value}
        return tp(**kwargs)
    if origin in (Union, types.UnionType):
        if value is None:
            return None
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(options[0], value)
    if origin is tuple:
        (item, *_rest) = typing.get_args(tp)
        return tuple(_convert(item, v) for v in value)
    if origin is dict:
        key_t, val_t = typing.get_args(tp)
        return {_convert(key_t, k): _convert(val_t, v) for k, v in value.items()}
    return value
