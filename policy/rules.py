"""The bridge's CrossGuard rules, as importable policy objects (``POLICIES``).

``__main__.py`` builds the pack from them for ``pulumi preview --policy-pack policy``; the tests and
``bridgectl check`` call them directly over the offline plan. Nothing here may construct a
``PolicyPack``: its constructor starts a gRPC server and never returns.

What a policy sees: the resource's inputs with camelCase wire names (``bgpAuthKey``), its options
(protect, additionalSecretOutputs) and, for stack policies, every resource with its dependencies.
Two facts of the engine shape the rules:

* during a preview, a value computed by another resource is *unknown*; reading it raises
  ``UnknownValueError``. The helpers below turn that into :data:`UNKNOWN`, and each rule decides
  what an unknown means for it (usually: nothing can be concluded, so no violation);
* resource validations receive secrets already unwrapped (``pulumi_policy.deserialize`` drops the
  secret marker), so a rule cannot ask a live preview whether a key was passed as a secret. The
  key rule therefore requires what makes it a secret everywhere it is stored, the key listed in
  ``additionalSecretOutputs``, and, over the offline plan (where secrets read ``[secret]``), also
  rejects a key that was written in plain text (``bridgectl check`` turns that on with the
  ``plaintextVisible`` config).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    StackValidationArgs,
    StackValidationPolicy,
)

try:  # the proxy module is internal to pulumi_policy; keep the rules importable if it moves
    from pulumi_policy.proxy import UnknownValueError
except ImportError:  # pragma: no cover
    class UnknownValueError(Exception):  # type: ignore[no-redef]
        pass

#: How secrets read in the offline plan (bridgectl.offline).
OFFLINE_SECRET = "[secret]"
REQUIRED_TAGS = ("project", "stack", "managed-by")


class _Unknown:
    def __repr__(self) -> str:
        return "<unknown during preview>"


UNKNOWN: Any = _Unknown()

# Type tokens this project registers.
TGW = "aws:ec2transitgateway/transitGateway:TransitGateway"
DX_GATEWAY = "aws:directconnect/gateway:Gateway"
DX_ASSOCIATION = "aws:directconnect/gatewayAssociation:GatewayAssociation"
TRANSIT_VIF = "aws:directconnect/transitVirtualInterface:TransitVirtualInterface"
ROUTE53_ZONE = "aws:route53/zone:Zone"
GLOBAL_NETWORK = "aws:networkmanager/globalNetwork:GlobalNetwork"
CORE_NETWORK = "aws:networkmanager/coreNetwork:CoreNetwork"
DX_ATTACHMENT = "aws:networkmanager/dxGatewayAttachment:DxGatewayAttachment"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
EIP = "aws:ec2/eip:Eip"
VPC_ROUTE = "aws:ec2/route:Route"
TGW_ROUTE = "aws:ec2transitgateway/route:Route"
FCR = "equinix:fabric/cloudRouter:CloudRouter"
EQUINIX_CONNECTION = "equinix:fabric/connection:Connection"
ROUTING_PROTOCOL = "equinix:fabric/routingProtocol:RoutingProtocol"
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
VNET = "azure-native:network:VirtualNetwork"
NSG = "azure-native:network:NetworkSecurityGroup"
SECURITY_RULE = "azure-native:network:SecurityRule"
PUBLIC_IP = "azure-native:network:PublicIPAddress"
NIC = "azure-native:network:NetworkInterface"
GATEWAY = "azure-native:network:VirtualNetworkGateway"
CIRCUIT = "azure-native:network:ExpressRouteCircuit"
PEERING = "azure-native:network:ExpressRouteCircuitPeering"
GATEWAY_CONNECTION = "azure-native:network:VirtualNetworkGatewayConnection"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
VPN_CONNECTION = "aws:ec2/vpnConnection:VpnConnection"

#: Stateful, slow or billed: replacing or deleting one is an outage (components/ protect them all).
PROTECTED_TYPES = frozenset({
    TGW, DX_GATEWAY, DX_ASSOCIATION, TRANSIT_VIF, ROUTE53_ZONE, GLOBAL_NETWORK, CORE_NETWORK, DX_ATTACHMENT,
    FCR, EQUINIX_CONNECTION, RESOURCE_GROUP, VNET, PUBLIC_IP, GATEWAY, CIRCUIT, PEERING, GATEWAY_CONNECTION,
})

#: Where each BGP session carries its MD5 key.
BGP_KEY_FIELDS = {TRANSIT_VIF: "bgpAuthKey", ROUTING_PROTOCOL: "bgpAuthKey", PEERING: "sharedKey"}

#: Where the IPsec backup (components/vpn_backup.py) carries its pre-shared keys, and what else holds them.
VPN_KEY_FIELDS = {VPN_CONNECTION: ("tunnel1PresharedKey", "tunnel2PresharedKey"), GATEWAY_CONNECTION: ("sharedKey",)}
#: The AWS customer gateway configuration holds both keys in clear.
VPN_KEY_HOLDERS = {VPN_CONNECTION: ("customerGatewayConfiguration",)}

#: Taggable types this project registers (any other AWS/Azure resource that sets tags is checked too).
TAGGABLE_TYPES = frozenset({
    TGW, "aws:ec2transitgateway/routeTable:RouteTable", "aws:ec2transitgateway/vpcAttachment:VpcAttachment",
    DX_GATEWAY, TRANSIT_VIF, SECURITY_GROUP, "aws:ec2/vpcEndpoint:VpcEndpoint", ROUTE53_ZONE, GLOBAL_NETWORK,
    CORE_NETWORK, "aws:networkmanager/vpcAttachment:VpcAttachment", DX_ATTACHMENT,
    "aws:redshift/subnetGroup:SubnetGroup", RESOURCE_GROUP, VNET, NSG, PUBLIC_IP, GATEWAY, CIRCUIT,
    GATEWAY_CONNECTION, PRIVATE_ENDPOINT,
})


# --- reading props safely ------------------------------------------------------------------------


def get(value: Any, *path: str | int) -> Any:
    """``value[path...]``: None when absent, :data:`UNKNOWN` when not known during preview."""
    for key in path:
        if value is UNKNOWN or value is None:
            return value
        try:
            if isinstance(key, int):
                if not is_list(value) or key >= len(value):
                    return None
                value = value[key]
            else:
                if not isinstance(value, Mapping) or key not in value:
                    return None
                value = value[key]
        except UnknownValueError:
            return UNKNOWN
    if isinstance(value, Secret):
        return value.value
    return value


def is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def items(value: Any) -> list[Any]:
    """The elements of a list prop (unknown elements as UNKNOWN); [] when absent or unknown."""
    if not is_list(value):
        return []
    return [get(value, i) for i in range(len(value))]


def _is_open(cidr: Any) -> bool:
    if not isinstance(cidr, str):
        return False
    if cidr.strip() in ("*", "Internet", "Any", "any", "internet"):
        return True
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False).prefixlen == 0
    except ValueError:
        return False


# --- resource policies ---------------------------------------------------------------------------


def _validate_protected(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in PROTECTED_TYPES:
        return
    if args.resource_type == ROUTE53_ZONE:
        tags = get(args.props, "tags")
        # A customer's zones (one per published name, tagged with its customer) go with `pulumi destroy`
        # of that customer; any other zone (none today: the bridge owns no zone since docs/dns.md) must
        # be protected.
        if isinstance(tags, Mapping) and get(tags, "customer") not in (None, UNKNOWN, ""):
            return
    if not args.opts.protect:
        report(f"{args.name} ({args.resource_type}) is stateful or billed and must be protected "
               "(ResourceOptions(protect=True)): replacing or deleting it is an outage")


stateful_resources_protected = ResourceValidationPolicy(
    name="stateful-resources-protected",
    description="Transit gateway, Direct Connect gateway and VIFs, Cloud WAN, FCRs, Equinix connections, the "
                "ExpressRoute circuit, peering, gateway and connection, resource group, hub VNet and any hosted "
                "zone not owned by a customer are protected.",
    validate=_validate_protected,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def _validate_bgp_key(args: ResourceValidationArgs, report: ReportViolation) -> None:
    field = BGP_KEY_FIELDS.get(args.resource_type)
    if field is None:
        return
    if args.resource_type == ROUTING_PROTOCOL and get(args.props, "type") != "BGP":
        return
    value = get(args.props, field)
    if value is None or value == "":
        report(f"{args.name}: the BGP session has no MD5 key ({field}); every session of the bridge is keyed "
               "on both ends")
        return
    if field not in (args.opts.additional_secret_outputs or []):
        report(f"{args.name}: {field} must be a secret: list it in additional_secret_outputs so the key is "
               "encrypted in the state and never shown in outputs")
    plaintext_visible = bool(args.get_config().get("plaintextVisible"))
    if plaintext_visible and isinstance(value, str) and value != OFFLINE_SECRET:
        report(f"{args.name}: {field} is passed in plain text; pass it as a secret "
               "(pulumi.Output.secret, or a --secret config value)")


#: the offline plan shows secrets as [secret]: with this set, any other key value was written in plain text
PLAINTEXT_VISIBLE = PolicyConfigSchema(properties={
    "plaintextVisible": {"type": "boolean", "default": False,
                         "description": "secrets show as [secret] (offline plan): any other key value was "
                                        "written in plain text"},
})


bgp_keys_secret = ResourceValidationPolicy(
    name="bgp-keys-secret",
    description="Every BGP session has an MD5 key, and the key is a secret (bgpAuthKey on transit VIFs and FCR "
                "BGP protocols, sharedKey on the private peering).",
    validate=_validate_bgp_key,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PLAINTEXT_VISIBLE,
)


def _validate_vpn_key(args: ResourceValidationArgs, report: ReportViolation) -> None:
    fields = VPN_KEY_FIELDS.get(args.resource_type)
    if fields is None:
        return
    if args.resource_type == GATEWAY_CONNECTION and get(args.props, "connectionType") != "IPsec":
        return  # the ExpressRoute connection has no key
    secret_outputs = args.opts.additional_secret_outputs or []
    plaintext_visible = bool(args.get_config().get("plaintextVisible"))
    for field in fields:
        value = get(args.props, field)
        if value is None or value == "":
            report(f"{args.name}: {field} is not set: the provider would pick a key and keep it in plain "
                   "state; the bridge generates every pre-shared key as a secret")
            continue
        if field not in secret_outputs:
            report(f"{args.name}: {field} must be a secret: list it in additional_secret_outputs so the "
                   "pre-shared key is encrypted in the state and never shown in outputs")
        if plaintext_visible and isinstance(value, str) and value != OFFLINE_SECRET:
            report(f"{args.name}: {field} is passed in plain text; pass it as a secret (pulumi.Output.secret)")
    for field in VPN_KEY_HOLDERS.get(args.resource_type, ()):
        if field not in secret_outputs:
            report(f"{args.name}: {field} holds the pre-shared keys: list it in additional_secret_outputs")


vpn_keys_secret = ResourceValidationPolicy(
    name="vpn-keys-secret",
    description="The IPsec backup's pre-shared keys are set and secret (tunnel1/2PresharedKey and the customer "
                "gateway configuration on AWS VPN connections, sharedKey on Azure IPsec connections).",
    validate=_validate_vpn_key,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PLAINTEXT_VISIBLE,
)


def _validate_bfd(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ROUTING_PROTOCOL or get(args.props, "type") != "BGP":
        return
    enabled = get(args.props, "bfd", "enabled")
    if enabled is UNKNOWN:
        return
    if enabled is not True:
        report(f"{args.name}: BFD must be enabled on the FCR's BGP session (bfd.enabled: true); without it a "
               "silent link failure is detected only when the hold timer expires (90-180 s)")


bfd_on_bgp_sessions = ResourceValidationPolicy(
    name="bfd-on-bgp-sessions",
    description="BFD is enabled on every BGP session the bridge configures (the FCR side; AWS and Microsoft "
                "run BFD on their side of Direct Connect and ExpressRoute private peering).",
    validate=_validate_bfd,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def _open_sources(args: ResourceValidationArgs) -> list[str]:
    typ, props = args.resource_type, args.props
    found: list[str] = []
    if typ == SECURITY_GROUP:
        for rule in items(get(props, "ingress")):
            found += [c for c in items(get(rule, "cidrBlocks")) + items(get(rule, "ipv6CidrBlocks")) if _is_open(c)]
    elif typ == SG_INGRESS_RULE:
        found += [c for c in (get(props, "cidrIpv4"), get(props, "cidrIpv6")) if _is_open(c)]
    elif typ == SG_RULE and get(props, "type") == "ingress":
        found += [c for c in items(get(props, "cidrBlocks")) + items(get(props, "ipv6CidrBlocks")) if _is_open(c)]
    elif typ in (NSG, SECURITY_RULE):
        rules = items(get(props, "securityRules")) if typ == NSG else [props]
        for rule in rules:
            if get(rule, "direction") != "Inbound" or get(rule, "access") != "Allow":
                continue
            sources = [get(rule, "sourceAddressPrefix"), *items(get(rule, "sourceAddressPrefixes"))]
            found += [str(s) for s in sources if _is_open(s)]
    return found


def _validate_ingress(args: ResourceValidationArgs, report: ReportViolation) -> None:
    open_sources = _open_sources(args)
    if open_sources:
        report(f"{args.name}: ingress open to {', '.join(sorted(set(open_sources)))}; endpoints admit only the "
               "SaaS VPC CIDRs")


endpoint_ingress_not_open = ResourceValidationPolicy(
    name="endpoint-ingress-not-open",
    description="No security group or NSG admits traffic from 0.0.0.0/0, ::/0 or the Internet: endpoints "
                "admit only the SaaS VPC CIDRs.",
    validate=_validate_ingress,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def _validate_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    typ = args.resource_type
    if not typ.startswith(("aws:", "azure-native:")):
        return
    tags = get(args.props, "tags")
    if typ not in TAGGABLE_TYPES and tags is None:
        return
    if tags is UNKNOWN:
        return
    required = list(args.get_config().get("requiredTags") or REQUIRED_TAGS)
    present = tags if isinstance(tags, Mapping) else {}
    missing = [t for t in required if get(present, t) in (None, "")]
    if missing:
        report(f"{args.name} ({typ}) lacks the required tag(s) {', '.join(missing)} (every taggable resource "
               "carries project, stack and managed-by, see stacks/bridge.py base_tags)")


required_tags = ResourceValidationPolicy(
    name="required-tags",
    description="Every taggable AWS and Azure resource carries the project, stack and managed-by tags.",
    validate=_validate_tags,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(properties={
        "requiredTags": {"type": "array", "items": {"type": "string"}, "default": list(REQUIRED_TAGS)},
    }),
)


def _validate_routes(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (VPC_ROUTE, TGW_ROUTE):
        return
    planned_raw = args.get_config().get("plannedPrefixes") or []
    if not planned_raw:
        args.not_applicable("no planned prefixes configured (bridgectl check --policy-config-out writes them)")
    planned = {str(ipaddress.ip_network(str(p), strict=False)) for p in planned_raw}
    if args.resource_type == TGW_ROUTE:
        # The IPsec backup's route table holds the VPC CIDRs it advertises (components/vpn_backup.py).
        planned |= {str(ipaddress.ip_network(str(p), strict=False))
                    for p in args.get_config().get("backupPrefixes") or []}
    for other in ("destinationIpv6CidrBlock", "destinationPrefixListId"):
        value = get(args.props, other)
        if value not in (None, UNKNOWN, ""):
            report(f"{args.name}: route to {other} {value}; the bridge routes only toward the planned Azure "
                   f"prefixes ({', '.join(sorted(planned))})")
    dest = get(args.props, "destinationCidrBlock")
    if dest is None or dest is UNKNOWN:
        return
    try:
        normal = str(ipaddress.ip_network(str(dest), strict=False))
    except ValueError:
        normal = str(dest)
    if normal not in planned:
        report(f"{args.name}: route to {dest} is not a planned Azure prefix ({', '.join(sorted(planned))}); "
               "a wider or foreign route would pull other traffic into the bridge")


routes_to_planned_prefixes = ResourceValidationPolicy(
    name="routes-to-planned-prefixes",
    description="VPC and transit gateway routes point only at the Azure prefixes of the stack's address plan (and "
                "transit gateway routes at the VPC CIDRs the IPsec backup advertises).",
    validate=_validate_routes,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(properties={
        "plannedPrefixes": {"type": "array", "items": {"type": "string"},
                            "description": "the Azure prefixes of the plan (bridgectl check --policy-config-out)"},
        "backupPrefixes": {"type": "array", "items": {"type": "string"},
                           "description": "the AWS prefixes the IPsec backup advertises (transit gateway routes only)"},
    }),
)


# --- stack policies ------------------------------------------------------------------------------


def _expressroute_gateway_ips(resources: Sequence[PolicyResource]) -> set[str]:
    """URNs of the public IPs an ExpressRoute gateway uses (the gateway's own, expected)."""
    allowed: set[str] = set()
    for r in resources:
        # The backup VPN gateway's two public IPs are its IPsec endpoints (components/vpn_backup.py).
        if r.resource_type != GATEWAY or get(r.props, "gatewayType") not in ("ExpressRoute", "Vpn", UNKNOWN):
            continue
        deps = list(r.dependencies or [])
        deps += list((r.property_dependencies or {}).get("ipConfigurations", []))
        allowed |= {d.urn for d in deps if d.resource_type == PUBLIC_IP}
    return allowed


def _validate_no_public_ip(args: StackValidationArgs, report: ReportViolation) -> None:
    allowed = _expressroute_gateway_ips(args.resources)
    for r in args.resources:
        if r.resource_type == PUBLIC_IP and r.urn not in allowed:
            report(f"{r.name}: a public IP that is not a gateway's (ExpressRoute, backup VPN); nothing else on the "
                   "bridge or "
                   "its endpoints is reachable from the Internet", r.urn)
        elif r.resource_type == NIC:
            for cfg in items(get(r.props, "ipConfigurations")):
                if get(cfg, "publicIPAddress") not in (None, UNKNOWN):
                    report(f"{r.name}: network interface with a public IP; endpoints are private only", r.urn)
        elif r.resource_type == EIP:
            report(f"{r.name}: an Elastic IP; endpoints are private only", r.urn)
        elif r.resource_type == PRIVATE_ENDPOINT:
            for cfg in items(get(r.props, "ipConfigurations")):
                if get(cfg, "publicIPAddress") not in (None, UNKNOWN):
                    report(f"{r.name}: private endpoint with a public IP configuration", r.urn)


no_public_ip_on_endpoints = StackValidationPolicy(
    name="no-public-ip-on-endpoints",
    description="No public IP, Elastic IP or NIC with a public address, except the ExpressRoute gateway's own "
                "Standard public IP and the backup VPN gateway's two.",
    validate=_validate_no_public_ip,
    enforcement_level=EnforcementLevel.MANDATORY,
)


def _validate_diverse_devices(args: StackValidationArgs, report: ReportViolation) -> None:
    by_device: dict[str, list[PolicyResource]] = {}
    for r in args.resources:
        if r.resource_type != TRANSIT_VIF:
            continue
        device = get(r.props, "awsDevice")
        if isinstance(device, str) and device:
            by_device.setdefault(device, []).append(r)
    for device, vifs in sorted(by_device.items()):
        if len(vifs) > 1:
            vifs = sorted(vifs, key=lambda v: v.name)
            names = ", ".join(v.name for v in vifs)
            report(f"{names}: the transit VIFs of both AWS connections terminate on one AWS Direct Connect device "
                   f"({device}); losing that device takes every AWS path down. Ask Equinix to move one hosted "
                   "connection to other equipment (the pair is one redundancy group), or replace the secondary "
                   "connection", vifs[0].urn)


aws_connections_on_diverse_devices = StackValidationPolicy(
    name="aws-connections-on-diverse-devices",
    description="The transit VIFs of the bridge's AWS connections terminate on different AWS Direct Connect "
                "devices (awsDevice, known once AWS has created them: checked in a live preview).",
    validate=_validate_diverse_devices,
    enforcement_level=EnforcementLevel.MANDATORY,
)


METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
STREAM_ATTACHMENT = "equinix:fabric/streamAttachment:StreamAttachment"
VIF_METRICS = ("VirtualInterfaceBpsIngress", "VirtualInterfaceBpsEgress")


def _alert_metrics(r: PolicyResource) -> set[str]:
    return {str(get(c, "metricName")) for c in items(get(r.props, "criteria", "allOf"))}


def _watchers(resources: Sequence[PolicyResource], typ: str, ok: Any) -> dict[str, set[str]]:
    """For each resource a watcher of type ``typ`` (for which ``ok(watcher)``) depends on: what watches it."""
    out: dict[str, set[str]] = {}
    for r in resources:
        if r.resource_type == typ and ok(r):
            for d in r.dependencies or []:
                out.setdefault(d.urn, set()).add(r.name)
    return out


def _validate_watched(args: StackValidationArgs, report: ReportViolation) -> None:
    res = list(args.resources)
    dx_alarms = [r for r in res if r.resource_type == METRIC_ALARM and get(r.props, "namespace") in ("AWS/DX", UNKNOWN)]
    vif_watch = _watchers(res, METRIC_ALARM, lambda r: r in dx_alarms and get(r.props, "metricName") in VIF_METRICS)
    state_alarms = [r for r in dx_alarms if get(r.props, "metricName") == "ConnectionState"]
    vifs = [r for r in res if r.resource_type == TRANSIT_VIF]
    for vif in vifs:
        if vif.urn not in vif_watch:
            report(f"{vif.name}: no CloudWatch alarm on this transit VIF's traffic (AWS/DX VirtualInterfaceBps*); "
                   "a silent session goes unnoticed. Keep bridge:alarms on", vif.urn)
    if vifs and len(state_alarms) < len(vifs):
        report(f"{len(state_alarms)} CloudWatch alarm(s) on AWS/DX ConnectionState for {len(vifs)} hosted "
               "connection(s): each hosted connection needs one", vifs[0].urn)
    alerts = [r for r in res if r.resource_type == METRIC_ALERT]
    watched = set().union(*(_alert_metrics(a) for a in alerts)) if alerts else set()
    for r in res:
        if r.resource_type == CIRCUIT:
            missing = sorted({"BgpAvailability", "ArpAvailability"} - watched)
            if missing:
                report(f"{r.name}: no Azure Monitor alert on the circuit's {', '.join(missing)}", r.urn)
        elif (r.resource_type == GATEWAY and get(r.props, "gatewayType") in ("ExpressRoute", UNKNOWN)
              and "ExpressRouteGatewayCountOfRoutesLearnedFromPeer" not in watched):
            report(f"{r.name}: no Azure Monitor alert on the gateway's learned routes "
                   "(ExpressRouteGatewayCountOfRoutesLearnedFromPeer)", r.urn)
    attached = _watchers(res, STREAM_ATTACHMENT, lambda r: True)
    for r in res:
        if r.resource_type in (FCR, EQUINIX_CONNECTION) and r.urn not in attached:
            report(f"{r.name}: not attached to an Equinix Fabric stream; its events and BGP session changes reach "
                   "no one", r.urn)


bridge_watched = StackValidationPolicy(
    name="bridge-watched",
    description="The bridge watches itself (components/alarms.py): a CloudWatch alarm on each transit VIF's "
                "traffic and each hosted connection's state, Azure Monitor alerts on the circuit's BGP and ARP "
                "availability and the gateway's learned routes, every cloud router and connection attached to a "
                "Fabric stream.",
    validate=_validate_watched,
    enforcement_level=EnforcementLevel.MANDATORY,
)


POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    bridge_watched,
    aws_connections_on_diverse_devices,
    stateful_resources_protected,
    bgp_keys_secret,
    vpn_keys_secret,
    bfd_on_bgp_sessions,
    endpoint_ingress_not_open,
    no_public_ip_on_endpoints,
    required_tags,
    routes_to_planned_prefixes,
]
