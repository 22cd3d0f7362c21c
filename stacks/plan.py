"""The address and routing plan: pure, deterministic data derived from a validated spec.

Everything that renders the bridge reads this plan, never the config: the Pulumi components, the
BGP twin, the diagram, the pull-request diff and the tables of ``bridgectl plan``. Nothing here
imports Pulumi.

Conventions (with their sources):

* Transit VIFs: one /30 per router from ``awsLinkPool``; AWS takes the first usable address (.1),
  the FCR, as the Direct Connect "customer", the second (.2) (equinix.md §3 "Addressing
  conventions"; Terraform-Projects-Vipin/FCR-2-AWS tfvars).
* ExpressRoute private peering: two /30s (one /29) from ``azureLinkPool``, primary then secondary;
  on each the provider side (the FCR) takes the first usable address, Microsoft the second
  (MicrosoftDocs expressroute-routing.md; azure.md §2 "Address rules"). The router whose name sorts
  first carries the primary.
* Allocation is stable: a router's /30 slot derives from its name (or an explicit ``linkSlot``),
  never from its position, so adding, removing or reordering routers, VPCs or prefixes never
  renumbers an existing link.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field
from typing import Literal

from . import limits as L
from .dns import Record, zones_of
from .spec import (
    AZURE_SESSION_KEY_ID,
    BGP_KEYS_KEY,
    PLATFORM_PROFILES,
    BridgeSpec,
    CustomerSpec,
    aws_session_key_id,
    endpoint_dns,
    hub_subnets,
    router_link_slot,
)

IPv4Network = ipaddress.IPv4Network
IPv4Interface = ipaddress.IPv4Interface

# When bridge:exchange.equinixAsn is not set, the offline plan and the twin need some FCR ASN;
# the deployed program reads the real one from Equinix (fabric.get_metro). This stand-in is a
# private ASN, moved off any ASN the bridge already uses.
STAND_IN_FCR_ASN = 64999


def short_name(base: str, limit: int = L.EQUINIX_NAME_MAX) -> str:
    """``base`` if it fits, else a prefix and a 4-hex-digit hash of the whole (stable, unique)."""
    if len(base) <= limit:
        return base
    digest = hashlib.sha256(base.encode()).hexdigest()[:4]
    return f"{base[: limit - 5].rstrip('-_')}-{digest}"


@dataclass(frozen=True)
class Peer:
    """One end of a BGP session."""

    name: str
    role: Literal["fcr", "aws", "microsoft"]
    asn: int
    address: IPv4Interface

    @property
    def ip(self) -> ipaddress.IPv4Address:
        return self.address.ip


@dataclass(frozen=True)
class Bfd:
    enabled: bool
    interval_ms: int
    multiplier: int = L.BFD_MULTIPLIER

    @property
    def detect_ms(self) -> int:
        return self.interval_ms * self.multiplier


@dataclass(frozen=True)
class Timers:
    keepalive_s: int
    hold_s: int


@dataclass(frozen=True)
class KeyRef:
    """Where a session's MD5 key comes from; never the key itself."""

    id: str
    source: Literal["generated", "config"]
    min_len: int
    max_len: int
    alphanumeric: bool

    @property
    def config_path(self) -> str | None:
        return f"{BGP_KEYS_KEY}.{self.id}" if self.source == "config" else None

    def describe(self) -> str:
        where = self.config_path if self.source == "config" else "generated secret"
        return f"{where} ({self.min_len}-{self.max_len} chars{', letters and digits' if self.alphanumeric else ''})"


@dataclass(frozen=True)
class BgpSession:
    """A BGP session between an FCR and a cloud edge, as each provider needs it."""

    id: str
    kind: Literal["aws", "azure"]
    router: str
    fcr: Peer
    cloud: Peer
    link: IPv4Network
    vlan: int | None
    vlan_source: str
    key: KeyRef
    bfd: Bfd
    timers: Timers
    fcr_advertises: tuple[IPv4Network, ...]
    cloud_advertises: tuple[IPv4Network, ...]
    max_prefixes_from_fcr: int
    over_limit: str
    equinix_connection: str
    priority: Literal["primary", "secondary"] | None = None


@dataclass(frozen=True)
class AwsLink:
    router: str
    slot: int
    network: IPv4Network
    amazon_address: IPv4Interface
    customer_address: IPv4Interface
    equinix_connection: str
    vif_name: str


@dataclass(frozen=True)
class AzurePeering:
    primary: IPv4Network
    secondary: IPv4Network
    vlan: int
    peer_asn: int
    primary_router: str
    secondary_router: str
    primary_connection: str
    secondary_connection: str


@dataclass(frozen=True)
class Hub:
    cidr: IPv4Network
    gateway_subnet: IPv4Network
    endpoint_subnet: IPv4Network


@dataclass(frozen=True)
class Budget:
    """A count of prefixes checked against a provider limit."""

    name: str
    count: int
    limit: int
    what: str
    source: str

    @property
    def ratio(self) -> float:
        return self.count / self.limit if self.limit else 0.0


@dataclass(frozen=True)
class VpcRoute:
    vpc: str
    route_table_id: str
    destination: IPv4Network


@dataclass(frozen=True)
class RouterPlan:
    name: str
    metro: str
    aws_connection: str
    azure_connections: tuple[str, ...]


@dataclass(frozen=True)
class BridgePlan:
    stack: str
    backbone: str
    aws_region: str
    azure_location: str
    fcr_asn: int
    fcr_asn_source: Literal["config", "stand-in"]
    dxgw_asn: int
    tgw_asn: int | None
    routers: tuple[RouterPlan, ...]
    aws_links: tuple[AwsLink, ...]
    azure: AzurePeering
    hub: Hub
    sessions: tuple[BgpSession, ...]
    aws_prefixes: tuple[IPv4Network, ...]
    azure_prefixes: tuple[IPv4Network, ...]
    budgets: tuple[Budget, ...]
    vpc_routes: tuple[VpcRoute, ...]
    bfd: Bfd
    notes: tuple[str, ...] = field(default=())

    def session(self, session_id: str) -> BgpSession:
        return next(s for s in self.sessions if s.id == session_id)


def _fcr_asn(spec: BridgeSpec) -> tuple[int, Literal["config", "stand-in"]]:
    if spec.exchange.equinix_asn is not None:
        return spec.exchange.equinix_asn, "config"
    used = {spec.aws.direct_connect_gateway_asn, spec.aws.transit_gateway_asn}
    asn = STAND_IN_FCR_ASN
    while asn in used:
        asn -= 1
    return asn, "stand-in"


def _key(spec: BridgeSpec, key_id: str, kind: Literal["aws", "azure"]) -> KeyRef:
    source: Literal["generated", "config"] = "config" if key_id in spec.bgp_auth_keys else "generated"
    if kind == "aws":
        # DX authKey: 6-80 characters (aws.md Q23).
        return KeyRef(key_id, source, L.AWS_MD5_LEN[0], L.AWS_MD5_LEN[1], False)
    # ExpressRoute shared key: at most 25 characters, no special characters (azure.md §4 rule 7);
    # it is also the FCR's key on both Azure sessions, so both rules apply.
    return KeyRef(key_id, source, L.AWS_MD5_LEN[0], L.AZURE_MD5_MAX_LEN, True)


def connection_names(stack: str, router: str) -> tuple[str, str, str]:
    """Equinix connection names (<= 24 characters) of a router: to AWS, ER primary, ER secondary.

    The stack is part of the name: the AWS side finds its hosted connection by this name, so two
    stacks in one AWS account must not share it.
    """
    return (short_name(f"{stack}-{router}-aws"), short_name(f"{stack}-{router}-er-pri"),
            short_name(f"{stack}-{router}-er-sec"))


def plan_bridge(spec: BridgeSpec) -> BridgePlan:
    """Derive the address and routing plan of a validated bridge spec."""
    aws, ex, az, ad = spec.aws, spec.exchange, spec.azure, spec.addressing
    fcr_asn, asn_source = _fcr_asn(spec)
    bfd = Bfd(ex.bfd.enabled, ex.bfd.interval_ms)
    aws_prefixes = tuple(v.cidr for v in aws.vpcs)
    hub_pair = hub_subnets(az.hub_cidr, az.gateway_sku, az.endpoint_subnet_prefix_length)
    assert hub_pair is not None, "validated spec"
    hub = Hub(az.hub_cidr, *hub_pair)
    azure_prefixes = (az.hub_cidr, *az.extra_prefixes)
    tier_limit = L.AZURE_MAX_PREFIXES_BY_TIER[az.circuit.tier]

    routers = list(ex.routers)
    # The router whose name sorts first takes the primary ExpressRoute link, the other the secondary:
    # a choice by name, not by list position, so reordering the routers never moves a link (and its
    # Equinix connection) to the other router. A single router carries both.
    by_name = sorted(routers, key=lambda r: r.name)
    primary_router = by_name[0].name
    secondary_router = by_name[-1].name
    router_plans = []
    aws_links = []
    sessions: list[BgpSession] = []
    for r in routers:
        aws_conn, er_pri, er_sec = connection_names(spec.stack, r.name)
        azure_conns = tuple(name for name, owner in ((er_pri, primary_router), (er_sec, secondary_router))
                            if owner == r.name)
        router_plans.append(RouterPlan(r.name, r.metro, aws_conn, azure_conns))
        slot = router_link_slot(r, ad.aws_link_pool)
        net = IPv4Network((int(ad.aws_link_pool.network_address) + 4 * slot, 30))
        amazon = IPv4Interface(f"{net.network_address + 1}/30")
        customer = IPv4Interface(f"{net.network_address + 2}/30")
        vif_name = short_name(f"{spec.stack}-{r.name}".lower().replace("_", "-"), 100)
        aws_links.append(AwsLink(r.name, slot, net, amazon, customer, aws_conn, vif_name))
        sessions.append(BgpSession(
            id=f"{r.name}/aws", kind="aws", router=r.name,
            fcr=Peer(r.name, "fcr", fcr_asn, customer),
            cloud=Peer(f"aws-dx-{r.name}", "aws", aws.direct_connect_gateway_asn, amazon),
            link=net, vlan=None, vlan_source="assigned by Equinix on the hosted connection (read from AWS)",
            key=_key(spec, aws_session_key_id(r.name), "aws"), bfd=bfd,
            timers=Timers(L.AWS_BGP_KEEPALIVE_S, L.AWS_BGP_HOLD_S),
            fcr_advertises=azure_prefixes, cloud_advertises=aws_prefixes,
            max_prefixes_from_fcr=L.AWS_MAX_PREFIXES_PER_TRANSIT_VIF,
            over_limit="AWS puts the session idle (BGP down) above 100 routes",
            equinix_connection=aws_conn))

    # One /29 (two /30s) for the private peering: the first of the pool. A bridge has one circuit.
    pair = IPv4Network((ad.azure_link_pool.network_address, 29))
    primary, secondary = pair.subnets(new_prefix=30)
    _, er_pri, _ = connection_names(spec.stack, primary_router)
    _, _, er_sec = connection_names(spec.stack, secondary_router)
    azure = AzurePeering(primary, secondary, az.circuit.peering_vlan, fcr_asn, primary_router,
                         secondary_router, er_pri, er_sec)
    for priority, net, router, conn in (("primary", primary, primary_router, er_pri),
                                        ("secondary", secondary, secondary_router, er_sec)):
        sessions.append(BgpSession(
            id=f"{router}/azure-{priority}", kind="azure", router=router,
            fcr=Peer(router, "fcr", fcr_asn, IPv4Interface(f"{net.network_address + 1}/30")),
            cloud=Peer(f"msee-{priority}", "microsoft", L.MICROSOFT_EDGE_ASN,
                       IPv4Interface(f"{net.network_address + 2}/30")),
            link=net, vlan=az.circuit.peering_vlan, vlan_source="bridge:azure.circuit.peeringVlan",
            key=_key(spec, AZURE_SESSION_KEY_ID, "azure"), bfd=bfd,
            timers=Timers(L.MICROSOFT_BGP_KEEPALIVE_S, L.MICROSOFT_BGP_HOLD_S),
            fcr_advertises=aws_prefixes, cloud_advertises=azure_prefixes,
            max_prefixes_from_fcr=tier_limit,
            over_limit=f"Azure drops the session above {tier_limit} routes ({az.circuit.tier})",
            equinix_connection=conn, priority=priority))  # type: ignore[arg-type]

    budgets = [
        Budget("azure-to-aws", len(azure_prefixes), L.AWS_MAX_PREFIXES_PER_TRANSIT_VIF,
               "Azure prefixes into AWS per transit VIF session", "AWS DX quotas (aws.md Q1)"),
        Budget("aws-to-azure", len(aws_prefixes), tier_limit,
               f"AWS prefixes into Azure private peering ({az.circuit.tier})",
               "ExpressRoute limits (azure.md §4 rule 8)"),
        Budget("gateway-learned", len(aws_prefixes), L.GATEWAY_MAX_LEARNED_ROUTES[az.gateway_sku],
               f"routes the {az.gateway_sku} gateway learns", "ER gateway performance (azure.md §3.4)"),
        Budget("gateway-advertised", len(azure_prefixes), L.AZURE_MAX_PREFIXES_TO_ONPREM,
               "VNet prefixes the gateway advertises", "ExpressRoute limits (azure.md §4 rule 10)"),
    ]
    if aws.backbone == "transit-gateway":
        budgets.insert(2, Budget("dxgw-allowed", len(aws_prefixes), L.AWS_MAX_ALLOWED_PREFIXES_PER_ASSOCIATION,
                                 "allowed prefixes on the DX gateway association", "AWS DX quotas (aws.md Q2)"))
    pkg_limit = L.FCR_PACKAGE_MAX_IPV4_ROUTES.get(ex.package)
    if pkg_limit:
        budgets.append(Budget("fcr-routes", len(aws_prefixes) + len(azure_prefixes), pkg_limit,
                              f"IPv4 routes in the FCR {ex.package} package", "Equinix FCR API (equinix.md §1)"))
    vpc_routes = tuple(VpcRoute(v.name, rt, dest) for v in aws.vpcs for rt in v.route_table_ids
                       for dest in azure_prefixes)
    notes = []
    if asn_source == "stand-in":
        notes.append(f"FCR ASN {fcr_asn} is a stand-in: Equinix assigns the metro's ASN, which the program "
                     "reads at deploy time; set bridge:exchange.equinixAsn to pin it.")
    if len(routers) == 1:
        notes.append(f"Single router {routers[0].name}: it carries both ExpressRoute links and the only "
                     "transit VIF; losing it cuts AWS from Azure.")
    return BridgePlan(
        stack=spec.stack, backbone=aws.backbone, aws_region=spec.aws_region, azure_location=spec.azure_location,
        fcr_asn=fcr_asn, fcr_asn_source=asn_source, dxgw_asn=aws.direct_connect_gateway_asn,
        tgw_asn=aws.transit_gateway_asn if aws.backbone == "transit-gateway" else None,
        routers=tuple(router_plans), aws_links=tuple(aws_links), azure=azure, hub=hub,
        sessions=tuple(sessions), aws_prefixes=aws_prefixes, azure_prefixes=azure_prefixes,
        budgets=tuple(budgets), vpc_routes=vpc_routes, bfd=bfd, notes=tuple(notes))


# --- customer plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EndpointPlan:
    name: str
    platform: str
    cloud: str
    kind: Literal["azure-private-endpoint", "aws-interface-endpoint", "redshift-endpoint"]
    service: str | None
    #: every name the endpoint answers privately: those the stack file lists, then those derived
    #: from them (Snowflake's OCSP names, the browser-authentication name)
    hostnames: tuple[str, ...]
    #: the zone the stack file names (Starburst, Redshift); None for a platform's domain
    zone: str | None
    #: "name": one private zone per name (a platform's domain); "customer": the zone the file names
    zone_owner: Literal["name", "customer"] | None
    ports: tuple[int, ...]
    group_ids: tuple[str, ...]
    vpc: str | None
    allowed_cidrs: tuple[IPv4Network, ...]
    request_message: str
    cluster: str | None = None
    owner_account: str | None = None
    records: tuple[Record, ...] = ()
    #: Azure Databricks: the region whose browser-authentication name this endpoint publishes, through
    #: a second private endpoint to the workspace's browser_authentication sub-resource
    browser_auth_region: str | None = None

    @property
    def zones(self) -> tuple[str, ...]:
        """The private zones the endpoint's names live in (created by its customer stack)."""
        declared = (self.zone,) if self.zone_owner == "customer" and self.zone else ()
        return tuple(dict.fromkeys((*declared, *zones_of(self.records))))


@dataclass(frozen=True)
class CustomerPlan:
    stack: str
    customer: str
    bridge_stack: str
    endpoints: tuple[EndpointPlan, ...]
    #: every Route 53 private hosted zone the customer stack creates, associated with every SaaS VPC
    zones: tuple[str, ...]


def plan_customer(spec: CustomerSpec, bridge: BridgeSpec) -> CustomerPlan:
    """Derive a customer's endpoints from its spec and its (validated) bridge."""
    saas_cidrs = tuple(v.cidr for v in bridge.aws.vpcs)
    default_vpc = bridge.aws.vpcs[0].name
    endpoints = []
    for ep in spec.endpoints:
        profile = PLATFORM_PROFILES[(ep.platform, ep.cloud)]
        owner: Literal["name", "customer"] | None = None
        if profile.domain is not None:
            owner = "name"
        elif ep.zone is not None:
            owner = "customer"
        if ep.cloud == "azure":
            kind: Literal["azure-private-endpoint", "aws-interface-endpoint", "redshift-endpoint"] = \
                "azure-private-endpoint"
        elif ep.platform == "redshift" and ep.cluster:
            kind = "redshift-endpoint"
        else:
            kind = "aws-interface-endpoint"
        # Azure caps a private endpoint's request message at 140 characters (azure.md §4 rule 24).
        what = ep.name if ep.name == ep.platform else f"{ep.name}, {ep.platform}"
        message = f"{spec.bridge_stack} bridge: private access for {spec.id} ({what})"[:140]
        records = endpoint_dns(ep, bridge.azure_location)
        endpoints.append(EndpointPlan(
            name=ep.name, platform=ep.platform, cloud=ep.cloud, kind=kind, service=ep.service,
            hostnames=tuple(r.name for r in records) if records else ep.hostnames,
            zone=ep.zone if owner == "customer" else None, zone_owner=owner, ports=profile.ports,
            group_ids=profile.group_ids, vpc=(ep.vpc or default_vpc) if ep.cloud == "aws" else None,
            allowed_cidrs=saas_cidrs, request_message=message, cluster=ep.cluster,
            owner_account=ep.owner_account, records=records,
            browser_auth_region=(ep.workspace_region or bridge.azure_location) if ep.browser_authentication else None))
    zones = tuple(dict.fromkeys(z for e in endpoints for z in e.zones))
    return CustomerPlan(spec.stack, spec.id, spec.bridge_stack, tuple(endpoints), zones)
