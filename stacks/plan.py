"""The address and routing plan: pure, deterministic data derived from a validated spec.

Everything that renders the bridge reads this plan, never the config: the Pulumi components, the
BGP twin, the diagram, the pull-request diff and the tables of ``bridgectl plan``. Nothing here
imports Pulumi.

Conventions (with their sources):

* Transit VIFs: one /30 per router from ``awsLinkPool``; AWS takes the first usable address (.1),
  the FCR, as the Direct Connect "customer", the second (.2) (docs/sources.md#equinix-3 "Addressing
  conventions"; Terraform-Projects-Vipin/FCR-2-AWS tfvars).
* ExpressRoute private peering: two /30s (one /29) per circuit from ``azureLinkPool``, primary then
  secondary, the first /29 for ``bridge:azure.circuit`` and the next for ``secondCircuit``;
  on each the provider side (the FCR) takes the first usable address, Microsoft the second
  (MicrosoftDocs expressroute-routing.md; docs/sources.md#azure-2 "Address rules"). Of the routers of a
  circuit (those in its metro), the one whose name sorts first carries the primary.
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
    SECOND_AZURE_SESSION_KEY_ID,
    BridgeSpec,
    CustomerSpec,
    SinglePoint,
    aws_session_key_id,
    circuits_of,
    endpoint_dns,
    hub_subnets,
    router_circuits,
    router_link_slot,
    single_points,
    spoke_subnet,
)
from .vpn import VpnBackupPlan, backup_budgets, plan_vpn_backup

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
    role: Literal["fcr", "aws", "microsoft", "azure-vpn"]
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
    #: 0 for bridge:azure.circuit, 1 for bridge:azure.secondCircuit
    circuit: int = 0
    peering_location: str = ""
    metro: str = ""
    tier: str = ""
    key_id: str = AZURE_SESSION_KEY_ID

    @property
    def label(self) -> str:
        """How docs, tables and the twin name the circuit: ``circuit`` or ``secondCircuit``."""
        return "circuit" if self.circuit == 0 else "secondCircuit"

    @property
    def routers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.primary_router, self.secondary_router)))


@dataclass(frozen=True)
class Hub:
    cidr: IPv4Network
    gateway_subnet: IPv4Network
    endpoint_subnet: IPv4Network


@dataclass(frozen=True)
class SpokePlan:
    """An endpoint spoke (bridge:azure.endpointSpokes): a VNet peered to the hub, using the hub's
    ExpressRoute gateway, whose address space the gateway advertises over the circuit."""

    name: str
    cidr: IPv4Network
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
    #: every ExpressRoute circuit; the first is ``azure``
    circuits: tuple[AzurePeering, ...] = ()
    #: the parts whose loss alone cuts AWS from Azure (stacks.spec.single_points)
    single_points: tuple[SinglePoint, ...] = ()
    #: the FCR ASN of each metro, in the order of the circuits
    metro_asns: tuple[tuple[str, int], ...] = ()
    #: the endpoint spokes, in the order of the stack file (named, never numbered)
    spokes: tuple[SpokePlan, ...] = ()
    #: the IPsec backup path (bridge:vpnBackup, stacks/vpn.py); None without one
    backup: VpnBackupPlan | None = None

    def endpoint_subnet(self, spoke: str | None) -> IPv4Network:
        """The endpoint subnet of the hub (``None``) or of an endpoint spoke."""
        if spoke is None:
            return self.hub.endpoint_subnet
        return next(s.endpoint_subnet for s in self.spokes if s.name == spoke)

    def session(self, session_id: str) -> BgpSession:
        return next(s for s in self.sessions if s.id == session_id)

    def circuit_of(self, router: str) -> AzurePeering:
        return next(c for c in self.circuits if router in c.routers)


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
        # DX authKey: 6-80 characters (docs/sources.md#aws-q23).
        return KeyRef(key_id, source, L.AWS_MD5_LEN[0], L.AWS_MD5_LEN[1], False)
    # ExpressRoute shared key: at most 25 characters, no special characters (docs/sources.md#azure-4-rule-7);
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
    spokes = []
    for sp in az.endpoint_spokes:
        subnet = spoke_subnet(sp, az.endpoint_subnet_prefix_length)
        assert subnet is not None, "validated spec"
        spokes.append(SpokePlan(sp.name, sp.cidr, subnet))
    # With gateway transit the hub's ExpressRoute gateway advertises the spokes' address spaces over the
    # circuit like the hub's own (L.AZURE_PEERING_OVERVIEW_URL): they reach AWS through the same route
    # filters, TGW and VPC routes, and count in the same budgets.
    azure_prefixes = (az.hub_cidr, *(sp.cidr for sp in spokes), *az.extra_prefixes)
    tier_limit = L.AZURE_MAX_PREFIXES_BY_TIER[az.circuit.tier]

    routers = list(ex.routers)
    circuit_specs = circuits_of(az)
    owner = router_circuits(routers, circuit_specs)
    # The FCR ASN is per metro (docs/sources.md#equinix-1): the first circuit's metro has
    # bridge:exchange.equinixAsn (or the stand-in), the second's secondEquinixAsn (or a stand-in below it).
    asn_of_circuit = [fcr_asn]
    if len(circuit_specs) > 1:
        second_asn = ex.second_equinix_asn
        if second_asn is None:
            used = {aws.direct_connect_gateway_asn, aws.transit_gateway_asn, fcr_asn}
            second_asn = STAND_IN_FCR_ASN - 1
            while second_asn in used:
                second_asn -= 1
        asn_of_circuit.append(second_asn)
    # The router whose name sorts first takes the primary ExpressRoute link of its circuit, the other the
    # secondary: a choice by name, not by list position, so reordering the routers never moves a link (and
    # its Equinix connection) to the other router. A single router carries both.
    carriers = [sorted((r for r in routers if owner[r.name] == n), key=lambda r: r.name)
                for n in range(len(circuit_specs))]
    router_plans = []
    aws_links = []
    sessions: list[BgpSession] = []
    for r in routers:
        n = owner[r.name]
        mine = carriers[n]
        aws_conn, er_pri, er_sec = connection_names(spec.stack, r.name)
        azure_conns = tuple(name for name, who in ((er_pri, mine[0].name), (er_sec, mine[-1].name))
                            if who == r.name)
        router_plans.append(RouterPlan(r.name, r.metro, aws_conn, azure_conns))
        slot = router_link_slot(r, ad.aws_link_pool)
        net = IPv4Network((int(ad.aws_link_pool.network_address) + 4 * slot, 30))
        amazon = IPv4Interface(f"{net.network_address + 1}/30")
        customer = IPv4Interface(f"{net.network_address + 2}/30")
        vif_name = short_name(f"{spec.stack}-{r.name}".lower().replace("_", "-"), 100)
        aws_links.append(AwsLink(r.name, slot, net, amazon, customer, aws_conn, vif_name))
        sessions.append(BgpSession(
            id=f"{r.name}/aws", kind="aws", router=r.name,
            fcr=Peer(r.name, "fcr", asn_of_circuit[n], customer),
            cloud=Peer(f"aws-dx-{r.name}", "aws", aws.direct_connect_gateway_asn, amazon),
            link=net, vlan=None, vlan_source="assigned by Equinix on the hosted connection (read from AWS)",
            key=_key(spec, aws_session_key_id(r.name), "aws"), bfd=bfd,
            timers=Timers(L.AWS_BGP_KEEPALIVE_S, L.AWS_BGP_HOLD_S),
            fcr_advertises=azure_prefixes, cloud_advertises=aws_prefixes,
            max_prefixes_from_fcr=L.AWS_MAX_PREFIXES_PER_TRANSIT_VIF,
            over_limit="AWS puts the session idle (BGP down) above 100 routes",
            equinix_connection=aws_conn))

    # One /29 (two /30s) per circuit for its private peering: the first of the pool for the first
    # circuit, the next for the second, so adding the second renumbers nothing.
    circuits: list[AzurePeering] = []
    for n, c in enumerate(circuit_specs):
        pair = IPv4Network((int(ad.azure_link_pool.network_address) + 8 * n, 29))
        primary, secondary = pair.subnets(new_prefix=30)
        primary_router, secondary_router = carriers[n][0].name, carriers[n][-1].name
        _, er_pri, _ = connection_names(spec.stack, primary_router)
        _, _, er_sec = connection_names(spec.stack, secondary_router)
        key_id = AZURE_SESSION_KEY_ID if n == 0 else SECOND_AZURE_SESSION_KEY_ID
        circuit = AzurePeering(primary, secondary, c.peering_vlan, asn_of_circuit[n], primary_router,
                               secondary_router, er_pri, er_sec, circuit=n, peering_location=c.peering_location,
                               metro=carriers[n][0].metro, tier=c.tier, key_id=key_id)
        circuits.append(circuit)
        c_limit = L.AZURE_MAX_PREFIXES_BY_TIER[c.tier]
        # The first circuit's Microsoft edges keep their names; the second's are numbered.
        edge = "msee" if n == 0 else f"msee{n + 1}"
        vlan_source = "bridge:azure.circuit.peeringVlan" if n == 0 else "bridge:azure.secondCircuit.peeringVlan"
        for priority, net, router, conn in (("primary", primary, primary_router, er_pri),
                                            ("secondary", secondary, secondary_router, er_sec)):
            sessions.append(BgpSession(
                id=f"{router}/azure-{priority}", kind="azure", router=router,
                fcr=Peer(router, "fcr", asn_of_circuit[n], IPv4Interface(f"{net.network_address + 1}/30")),
                cloud=Peer(f"{edge}-{priority}", "microsoft", L.MICROSOFT_EDGE_ASN,
                           IPv4Interface(f"{net.network_address + 2}/30")),
                link=net, vlan=c.peering_vlan, vlan_source=vlan_source,
                key=_key(spec, key_id, "azure"), bfd=bfd,
                timers=Timers(L.MICROSOFT_BGP_KEEPALIVE_S, L.MICROSOFT_BGP_HOLD_S),
                fcr_advertises=aws_prefixes, cloud_advertises=azure_prefixes,
                max_prefixes_from_fcr=c_limit,
                over_limit=f"Azure drops the session above {c_limit} routes ({c.tier})",
                equinix_connection=conn, priority=priority))  # type: ignore[arg-type]
    azure = circuits[0]

    budgets = [
        Budget("azure-to-aws", len(azure_prefixes), L.AWS_MAX_PREFIXES_PER_TRANSIT_VIF,
               "Azure prefixes into AWS per transit VIF session", L.AWS_DX_QUOTAS_URL),
        Budget("aws-to-azure", len(aws_prefixes), tier_limit,
               f"AWS prefixes into Azure private peering ({az.circuit.tier})",
               L.EXPRESSROUTE_LIMITS_URL),
        Budget("gateway-learned", len(aws_prefixes), L.GATEWAY_MAX_LEARNED_ROUTES[az.gateway_sku],
               f"routes the {az.gateway_sku} gateway learns", L.EXPRESSROUTE_GATEWAY_PERFORMANCE_URL),
        Budget("gateway-advertised", len(azure_prefixes), L.AZURE_MAX_PREFIXES_TO_ONPREM,
               "VNet prefixes the gateway advertises", L.EXPRESSROUTE_LIMITS_URL),
    ]
    if aws.backbone == "transit-gateway":
        budgets.insert(2, Budget("dxgw-allowed", len(aws_prefixes), L.AWS_MAX_ALLOWED_PREFIXES_PER_ASSOCIATION,
                                 "allowed prefixes on the DX gateway association", L.AWS_DX_QUOTAS_URL))
    pkg_limit = L.FCR_PACKAGE_MAX_IPV4_ROUTES.get(ex.package)
    if len(circuits) > 1 and circuits[1].tier != az.circuit.tier:
        second_limit = L.AZURE_MAX_PREFIXES_BY_TIER[circuits[1].tier]
        budgets.insert(2, Budget("aws-to-azure-2", len(aws_prefixes), second_limit,
                                 f"AWS prefixes into the second circuit's private peering ({circuits[1].tier})",
                                 L.EXPRESSROUTE_LIMITS_URL))
    if pkg_limit:
        budgets.append(Budget("fcr-routes", len(aws_prefixes) + len(azure_prefixes), pkg_limit,
                              f"IPv4 routes in the FCR {ex.package} package", L.EQUINIX_FCR_API_URL))
    vpc_routes = tuple(VpcRoute(v.name, rt, dest) for v in aws.vpcs for rt in v.route_table_ids
                       for dest in azure_prefixes)
    notes = []
    if asn_source == "stand-in":
        notes.append(f"FCR ASN {fcr_asn} is a stand-in: Equinix assigns the metro's ASN, which the program "
                     "reads at deploy time; set bridge:exchange.equinixAsn to pin it.")
    if len(routers) == 1:
        notes.append(f"Single router {routers[0].name}: it carries both ExpressRoute links and the only "
                     "transit VIF; losing it " + ("leaves only the IPsec backup between AWS and Azure."
                                                  if spec.vpn_backup is not None else "cuts AWS from Azure."))
    if len(circuits) > 1 and ex.second_equinix_asn is None:
        notes.append(f"FCR ASN {circuits[1].peer_asn} of metro {circuits[1].metro} is a stand-in: set "
                     "bridge:exchange.secondEquinixAsn to pin it.")
    spofs = tuple(single_points(tuple(routers), circuit_specs, backup=spec.vpn_backup is not None))
    backup = plan_vpn_backup(spec, aws_prefixes, azure_prefixes, hub)
    budgets += backup_budgets(backup)
    return BridgePlan(
        stack=spec.stack, backbone=aws.backbone, aws_region=spec.aws_region, azure_location=spec.azure_location,
        fcr_asn=fcr_asn, fcr_asn_source=asn_source, dxgw_asn=aws.direct_connect_gateway_asn,
        tgw_asn=aws.transit_gateway_asn if aws.backbone == "transit-gateway" else None,
        routers=tuple(router_plans), aws_links=tuple(aws_links), azure=azure, hub=hub,
        sessions=tuple(sessions), aws_prefixes=aws_prefixes, azure_prefixes=azure_prefixes,
        budgets=tuple(budgets), vpc_routes=vpc_routes, bfd=bfd, notes=tuple(notes), circuits=tuple(circuits),
        single_points=spofs, metro_asns=tuple((c.metro, c.peer_asn) for c in circuits), spokes=tuple(spokes),
        backup=backup)


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
    #: the name its cloud resources carry: the first name of a renamed endpoint (renamedFrom), else
    #: its name; a rename changes nothing in the cloud
    identity: str = ""

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
    #: the endpoint spoke that holds the Azure private endpoints (None: the hub)
    endpoint_spoke: str | None = None


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
        # Azure caps a private endpoint's request message at 140 characters (docs/sources.md#azure-4-rule-24).
        identity = ep.renamed_from or ep.name
        what = identity if identity == ep.platform else f"{identity}, {ep.platform}"
        message = f"{spec.bridge_stack} bridge: private access for {spec.id} ({what})"[:140]
        records = endpoint_dns(ep, bridge.azure_location)
        endpoints.append(EndpointPlan(
            name=ep.name, platform=ep.platform, cloud=ep.cloud, kind=kind, service=ep.service,
            hostnames=tuple(r.name for r in records) if records else ep.hostnames,
            zone=ep.zone if owner == "customer" else None, zone_owner=owner, ports=profile.ports,
            group_ids=profile.group_ids, vpc=(ep.vpc or default_vpc) if ep.cloud == "aws" else None,
            allowed_cidrs=saas_cidrs, request_message=message, cluster=ep.cluster,
            owner_account=ep.owner_account, records=records,
            browser_auth_region=(ep.workspace_region or bridge.azure_location) if ep.browser_authentication else None,
            identity=identity))
    zones = tuple(dict.fromkeys(z for e in endpoints for z in e.zones))
    return CustomerPlan(spec.stack, spec.id, spec.bridge_stack, tuple(endpoints), zones, spec.endpoint_spoke)
