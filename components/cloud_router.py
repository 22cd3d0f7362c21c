"""CloudRouter: the Equinix Fabric Cloud Routers, their connections to AWS and Azure, and the DIRECT
and BGP routing protocols on each connection.

It is built in two steps, because the clouds and the exchange depend on each other:

1. the constructor creates the FCRs and their connections: to AWS (which makes a hosted
   connection appear in the SaaS account) and to Azure (primary, then secondary in the primary's
   redundancy group, both keyed by the ExpressRoute circuit's service key);
2. :meth:`CloudRouter.add_routing`, called once the cloud side of each connection exists (AWS: the
   confirmed hosted connection and its transit VIF; Azure: the private peering), creates on each
   connection the DIRECT protocol (the FCR's interface address) and then the BGP protocol (peer
   address and ASN, MD5 key, BFD). Equinix requires DIRECT before BGP (docs/sources.md#equinix-3).

Equinix quirks handled here: names are set explicitly (at most 24 characters; autonames run
longer); ``IP_VC`` and ``CLOUD_ROUTER`` are raw strings (missing from the SDK enums); the provider
silently ignores changes to most of a connection's inputs, so the ones the exchange cannot change
force a replacement (:data:`CONNECTION_REPLACE_ON`), deleting the old connection first since a
duplicate (same service key and priority) cannot coexist; what hangs off a connection or a filter
(routing protocols, filter attachments, rules) is replaced with it, deleted before it in the reverse
order of creation; long custom timeouts for provisioning. docs/equinix-changes.md has the sources.

The AWS side of each AWS connection is identified by the connection itself, never by a name lookup:
Equinix reports the hosted connection it created in AWS as the z-side access point's
``provider_connection_id`` (the ``dxcon-...`` id; Equinix's own example exports it as
``awsDirectConnectId``: equinix/pulumi-equinix ``examples/fabric/connection/python/__main__.py``)
and the VLAN it assigned as the z-side link protocol's VLAN tag. Both are outputs of the Equinix
connection, so everything on the AWS side waits for the Equinix connection to exist, and a deleted
or rejected predecessor with the same name in AWS cannot be picked up by mistake.

Service profiles: every Fabric Cloud Router example of Equinix connects to AWS with the profile
"AWS Direct Connect" (equinix/terraform-equinix-fabric
``examples/cloud-router-2-aws-connection/terraform.tfvars.example``, ``IP_VC`` from a
``CLOUD_ROUTER`` a-side). "AWS Direct Connect - High Capacity" appears only in Equinix's port,
Network Edge and service-token modules (``EVPL_VC`` from ``COLO``/``VD``), where it is chosen at
1 Gbps and more; it is not used for FCR connections here. The profile found is checked against the
metro and the bandwidth before any connection is created.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_equinix import fabric

from ._common import PROTECT, child

CONNECTION_TIMEOUTS = pulumi.CustomTimeouts(create="45m", update="45m", delete="45m")

#: The inputs of a connection that the exchange cannot change in place, each a replacement
#: (docs/equinix-changes.md has the source of each). The provider's update sends only the name,
#: the bandwidth, the a-side VLAN and the notifications; a change anywhere else would be dropped
#: silently, so the resource is replaced instead. Only these leaves: a provider diff on any other
#: part of the a-side or z-side (a computed field the API fills in) replaces nothing.
CONNECTION_REPLACE_ON = (
    "type",
    "project.projectId",
    "aSide.accessPoint.type",
    "aSide.accessPoint.router.uuid",
    "zSide.accessPoint.type",
    "zSide.accessPoint.profile.uuid",
    "zSide.accessPoint.location.metroCode",
    "zSide.accessPoint.sellerRegion",
    "zSide.accessPoint.authenticationKey",
    "zSide.accessPoint.peeringType",
    # A secondary follows its primary's redundancy group: a replaced primary has a new group, and the
    # provider does not move a connection to another group in place.
    "redundancy.group",
    "redundancy.priority",
)
#: A routing protocol and a route filter attachment belong to one connection, a rule to one filter;
#: the provider updates their references in place, a call the Fabric API refuses. They are replaced
#: with their connection or filter, the old one deleted first: a connection holds one DIRECT and
#: one BGP protocol, and one filter per direction (docs/equinix-changes.md).
PROTOCOL_REPLACE_ON = ("connectionUuid", "type")
ATTACHMENT_REPLACE_ON = ("connectionId", "routeFilterId", "direction")
RULE_REPLACE_ON = ("routeFilterId",)
ROUTER_TIMEOUTS = pulumi.CustomTimeouts(create="20m", update="20m", delete="20m")
PROTOCOL_TIMEOUTS = pulumi.CustomTimeouts(create="20m", update="20m", delete="20m")

# Service profiles of the clouds on Equinix Fabric, by name (see the module docstring): one AWS
# profile at every bandwidth for a Fabric Cloud Router.
AWS_PROFILE = "AWS Direct Connect"
AZURE_PROFILE = "Azure ExpressRoute"


@dataclass(frozen=True)
class RouterArgs:
    name: str
    metro: str


@dataclass(frozen=True)
class AwsConnectionArgs:
    router: str
    name: str


@dataclass(frozen=True)
class AzureConnectionArgs:
    router: str
    name: str
    priority: str  # PRIMARY | SECONDARY
    #: which circuit: 0 takes CloudRouterArgs.azure_service_key, 1 ``second_azure_service_key``
    circuit: int = 0


@dataclass(frozen=True)
class CloudRouterArgs:
    project_id: str
    account_number: int
    notification_emails: Sequence[str]
    package: str
    bandwidth_mbps: int
    routers: Sequence[RouterArgs]
    aws_account_id: str
    aws_seller_region: str
    aws_connections: Sequence[AwsConnectionArgs]
    #: the ExpressRoute circuit's service key (a secret)
    azure_service_key: pulumi.Input[str]
    azure_connections: Sequence[AzureConnectionArgs]
    #: what each cloud may advertise: the FCR passes exactly these and nothing else (route filters)
    aws_prefixes: Sequence[str] = ()
    azure_prefixes: Sequence[str] = ()
    #: prefix for route filter names (at most 24 characters with their suffix): the stack's name
    filter_prefix: str = "bridge"
    #: the second ExpressRoute circuit's service key (a secret), for connections with circuit=1
    second_azure_service_key: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class SessionRoutingArgs:
    """DIRECT and BGP on one connection."""

    connection: str              # the connection's name, as given in CloudRouterArgs
    direct_name: str
    bgp_name: str
    equinix_address: str         # the FCR's interface, CIDR form (169.254.100.2/30)
    peer_address: str            # the cloud edge, bare (169.254.100.1)
    peer_asn: pulumi.Input[int]
    auth_key: pulumi.Input[str]
    bfd_enabled: bool
    bfd_interval_ms: int
    #: the cloud side this session needs first (AWS: the transit VIF; Azure: the private peering)
    depends_on: Sequence[pulumi.Resource] = ()


def choose_profile(name: str, profiles: Sequence[Any], metros: Sequence[str], bandwidth_mbps: int) -> str:
    """The uuid of the service profile ``name`` from a lookup's answer, after checking that it serves
    every metro and the bandwidth; a clear error otherwise (never an IndexError)."""
    wanted = ", ".join(sorted(set(metros)))
    matching = [p for p in profiles or [] if getattr(p, "name", name) == name and getattr(p, "uuid", None)]
    if not matching:
        raise pulumi.RunError(
            f'Equinix returned no service profile named "{name}" for this account (needed in metro {wanted}): '
            "check that the Equinix client credentials belong to the account of bridge:exchange.accountNumber "
            f'and that the profile is offered there (`GET /fabric/v4/serviceProfiles` filtered on name "{name}")')
    profile = matching[0]
    served = {str(m.code) for m in getattr(profile, "metros", None) or [] if getattr(m, "code", None)}
    missing = sorted(set(metros) - served) if served else []
    if missing:
        raise pulumi.RunError(
            f'Equinix service profile "{name}" is not offered in metro {", ".join(missing)} '
            f"(it is in {', '.join(sorted(served))}): place bridge:exchange.routers in a metro the profile serves")
    supported = sorted({b for c in getattr(profile, "access_point_type_configs", None) or []
                        for b in (getattr(c, "supported_bandwidths", None) or [])})
    if supported and bandwidth_mbps not in supported:
        raise pulumi.RunError(
            f'Equinix service profile "{name}" does not offer {bandwidth_mbps} Mbps (bridge:exchange.bandwidthMbps); '
            f"it offers {', '.join(str(b) for b in supported)} Mbps: choose one of those")
    return str(profile.uuid)


def _profile_uuid(name: str, metros: Sequence[str], bandwidth_mbps: int, parent: pulumi.Resource) -> pulumi.Output[str]:
    found = fabric.get_service_profiles_output(
        filter=fabric.GetServiceProfilesFilterArgs(property="/name", operator="=", values=[name]),
        opts=pulumi.InvokeOutputOptions(parent=parent))
    return found.data.apply(lambda profiles: choose_profile(name, profiles, metros, bandwidth_mbps))


def _z_access_point(z_side: Any) -> Any:
    return getattr(z_side, "access_point", None) if z_side is not None else None


def hosted_connection_id(connection: str, z_side: Any) -> str:
    """The AWS hosted connection (``dxcon-...``) Equinix created for ``connection``, from its z-side."""
    found = getattr(_z_access_point(z_side), "provider_connection_id", None)
    if not found:
        raise pulumi.RunError(
            f"Equinix connection {connection} reports no AWS hosted connection id (zSide.accessPoint."
            "providerConnectionId) yet: Equinix has not finished creating it in AWS. Check the connection's "
            "provider status in the Equinix portal and run `pulumi up` again once it shows PENDING_APPROVAL")
    return str(found)


def hosted_connection_vlan(connection: str, z_side: Any) -> int:
    """The VLAN Equinix assigned to the AWS hosted connection of ``connection``, from its z-side."""
    protocol = getattr(_z_access_point(z_side), "link_protocol", None)
    for attr in ("vlan_tag", "vlan_s_tag"):
        value = getattr(protocol, attr, None)
        if value:
            return int(value)
    raise pulumi.RunError(
        f"Equinix connection {connection} reports no VLAN for its AWS hosted connection (zSide.accessPoint."
        "linkProtocol.vlanTag): the transit VIF must use the VLAN Equinix assigned. Check the connection in "
        "the Equinix portal and run `pulumi up` again")


def secondary_of(primary: fabric.Connection) -> fabric.ConnectionRedundancyArgs:
    """The redundancy of a connection that is the SECONDARY in ``primary``'s redundancy group."""
    return fabric.ConnectionRedundancyArgs(priority="SECONDARY",
                                           group=primary.redundancy.apply(lambda r: r.group if r else None))


def rule_name(key: str, prefix: str) -> str:
    """A route filter rule's name: the filter's key and the prefix (``aws-10.10.0.0-16``)."""
    return f"{key}-{prefix.replace('/', '-')}"


class CloudRouter(pulumi.ComponentResource):
    """Fabric Cloud Routers with their AWS and Azure connections and routing protocols."""

    router_ids: dict[str, pulumi.Output[str]]
    equinix_asn: pulumi.Output[int]
    """The ASN Equinix assigned (the same for every FCR of a metro)."""
    connection_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: CloudRouterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bridge:equinix:CloudRouter", name, None, opts)
        self.component_name = name
        notifications = [fabric.CloudRouterNotificationArgs(type="ALL", emails=list(args.notification_emails))]
        self.routers: dict[str, fabric.CloudRouter] = {}
        for r in args.routers:
            self.routers[r.name] = fabric.CloudRouter(
                f"{name}-{r.name}", name=r.name, type="XF_ROUTER",
                location=fabric.CloudRouterLocationArgs(metro_code=r.metro),
                package=fabric.CloudRouterPackageArgs(code=args.package),
                project=fabric.CloudRouterProjectArgs(project_id=args.project_id),
                account=fabric.CloudRouterAccountArgs(account_number=args.account_number),
                notifications=notifications,
                opts=child(self, protect=PROTECT, custom_timeouts=ROUTER_TIMEOUTS))
        metro = {r.name: r.metro for r in args.routers}
        conn_notifications = [fabric.ConnectionNotificationArgs(type="ALL", emails=list(args.notification_emails))]
        project = fabric.ConnectionProjectArgs(project_id=args.project_id)

        def a_side(router: str) -> fabric.ConnectionASideArgs:
            return fabric.ConnectionASideArgs(access_point=fabric.ConnectionASideAccessPointArgs(
                type="CLOUD_ROUTER", router=fabric.ConnectionASideAccessPointRouterArgs(uuid=self.routers[router].id)))


        def connection_opts(depends_on: Sequence[pulumi.Resource] = (),
                            secret_outputs: Sequence[str] = ()) -> pulumi.ResourceOptions:
            return child(self, protect=PROTECT, depends_on=depends_on, custom_timeouts=CONNECTION_TIMEOUTS,
                         replace_on_changes=list(CONNECTION_REPLACE_ON), delete_before_replace=True,
                         additional_secret_outputs=list(secret_outputs) or None)

        self.connections: dict[str, fabric.Connection] = {}
        metros = [r.metro for r in args.routers]
        aws_profile = _profile_uuid(AWS_PROFILE, metros, args.bandwidth_mbps, self)
        self.hosted_connections: dict[str, tuple[pulumi.Output[str], pulumi.Output[int]]] = {}
        aws_primaries: dict[str, fabric.Connection] = {}
        for ac in args.aws_connections:
            # Two AWS connections form one redundancy group, like the Azure pair: Equinix then places
            # the secondary on other equipment than the primary. A group is a metro's: routers in a
            # second metro form their own, at another AWS location (docs/sources.md#aws-7).
            aws_primary = aws_primaries.get(metro[ac.router])
            aws_redundancy = (secondary_of(aws_primary) if aws_primary is not None
                              else fabric.ConnectionRedundancyArgs(priority="PRIMARY"))
            aws_deps = [aws_primary] if aws_primary is not None else []
            conn = self.connections[ac.name] = fabric.Connection(
                f"{name}-{ac.name}", name=ac.name, type="IP_VC", bandwidth=args.bandwidth_mbps,
                notifications=conn_notifications, project=project,
                redundancy=aws_redundancy,
                a_side=a_side(ac.router),
                z_side=fabric.ConnectionZSideArgs(access_point=fabric.ConnectionZSideAccessPointArgs(
                    type="SP",
                    # Equinix creates the hosted connection in this AWS account (docs/sources.md#equinix-2a).
                    authentication_key=args.aws_account_id, seller_region=args.aws_seller_region,
                    profile=fabric.ConnectionZSideAccessPointProfileArgs(type="L2_PROFILE", uuid=aws_profile),
                    location=fabric.ConnectionZSideAccessPointLocationArgs(metro_code=metro[ac.router]))),
                opts=connection_opts(aws_deps))
            aws_primaries.setdefault(metro[ac.router], conn)
            self.hosted_connections[ac.name] = (
                conn.z_side.apply(lambda z, n=ac.name: hosted_connection_id(n, z)),
                conn.z_side.apply(lambda z, n=ac.name: hosted_connection_vlan(n, z)))
        azure_profile = _profile_uuid(AZURE_PROFILE, metros, args.bandwidth_mbps, self)
        primaries: dict[int, fabric.Connection] = {}
        # Per circuit, its primary first: each circuit's pair is its own redundancy group.
        for c in sorted(args.azure_connections, key=lambda c: (c.circuit, c.priority != "PRIMARY")):
            redundancy = fabric.ConnectionRedundancyArgs(priority=c.priority)
            deps: list[pulumi.Resource] = []
            service_key = args.azure_service_key if c.circuit == 0 else args.second_azure_service_key
            assert service_key is not None, "a second circuit's connections come with its service key"
            if c.priority == "SECONDARY":
                # Azure needs both links under one service key; Equinix pairs them by the primary's
                # redundancy group (docs/sources.md#equinix-2b).
                primary = primaries.get(c.circuit)
                assert primary is not None, "the primary connection comes first"
                redundancy = secondary_of(primary)
                deps = [primary]
            conn = fabric.Connection(
                f"{name}-{c.name}", name=c.name, type="IP_VC",
                # The Equinix connection's speed is the circuit's bandwidth (docs/sources.md#equinix-2b).
                bandwidth=args.bandwidth_mbps,
                notifications=conn_notifications, project=project, redundancy=redundancy,
                a_side=a_side(c.router),
                z_side=fabric.ConnectionZSideArgs(access_point=fabric.ConnectionZSideAccessPointArgs(
                    type="SP", authentication_key=pulumi.Output.secret(service_key),
                    peering_type="PRIVATE",
                    profile=fabric.ConnectionZSideAccessPointProfileArgs(type="L2_PROFILE", uuid=azure_profile),
                    location=fabric.ConnectionZSideAccessPointLocationArgs(metro_code=metro[c.router]))),
                opts=connection_opts(deps, ["zSide"]))
            if c.priority == "PRIMARY":
                primaries[c.circuit] = conn
            self.connections[c.name] = conn
        first = self.routers[args.routers[0].name]
        self.router_ids = {k: v.id for k, v in self.routers.items()}
        self.connection_ids = {k: v.id for k, v in self.connections.items()}
        self.equinix_asn = first.equinix_asn
        self.filter_attachments: dict[str, list[fabric.ConnectionRouteFilter]] = {}
        if args.aws_prefixes and args.azure_prefixes:
            self._route_filters(name, args)
        self.protocols: dict[str, tuple[fabric.RoutingProtocol, fabric.RoutingProtocol]] = {}

    def _route_filters(self, name: str, args: CloudRouterArgs) -> None:
        """Prefix filters on every connection, both ways: each cloud receives only the other's planned
        prefixes, and the FCR accepts only the planned prefixes from each. Without them the FCR
        re-advertises everything it learns (connected subnets included), and a prefix added on one
        side outside the plan would reach the other and count against its limit (100 routes per
        transit VIF session at AWS). Filters permit what they list and deny the rest (docs/sources.md#equinix-5-10)."""
        project = fabric.RouteFilterProjectArgs(project_id=args.project_id)
        filters: dict[str, fabric.RouteFilter] = {}
        rules: dict[str, list[fabric.RouteFilterRule]] = {}
        for key, prefixes, what in (("aws", args.aws_prefixes, "AWS VPC prefixes"),
                                    ("azure", args.azure_prefixes, "Azure hub and spoke prefixes")):
            rf = fabric.RouteFilter(
                f"{name}-filter-{key}", name=f"{args.filter_prefix}-{key}"[:24], type="BGP_IPv4_PREFIX_FILTER",
                project=project, description=f"Planned {what}", opts=child(self))
            # Named and keyed by the prefix, never by position: removing one prefix deletes its rule
            # and renames no other.
            rules[key] = [fabric.RouteFilterRule(
                f"{name}-filter-{key}-{prefix.replace('/', '_')}", route_filter_id=rf.id,
                name=rule_name(key, prefix), prefix=prefix, prefix_match="exact", description=f"{what}: {prefix}",
                opts=child(self, replace_on_changes=list(RULE_REPLACE_ON))) for prefix in prefixes]
            filters[key] = rf
        aws_names = {c.name for c in args.aws_connections}
        for conn_name, conn in self.connections.items():
            cloud, other = ("aws", "azure") if conn_name in aws_names else ("azure", "aws")
            # In: what this cloud advertises. Out: what the other cloud advertises.
            self.filter_attachments[conn_name] = [
                fabric.ConnectionRouteFilter(
                    f"{name}-{conn_name}-{direction.lower()}", connection_id=conn.id,
                    route_filter_id=filters[key].id, direction=direction,
                    # A filter attached before all its rules exist passes too little (Equinix's
                    # route-filter module attaches only after its rules: terraform-equinix-fabric
                    # modules/cloud-router-route-filters).
                    opts=child(self, depends_on=rules[key], replace_on_changes=list(ATTACHMENT_REPLACE_ON),
                               delete_before_replace=True))
                for direction, key in (("INBOUND", cloud), ("OUTBOUND", other))]

    def add_routing(self, sessions: Sequence[SessionRoutingArgs]) -> None:
        """Step 2: DIRECT then BGP (with MD5 and BFD) on each connection; completes the component."""
        for s in sessions:
            conn = self.connections[s.connection]
            direct = fabric.RoutingProtocol(
                f"{self.component_name}-{s.direct_name}", name=s.direct_name, type="DIRECT", connection_uuid=conn.id,
                direct_ipv4=fabric.RoutingProtocolDirectIpv4Args(equinix_iface_ip=s.equinix_address),
                opts=child(self, depends_on=list(s.depends_on), custom_timeouts=PROTOCOL_TIMEOUTS,
                           replace_on_changes=list(PROTOCOL_REPLACE_ON), delete_before_replace=True))
            bgp = fabric.RoutingProtocol(
                f"{self.component_name}-{s.bgp_name}", name=s.bgp_name, type="BGP", connection_uuid=conn.id,
                customer_asn=s.peer_asn,
                bgp_ipv4=fabric.RoutingProtocolBgpIpv4Args(customer_peer_ip=s.peer_address, enabled=True),
                # Must equal the key on the cloud side of the session.
                bgp_auth_key=pulumi.Output.secret(s.auth_key),
                # The FCR exposes the interval only (its multiplier is Equinix's); the clouds accept
                # 300 ms and more, and BFD timers negotiate to the slower side.
                bfd=fabric.RoutingProtocolBfdArgs(enabled=s.bfd_enabled, interval=str(s.bfd_interval_ms)),
                # The filters are in place before the session comes up: nothing unplanned leaks meanwhile.
                # BGP depends on DIRECT, so a replacement deletes BGP, then DIRECT, then the connection,
                # and creates them the other way round (Equinix requires DIRECT before BGP).
                opts=child(self, depends_on=[direct, *self.filter_attachments.get(s.connection, [])],
                           custom_timeouts=PROTOCOL_TIMEOUTS, replace_on_changes=list(PROTOCOL_REPLACE_ON),
                           delete_before_replace=True, additional_secret_outputs=["bgpAuthKey"]))
            self.protocols[s.connection] = (direct, bgp)
        self.register_outputs({"routerIds": self.router_ids, "connectionIds": self.connection_ids,
                               "equinixAsn": self.equinix_asn})
