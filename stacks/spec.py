"""The typed stack specification: what a ``Pulumi.<stack>.yaml`` says, checked against every rule.

Two kinds of stack share one project (see docs/stack-config.md):

* a **bridge** stack (``Pulumi.<bridge>.yaml``: ``bridge:aws``, ``bridge:exchange``, ``bridge:azure``,
  ``bridge:addressing``) is the shared BGP-peered network of one environment;
* a **customer** stack (``Pulumi.<bridge>.<customer>.yaml``: ``bridge:customer``) holds one
  customer's private endpoints and DNS records, attached to its bridge.

:func:`parse_config` turns a stack's ``config:`` mapping into a :class:`BridgeSpec` or
:class:`CustomerSpec`, or raises :class:`ConfigError` with every problem found. Each rule says
where it comes from; the numbers live in :mod:`stacks.limits`.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from . import limits as L
from .dns import (
    AWS_DATABRICKS_DOMAIN,
    AZURE_DATABRICKS_DOMAIN,
    PLATFORM_PUBLIC_DOMAINS,
    SNOWFLAKE_DOMAIN,
    Record,
    endpoint_records,
    implied_ocsp,
    within,
)
from .fields import (
    Bool,
    Cidr,
    Enum,
    Int,
    ListOf,
    MapOf,
    Obj,
    Secret,
    SecretRef,
    Str,
    spec,
    unknown_key,
)
from .problems import MISSING, ConfigError, Problem, Problems
from .vpn import VPN_BACKUP_KEY, VpnBackupSpec, validate_vpn_backup

T = TypeVar("T")

PROJECT = "bridge"
NS = f"{PROJECT}:"

# --- formats ------------------------------------------------------------------------------------

# Azure subscription ids and Equinix Fabric project ids (`project_id`, docs/sources.md#equinix-1) are UUIDs.
UUID_RE = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# AWS resource ids: a prefix and 8 or 17 lowercase hex digits (the short form predates 2018); the
# transit gateway attachment and the VPC routes take them as given (docs/sources.md#aws-1).
VPC_ID_RE = r"vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})"
SUBNET_ID_RE = r"subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})"
RTB_ID_RE = r"rtb-(?:[0-9a-f]{8}|[0-9a-f]{17})"
# The AWS account id is 12 digits; Equinix passes it as the hosted connection's authentication key
# (docs/sources.md#aws-3), so it is quoted to keep leading zeros.
ACCOUNT_ID_RE = r"\d{12}"
AWS_REGION_RE = r"[a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\d"
AZURE_LOCATION_RE = r"[a-z]+[a-z0-9]*"
# Names the bridge puts into resource names (VPCs, endpoints, customer ids): DNS-label-like, so they
# fit every provider's naming rules.
NAME_RE = r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?"
# Fabric metro codes are two capital letters: SV, DC, NY (docs/sources.md#equinix-0, `metro_code`).
METRO_RE = r"[A-Z]{2}"
EMAIL_RE = r"[^@\s]+@[^@\s]+\.[^@\s]+"
# Azure resource group names: 1-90 of letters, digits, _ - . ( ), not ending in a period.
RESOURCE_GROUP_RE = r"[-\w.()]{0,89}[-\w()]"
# DNS labels (RFC 1123): private zone records take the hostnames as written (docs/sources.md#azure-5-1, #azure-6).
HOSTNAME_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# A VPC endpoint service name, com.amazonaws.vpce.<region>.vpce-svc-<17 hex> (docs/sources.md#aws-5-1, #aws-5-2).
VPCE_SERVICE_RE = r"com\.amazonaws\.vpce\.([a-z]{2}(?:-gov)?-[a-z]+-\d)\.vpce-svc-[0-9a-f]{17}"
# An Azure Private Link service alias, <prefix>.<guid>.<region>.azure.privatelinkservice; the azurerm
# provider knows an alias by its suffix alone, and Snowflake's examples show one without the GUID
# (docs/sources.md#azure-5-1, #azure-5-2), so the GUID is optional.
PLS_ALIAS_RE = r"[A-Za-z0-9-]{1,80}(?:\.[0-9a-fA-F-]{36})?\.[a-z0-9-]+\.azure\.privatelinkservice"
PLS_ID_RE = (rf"/subscriptions/{UUID_RE}/resourceGroups/[-\w.()]+/providers/"
             r"Microsoft\.Network/privateLinkServices/[-\w.]+")
DATABRICKS_WS_RE = (rf"/subscriptions/{UUID_RE}/resourceGroups/[-\w.()]+/providers/"
                    r"Microsoft\.Databricks/workspaces/[-\w.]+")
# An Azure Databricks front-end private endpoint targets the workspace's resource id (docs/sources.md#azure-5-3).
# A Redshift cluster identifier: lowercase, starting with a letter, at most 63 characters (docs/sources.md#aws-5-4).
REDSHIFT_CLUSTER_RE = r"[a-z][a-z0-9-]{0,62}"

# Equinix ExpressRoute peering locations and the Fabric metro each sits in. Names are exact strings
# in Azure (docs/sources.md#azure-1); a location not listed here is allowed with a warning.
EQUINIX_PEERING_LOCATIONS: dict[str, str] = {
    "Amsterdam": "AM", "Atlanta": "AT", "Chicago": "CH", "Dallas": "DA", "Frankfurt": "FR",
    "Hong Kong": "HK", "London": "LD", "Los Angeles": "LA", "Melbourne": "ME", "New York": "NY",
    "Osaka": "OS", "Paris": "PA", "Sao Paulo": "SP", "Seattle": "SE", "Silicon Valley": "SV",
    "Singapore": "SG", "Sydney": "SY", "Tokyo": "TY", "Toronto": "TR", "Washington DC": "DC",
    "Zurich": "ZH",
}


# A bridge has one ExpressRoute circuit, or two at two peering locations (Microsoft's "maximum
# resiliency"; docs/sources.md#azure-7).
MAX_CIRCUITS = 2


def _check_account(value: str) -> str | None:
    return None if value != "000000000000" else "is not a real AWS account id"


# --- bridge stack ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vpc:
    """A SaaS VPC that reaches Azure over the bridge."""

    name: str = spec("name", Str(pattern=NAME_RE, pattern_reason="must be 1-40 of a-z, 0-9 and -"),
                     "Short name, used in resource names.", example="saas")
    vpc_id: str = spec("vpcId", Str(pattern=VPC_ID_RE, pattern_reason="is not a VPC id (vpc- and 8 or 17 hex digits)"),
                       "The VPC id.", example="vpc-0a1b2c3d4e5f60718")
    cidr: ipaddress.IPv4Network = spec("cidr", Cidr(min_prefix=8, max_prefix=28),
                                       "The VPC's CIDR: advertised to Azure.", example="10.10.0.0/16")
    subnet_ids: tuple[str, ...] = spec(
        "subnetIds",
        ListOf(Str(pattern=SUBNET_ID_RE, pattern_reason="is not a subnet id (subnet- and 8 or 17 hex digits)"),
               min_items=1, unique=True),
        "Subnets for the transit gateway / Cloud WAN attachment and the interface endpoints, one per AZ.",
        example="[subnet-0a1b2c3d4e5f60718]")
    route_table_ids: tuple[str, ...] = spec(
        "routeTableIds",
        ListOf(Str(pattern=RTB_ID_RE, pattern_reason="is not a route table id (rtb- and 8 or 17 hex digits)"),
               unique=True),
        "Route tables that get routes toward the Azure prefixes.", default=(),
        example="[rtb-0a1b2c3d4e5f60718]")


@dataclass(frozen=True)
class CoreNetwork:
    """Cloud WAN core network settings (backbone: cloud-wan)."""

    asn_ranges: tuple[str, ...] = spec(
        "asnRanges", ListOf(Str(pattern=r"\d+-\d+", pattern_reason="must be a range like 64700-64799"),
                            min_items=1),
        "ASN ranges for the core network edges.", example='["64700-64799"]')
    edge_locations: tuple[str, ...] = spec(
        "edgeLocations", ListOf(Str(pattern=AWS_REGION_RE, pattern_reason="is not an AWS region"),
                                min_items=1, unique=True),
        "AWS regions with a core network edge; the Direct Connect gateway attaches to them.",
        example="[us-east-1]")
    retiring_edge_locations: tuple[str, ...] = spec(
        "retiringEdgeLocations", ListOf(Str(pattern=AWS_REGION_RE, pattern_reason="is not an AWS region"),
                                        unique=True),
        "Edge locations being removed: they stay in the core network policy while the attachments move off "
        "them (AWS refuses a policy that orphans an attachment). Move a location here from edgeLocations, "
        "deploy, then delete it here and deploy again (docs/runbook-network.md).", default=(),
        example="[us-west-2]")


@dataclass(frozen=True)
class AwsSpec:
    """The AWS side: account, backbone (Transit Gateway or Cloud WAN), Direct Connect gateway, SaaS VPCs."""

    account_id: str = spec("accountId", Str(pattern=ACCOUNT_ID_RE, pattern_reason="must be 12 digits",
                                            checks=(_check_account,)),
                           "AWS account id (12 digits, quoted).", example='"111122223333"',
                           fix='write the 12-digit account id in quotes, e.g. "111122223333"')
    backbone: str = spec("backbone", Enum("transit-gateway", "cloud-wan"),
                         "transit-gateway or cloud-wan.", example="transit-gateway")
    direct_connect_gateway_asn: int = spec("directConnectGatewayAsn", Int(minimum=1, maximum=4294967294),
                                           "Amazon-side ASN of the Direct Connect gateway.", example=64513)
    vpcs: tuple[Vpc, ...] = spec("vpcs", ListOf(Obj(Vpc), min_items=1), "The SaaS VPCs that use the bridge.")
    transit_gateway_asn: int | None = spec("transitGatewayAsn", Int(minimum=1, maximum=4294967294),
                                           "Amazon-side ASN of the transit gateway (backbone: transit-gateway).",
                                           default=None, example=64512)
    core_network: CoreNetwork | None = spec("coreNetwork", Obj(CoreNetwork),
                                            "Cloud WAN core network (backbone: cloud-wan).", default=None)
    # Each customer stack creates one Route 53 private hosted zone per name it publishes, associated
    # with every SaaS VPC (stacks/dns.py, docs/dns.md); validation counts them across the customers.
    route53_hosted_zone_quota: int = spec(
        "route53HostedZoneQuota", Int(minimum=1, maximum=1_000_000),
        "Route 53 hosted zones the customers of this bridge may create in the SaaS account (one per published "
        "name): the account's hosted-zone quota (500 unless raised) minus the zones the account holds "
        "otherwise, and minus other bridges' share when several bridges use one account.",
        default=L.ROUTE53_HOSTED_ZONES_PER_ACCOUNT, example=500)
    route53_vpcs_per_zone_quota: int = spec(
        "route53VpcsPerZoneQuota", Int(minimum=1, maximum=1_000_000),
        "The account's quota of VPCs associated with one Route 53 private hosted zone (300 unless raised); "
        "every customer zone is associated with every SaaS VPC.",
        default=L.ROUTE53_VPCS_PER_PRIVATE_ZONE, example=300)
    # Each AWS endpoint of a customer is an interface VPC endpoint in a SaaS VPC; validation counts them
    # per VPC across the customers (stacks.limits.AWS_INTERFACE_ENDPOINTS_PER_VPC).
    interface_endpoints_per_vpc_quota: int = spec(
        "interfaceEndpointsPerVpcQuota", Int(minimum=1, maximum=100_000),
        "Interface VPC endpoints the customers of this bridge may create in each SaaS VPC: the account's "
        "quota \"Interface and Gateway Load Balancer endpoints per VPC\" (50 unless raised) minus the "
        "endpoints the VPC holds otherwise.",
        default=L.AWS_INTERFACE_ENDPOINTS_PER_VPC, example=50)


@dataclass(frozen=True)
class Router:
    """One Equinix Fabric Cloud Router."""

    name: str = spec("name", Str(pattern=L.EQUINIX_NAME_PATTERN,
                                 pattern_reason="must be 1-24 characters of letters, digits, - and _"),
                     "The FCR's name at Equinix (at most 24 characters).", example="fcr-a")
    metro: str = spec("metro", Str(pattern=METRO_RE, pattern_reason="must be a two-letter Equinix metro code"),
                      "Equinix metro code, e.g. DC (Ashburn / Washington DC).", example="DC")
    link_slot: int | None = spec(
        "linkSlot", Int(minimum=0, maximum=16383),
        "Pin this router's transit VIF /30 to a slot of awsLinkPool. By default the slot is derived from "
        "the router's name, so adding, removing or reordering routers never renumbers a link.",
        default=None)


@dataclass(frozen=True)
class BfdSpec:
    """BFD on every BGP session of the bridge."""

    enabled: bool = spec("enabled", Bool(), "Run BFD on every session.", default=True)
    interval_ms: int = spec("intervalMs", Int(minimum=L.BFD_MIN_INTERVAL_MS, maximum=30000),
                            "BFD transmit/receive interval; AWS and Microsoft accept 300 ms or more.",
                            default=300, example=300,
                            fix=f"use {L.BFD_MIN_INTERVAL_MS} ms or more (AWS and Microsoft minimum)")


@dataclass(frozen=True)
class ExchangeSpec:
    """The cloud exchange between AWS and Azure: Equinix Fabric Cloud Routers."""

    provider: str = spec("provider", Enum("equinix"), "The exchange; equinix is the only one today.",
                         example="equinix")
    project_id: str = spec("projectId", Str(pattern=UUID_RE, pattern_reason="is not a UUID"),
                           "Equinix Fabric project id.", example="0e1f2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7")
    account_number: int = spec("accountNumber", Int(minimum=1, maximum=2**53),
                               "Equinix billing account number.", example=123456)
    notification_emails: tuple[str, ...] = spec(
        "notificationEmails", ListOf(Str(pattern=EMAIL_RE, pattern_reason="is not an email address"),
                                     min_items=1, unique=True),
        "Who Equinix notifies about the routers and connections.", example="[netops@example.com]")
    package: str = spec("package", Enum(*L.FCR_PACKAGES), "FCR package.", example="STANDARD")
    bandwidth_mbps: int = spec("bandwidthMbps", Int(choices=L.EXPRESSROUTE_BANDWIDTHS_MBPS),
                               "Bandwidth of each connection and of the ExpressRoute circuit, in Mbps.",
                               example=1000)
    # One FCR, or two for redundancy: the circuit's primary and secondary connections come from them
    # (docs/sources.md#equinix-2b). With bridge:azure.secondCircuit, one or two more in the second
    # circuit's metro.
    routers: tuple[Router, ...] = spec("routers", ListOf(Obj(Router), min_items=1, max_items=2 * MAX_CIRCUITS),
                                       "One or two FCRs in the metro of each circuit.")
    bfd: BfdSpec = spec("bfd", Obj(BfdSpec), "BFD settings.", default=BfdSpec())
    equinix_asn: int | None = spec(
        "equinixAsn", Int(minimum=1, maximum=4294967294),
        "The metro's Equinix-registered FCR ASN (shown in the Fabric portal). When unset the program reads "
        "it from Equinix at deploy time, and the offline plan and the twin use a stand-in.", default=None)
    # Equinix assigns the FCR ASN per metro (fabric.get_metro returns `equinixAsn` for a metro code;
    # docs/sources.md#equinix-1), so a bridge in two metros has two.
    second_equinix_asn: int | None = spec(
        "secondEquinixAsn", Int(minimum=1, maximum=4294967294),
        "With bridge:azure.secondCircuit: the Equinix-registered FCR ASN of the second circuit's metro. When "
        "unset the program reads it from Equinix at deploy time.", default=None)


@dataclass(frozen=True)
class CircuitSpec:
    """The ExpressRoute circuit, with Equinix as provider."""

    peering_location: str = spec("peeringLocation", Str(min_len=2, max_len=64),
                                 "ExpressRoute peering location (exact Azure name).", example="Washington DC")
    tier: str = spec("tier", Enum(*L.CIRCUIT_TIERS), "Circuit tier.", example="Standard")
    family: str = spec("family", Enum(*L.CIRCUIT_FAMILIES), "Billing family.", example="MeteredData")
    # 1-4094, the VLAN Equinix programs on the Azure-side connections (docs/sources.md#azure-2 "Other peering rules",
    # §4 rule 6).
    peering_vlan: int = spec("peeringVlan", Int(minimum=L.VLAN_RANGE[0], maximum=L.VLAN_RANGE[1]),
                             "VLAN of the Azure private peering.", example=300)


@dataclass(frozen=True)
class EndpointSpoke:
    """A VNet peered to the hub that holds private endpoints when the hub's endpoint subnet fills up. It
    reaches the circuit through the hub's ExpressRoute gateway (gateway transit; L.AZURE_GATEWAY_TRANSIT_URL)."""

    name: str = spec("name", Str(pattern=NAME_RE, pattern_reason="must be 1-40 of a-z, 0-9 and -"),
                     "Spoke name, unique in the bridge: its resources are named after it (vnet-<name>-<stack>) and "
                     "customers name it in bridge:customer.endpointSpoke. Never rename a spoke that holds endpoints.",
                     example="spoke-1")
    cidr: ipaddress.IPv4Network = spec("cidr", Cidr(min_prefix=8, max_prefix=28),
                                       "The spoke VNet's address space: advertised to AWS like the hub's.",
                                       example="10.21.0.0/24")
    endpoint_subnet_prefix_length: int | None = spec(
        "endpointSubnetPrefixLength", Int(minimum=16, maximum=28),
        "Prefix length of the spoke's endpoint subnet, carved from the start of cidr (default: the hub's "
        "endpointSubnetPrefixLength, or the whole cidr when that is smaller).", default=None, example=24)


@dataclass(frozen=True)
class AzureSpec:
    """The Azure side: hub VNet, ExpressRoute circuit and gateway."""

    resource_group: str = spec("resourceGroup", Str(pattern=RESOURCE_GROUP_RE,
                                                    pattern_reason="is not a valid resource group name"),
                               "Resource group the bridge creates.", example="rg-bridge-dev")
    hub_cidr: ipaddress.IPv4Network = spec("hubCidr", Cidr(min_prefix=8, max_prefix=26),
                                           "Hub VNet address space.", example="10.20.0.0/22")
    circuit: CircuitSpec = spec("circuit", Obj(CircuitSpec), "The ExpressRoute circuit.")
    gateway_sku: str = spec("gatewaySku", Enum(*L.GATEWAY_SKUS), "ExpressRoute gateway SKU.", example="ErGw1AZ")
    extra_prefixes: tuple[ipaddress.IPv4Network, ...] = spec(
        "extraPrefixes", ListOf(Cidr(min_prefix=0, max_prefix=32), unique=True),
        "Other Azure prefixes to advertise to AWS (spoke VNets).", default=(), example="[10.30.0.0/16]")
    endpoint_subnet_prefix_length: int = spec(
        "endpointSubnetPrefixLength", Int(minimum=16, maximum=28),
        "Prefix length of the private endpoint subnet carved from hubCidr.", default=24)
    gateway_public_ip: bool = spec(
        "gatewayPublicIp", Bool(),
        "Create a Standard public IP for the ExpressRoute gateway. Set false in regions where Azure "
        "assigns it itself (never change it after the gateway exists).", default=True)
    second_circuit: CircuitSpec | None = spec(
        "secondCircuit", Obj(CircuitSpec),
        "A second ExpressRoute circuit, at another peering location: the routers in its metro carry it, and the "
        "ExpressRoute gateway connects to both circuits (Microsoft's maximum resiliency). Adding it renumbers "
        "nothing of the first circuit.", default=None)
    endpoint_spokes: tuple[EndpointSpoke, ...] = spec(
        "endpointSpokes", ListOf(Obj(EndpointSpoke)),
        "VNets peered to the hub that hold more private endpoints than the hub can (Azure caps private "
        "endpoints per VNet and addresses per subnet); customers name theirs in bridge:customer.endpointSpoke. "
        "Add spokes anywhere in the list as customers grow: nothing existing is renumbered.", default=())


@dataclass(frozen=True)
class AddressingSpec:
    """Address pools for the BGP links."""

    aws_link_pool: ipaddress.IPv4Network = spec("awsLinkPool", Cidr(min_prefix=16, max_prefix=30),
                                                "Pool of /30s for the transit VIFs.", example="169.254.100.0/24")
    azure_link_pool: ipaddress.IPv4Network = spec("azureLinkPool", Cidr(min_prefix=16, max_prefix=29),
                                                  "Pool of /30 pairs for the ExpressRoute private peering.",
                                                  example="192.168.100.0/24")


@dataclass(frozen=True)
class EquinixSinkSpec:
    """Where the Equinix Fabric stream delivers the bridge's events (Fabric has no e-mail sink)."""

    type: str = spec("type", Enum("WEBHOOK", "SLACK", "TEAMS"),
                     "Sink type of the Fabric stream subscription; its URI is the secret bridge:alarmSinkUri "
                     "(it carries a token).", example="SLACK")


@dataclass(frozen=True)
class AlarmsSpec:
    """The bridge's alarms on AWS, Azure and Equinix (components/alarms.py, docs/runbook-network.md)."""

    enabled: bool = spec("enabled", Bool(), "Deploy the alarms with the bridge.", default=True)
    emails: tuple[str, ...] = spec(
        "emails", ListOf(Str(pattern=EMAIL_RE, pattern_reason="is not an email address"), unique=True),
        "Who the SNS topic and the Azure action group e-mail; by default bridge:exchange.notificationEmails.",
        default=(), example="[oncall@example.com]")
    sns_topic_arn: str | None = spec(
        "snsTopicArn", Str(pattern=r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}",
                           pattern_reason="is not an SNS topic ARN"),
        "An existing SNS topic for the CloudWatch alarms instead of the bridge's own.", default=None,
        example="arn:aws:sns:us-east-1:111122223333:oncall")
    action_group_id: str | None = spec(
        "actionGroupId", Str(pattern=r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
                                     r"(?i:microsoft\.insights)/actionGroups/[^/]+",
                             pattern_reason="is not an Azure action group id"),
        "An existing Azure Monitor action group for the metric alerts instead of the bridge's own.", default=None)
    equinix_sink: EquinixSinkSpec | None = spec(
        "equinixSink", Obj(EquinixSinkSpec),
        "Deliver the Fabric stream's events to this sink (a stream subscription).", default=None)


# Tags go on AWS and Azure resources alike, so keys and values keep to the lengths and characters both
# clouds accept (AWS: keys 1-128, values 0-256 characters). The reference notes do not cover tags.
TAG_KEY = Str(pattern=r"[A-Za-z0-9 _.:/=+@-]{1,128}", pattern_reason="must be 1-128 of letters, digits, "
              "spaces and _ . : / = + @ -")
TAG_VALUE = Str(pattern=r"[A-Za-z0-9 _.:/=+@-]{0,256}", pattern_reason="must be at most 256 of letters, digits, "
                "spaces and _ . : / = + @ -")


@dataclass(frozen=True)
class BridgeSpec:
    """A bridge stack."""

    stack: str
    aws_region: str
    azure_location: str
    azure_subscription_id: str
    aws: AwsSpec
    exchange: ExchangeSpec
    azure: AzureSpec
    addressing: AddressingSpec
    bgp_auth_keys: Mapping[str, SecretRef]
    tags: Mapping[str, str]
    kind: Literal["bridge"] = "bridge"
    alarms: AlarmsSpec = AlarmsSpec()
    #: bridge:vpnBackup (stacks/vpn.py); None without a backup path
    vpn_backup: VpnBackupSpec | None = None


# --- customer stack -------------------------------------------------------------------------------

PLATFORMS = ("snowflake", "databricks", "starburst", "redshift")
CLOUDS = ("azure", "aws")


@dataclass(frozen=True)
class PlatformProfile:
    """What a data platform needs from a private endpoint on one cloud."""

    domain: str | None        # its private DNS domain; None: the endpoint names a zone of its own
    ports: tuple[int, ...]    # TCP ports the SaaS opens toward the endpoint
    group_ids: tuple[str, ...] = ()  # Azure private endpoint sub-resources
    handoff: str = ""         # what the customer does on their side


# Ports and domains: Snowflake (443 and 80 for OCSP; privatelink.snowflakecomputing.com) docs/sources.md#aws-5-2,
# docs/sources.md#azure-5-2; Databricks front end (443; privatelink.azuredatabricks.net on Azure,
# privatelink.cloud.databricks.com on AWS) docs/sources.md#aws-5-3, #azure-5-3; Redshift 5439
# docs/sources.md#aws-5-4;
# Starburst (443; the customer's own zone) docs/sources.md#aws-5-5, #azure-5-4. The bridge never holds a zone
# for a whole domain: each name published in one gets a zone of its own (stacks/dns.py).
PLATFORM_PROFILES: dict[tuple[str, str], PlatformProfile] = {
    ("snowflake", "azure"): PlatformProfile(SNOWFLAKE_DOMAIN, (443, 80)),
    ("snowflake", "aws"): PlatformProfile(SNOWFLAKE_DOMAIN, (443, 80)),
    ("databricks", "azure"): PlatformProfile(AZURE_DATABRICKS_DOMAIN, (443,), ("databricks_ui_api",)),
    ("databricks", "aws"): PlatformProfile(AWS_DATABRICKS_DOMAIN, (443,)),
    ("starburst", "azure"): PlatformProfile(None, (443,)),
    ("starburst", "aws"): PlatformProfile(None, (443,)),
    ("redshift", "aws"): PlatformProfile(None, (5439,)),
}

#: The Azure Databricks sub-resource for single sign-on callbacks through Private Link (one per
#: region, shared by the region's workspaces; docs/sources.md#azure-5-3).
BROWSER_AUTH_GROUP_ID = "browser_authentication"


@dataclass(frozen=True)
class EndpointSpec:
    """One private endpoint toward a customer's data platform."""

    name: str = spec("name", Str(pattern=NAME_RE, pattern_reason="must be 1-40 of a-z, 0-9 and -"),
                     "Endpoint name, unique in this customer.", example="snowflake")
    platform: str = spec("platform", Enum(*PLATFORMS), "The data platform.", example="snowflake")
    cloud: str = spec("cloud", Enum(*CLOUDS), "Where the customer's platform runs.", example="azure")
    service: str | None = spec(
        "service", Str(min_len=3, max_len=400),
        "What the platform hands the customer: an Azure Private Link service alias or resource id "
        "(cloud: azure), a VPC endpoint service name (cloud: aws).", default=None,
        fix="write the service the platform gave, as a string (see docs/stack-config.md)")
    hostnames: tuple[str, ...] = spec(
        "hostnames", ListOf(Str(min_len=1, max_len=253), unique=True),
        "Hostnames the SaaS uses; they resolve to the endpoint's private address.", default=(),
        example="[acme-xy12345.east-us-2.privatelink.snowflakecomputing.com]")
    zone: str | None = spec(
        "zone", Str(min_len=3, max_len=253),
        "Private DNS zone for the hostnames when the platform has none of its own (starburst, redshift); "
        "this customer stack creates it.", default=None, example="acme.internal")
    vpc: str | None = spec("vpc", Str(pattern=NAME_RE, pattern_reason="must be a VPC name of the bridge"),
                           "Bridge VPC that holds an AWS endpoint (default: the bridge's first VPC).",
                           default=None, example="saas")
    cluster: str | None = spec("cluster", Str(pattern=REDSHIFT_CLUSTER_RE,
                                              pattern_reason="is not a Redshift cluster identifier"),
                               "Redshift: the cluster identifier (instead of service).", default=None,
                               example="analytics")
    owner_account: str | None = spec("ownerAccount", Str(pattern=ACCOUNT_ID_RE, pattern_reason="must be 12 digits"),
                                     "Redshift: the AWS account that owns the cluster.", default=None,
                                     example='"444455556666"')
    browser_authentication: bool = spec(
        "browserAuthentication", Bool(),
        "Databricks on Azure, for workspaces that use single sign-on: also a private endpoint to the "
        "workspace's browser_authentication sub-resource and the region's <region>.pl-auth name. One per "
        "Azure region on a bridge.", default=False, example=True)
    workspace_region: str | None = spec(
        "workspaceRegion",
        Str(pattern=AZURE_LOCATION_RE, pattern_reason="is not an Azure location name such as eastus2"),
        "Databricks on Azure with browserAuthentication: the workspace's Azure region (default: the bridge's "
        "azure-native:location).", default=None, example="eastus2")
    renamed_from: str | None = spec(
        "renamedFrom", Str(pattern=NAME_RE, pattern_reason="must be 1-40 of a-z, 0-9 and -"),
        "The name this endpoint was first deployed under, after a rename: its cloud resources keep that "
        "name, so renaming changes nothing in the cloud (`bridgectl customer endpoint rename` sets it). "
        "Keep it, unchanged, through later renames.", default=None, example="lakehouse")


@dataclass(frozen=True)
class CustomerSpec:
    """A customer stack."""

    stack: str
    aws_region: str | None
    azure_location: str | None
    azure_subscription_id: str | None
    id: str
    bridge_stack: str
    endpoints: tuple[EndpointSpec, ...]
    tags: Mapping[str, str]
    kind: Literal["customer"] = "customer"
    #: the bridge's endpoint spoke that holds this customer's Azure private endpoints (None: the hub)
    endpoint_spoke: str | None = None


@dataclass(frozen=True)
class _CustomerBody:
    """The bridge:customer mapping."""

    id: str = spec("id", Str(pattern=NAME_RE, pattern_reason="must be 1-40 of a-z, 0-9 and -"),
                   "Customer id, unique per bridge; the stack file is Pulumi.<bridgeStack>.<id>.yaml.",
                   example="acme")
    bridge_stack: str = spec("bridgeStack", Str(pattern=r"[A-Za-z0-9_-]{1,64}",
                                                pattern_reason="is not a stack name"),
                             "The bridge stack this customer attaches to.", example="dev")
    endpoints: tuple[EndpointSpec, ...] = spec("endpoints", ListOf(Obj(EndpointSpec), min_items=1),
                                               "The customer's private endpoints.")
    endpoint_spoke: str | None = spec(
        "endpointSpoke", Str(pattern=NAME_RE, pattern_reason="must be the name of a spoke of the bridge"),
        "The spoke of bridge:azure.endpointSpokes that holds this customer's Azure private endpoints (default: the "
        "hub). `bridgectl customer add` writes it; changing it replaces the customer's private endpoints (new "
        "addresses, new approval by the platform).", default=None, example="spoke-1")


Spec = BridgeSpec | CustomerSpec

# --- top-level keys -------------------------------------------------------------------------------

PROVIDER_KEYS: dict[str, Str] = {
    "aws:region": Str(pattern=AWS_REGION_RE, pattern_reason="is not an AWS region such as us-east-1"),
    "azure-native:location": Str(pattern=AZURE_LOCATION_RE,
                                 pattern_reason="is not an Azure location name such as eastus2"),
    "azure-native:subscriptionId": Str(pattern=UUID_RE, pattern_reason="is not a subscription id (a UUID)"),
}

BRIDGE_SECTIONS: dict[str, Obj] = {
    f"{NS}aws": Obj(AwsSpec),
    f"{NS}exchange": Obj(ExchangeSpec),
    f"{NS}azure": Obj(AzureSpec),
    f"{NS}addressing": Obj(AddressingSpec),
}
TAGS_KEY = f"{NS}tags"
BGP_KEYS_KEY = f"{NS}bgpAuthKeys"
ALARMS_KEY = f"{NS}alarms"
ALARM_SINK_KEY = f"{NS}alarmSinkUri"
CUSTOMER_KEY = f"{NS}customer"
OPTIONAL_BRIDGE_KEYS = {
    TAGS_KEY: MapOf(TAG_VALUE, key=TAG_KEY, value_fix="write the value as a string, e.g. `owner: netops`"),
    BGP_KEYS_KEY: MapOf(Secret(), key=Str(pattern=r"[A-Za-z0-9_-]{1,40}", pattern_reason="is not a BGP session id")),
    ALARMS_KEY: Obj(AlarmsSpec),
    ALARM_SINK_KEY: Secret(),
    VPN_BACKUP_KEY: Obj(VpnBackupSpec),
}
KNOWN_BRIDGE_KEYS = (*BRIDGE_SECTIONS, *OPTIONAL_BRIDGE_KEYS, CUSTOMER_KEY)

# Provider credentials a stack file may carry: only ever as `secure:` values. The Equinix keys are
# the provider's own config (docs/sources.md#equinix-0); secrets are set with `pulumi config set --secret`
# (docs/sources.md#pulumi-4-2). The AWS and Azure Native keys are those providers' static credentials.
SECRET_CONFIG_KEYS = ("equinix:clientSecret", "equinix:token", "aws:secretKey", "aws:token",
                      "azure-native:clientSecret")


def stack_kind(config: Mapping[str, Any], stack: str | None = None) -> Literal["bridge", "customer"] | None:
    """Which kind of stack a config is; a file holding keys of both goes by its stack name.

    Bridge stacks are named ``<bridge>``, customer stacks ``<bridge>.<customer>``.
    """
    customer = CUSTOMER_KEY in config
    bridge = any(k in config for k in BRIDGE_SECTIONS)
    if customer and bridge and stack is not None:
        return "customer" if "." in stack else "bridge"
    if customer:
        return "customer"
    return "bridge" if bridge else None


# --- naming shared by plan, components and twin ------------------------------------------------


def aws_session_key_id(router: str) -> str:
    """The id under bridge:bgpAuthKeys of the MD5 key of a router's transit VIF session."""
    return f"{router}-aws"


AZURE_SESSION_KEY_ID = "azure"  # one shared key for both links of the private peering
SECOND_AZURE_SESSION_KEY_ID = "azure-2"  # the second circuit's private peering


# --- rules --------------------------------------------------------------------------------------


def _asn_problems(asn: int, path: str, problems: Problems, *, amazon_side: bool) -> None:
    # Amazon-side ranges: pulumi_aws docstrings (docs/sources.md#aws-q16).
    if amazon_side and not L.asn_in_ranges(asn, L.AMAZON_ASN_RANGES):
        problems.error(path, asn, "is outside the Amazon-side ranges 64512-65534 and 4200000000-4294967294",
                       "pick a private ASN such as 64512-65534")
        return
    # Azure reserves 8074, 8075, 12076, 65515-65520 (expressroute-routing.md; docs/sources.md#azure-4-rule-1).
    if asn in L.AZURE_RESERVED_ASNS:
        problems.error(path, asn, "is reserved by Azure (8074, 8075, 12076, 65515-65520)",
                       "pick another private ASN, e.g. 64512-65514")
    # IANA-reserved ASNs are rejected by every peer (RFC 7607/6793/5398/7300; docs/sources.md#azure-4-rule-2).
    elif L.iana_reserved(asn):
        problems.error(path, asn, "is reserved by IANA", "pick a private ASN such as 64512-65514")
    elif asn in L.EQUINIX_RESERVED_ASNS:
        problems.error(path, asn, "is reserved by Equinix (112, 64600, 4200000000-4200000002)",
                       "pick another private ASN")


def _each(items: Iterable[T | None] | None) -> list[tuple[int, T]]:
    """(index, item) of a parsed list, skipping items that failed to parse.

    A list that failed to parse as a whole is None (its problem is already recorded); the rules then
    see no items rather than stopping, so every other problem is still reported.
    """
    return [(i, item) for i, item in enumerate(items or ()) if item is not None]


def _parse_asn_range(text: str) -> tuple[int, int] | None:
    m = re.fullmatch(r"(\d+)-(\d+)", text)
    if not m:
        return None
    return int(m.group(1)), int(m.group(2))


def _validate_aws(aws: AwsSpec, path: str, region: str | None, problems: Problems) -> None:
    dx = aws.direct_connect_gateway_asn
    if dx is not None:
        _asn_problems(dx, f"{path}.directConnectGatewayAsn", problems, amazon_side=True)
    if aws.backbone == "transit-gateway":
        tgw = aws.transit_gateway_asn
        if tgw is None and not problems.at(f"{path}.transitGatewayAsn"):
            problems.error(f"{path}.transitGatewayAsn", MISSING, "is required with backbone: transit-gateway",
                           "add `transitGatewayAsn: 64512`")
        elif tgw is not None:
            _asn_problems(tgw, f"{path}.transitGatewayAsn", problems, amazon_side=True)
            # AWS rejects the DX gateway association when both ASNs are equal (docs/sources.md#aws-q14).
            if dx is not None and tgw == dx:
                problems.error(f"{path}.directConnectGatewayAsn", dx,
                               "equals transitGatewayAsn; AWS rejects the association when they match",
                               f"use another ASN, e.g. {dx + 1 if dx < 65514 else 64512}")
        if aws.core_network is not None:
            cn_value = {"asnRanges": [r for _, r in _each(aws.core_network.asn_ranges)],
                        "edgeLocations": [e for _, e in _each(aws.core_network.edge_locations)]}
            problems.error(f"{path}.coreNetwork", cn_value, "is only used with backbone: cloud-wan",
                           "remove it, or set backbone: cloud-wan")
    elif aws.backbone == "cloud-wan":
        if aws.transit_gateway_asn is not None:
            problems.warn(f"{path}.transitGatewayAsn", aws.transit_gateway_asn,
                          "is ignored with backbone: cloud-wan", "remove it")
        cn = aws.core_network
        if cn is None:
            if not problems.at(f"{path}.coreNetwork"):
                problems.error(f"{path}.coreNetwork", MISSING, "is required with backbone: cloud-wan",
                               'add `coreNetwork: {asnRanges: ["64700-64799"], edgeLocations: [us-east-1]}`')
        else:
            ranges: list[tuple[int, int]] = []
            for i, text in _each(cn.asn_ranges):
                rng = _parse_asn_range(text)
                if rng is None:
                    continue
                lo, hi = rng
                rpath = f"{path}.coreNetwork.asnRanges[{i}]"
                # Cloud WAN asn_ranges allow only Amazon-side private ranges (docs/sources.md#aws-2).
                if lo > hi:
                    problems.error(rpath, text, "starts above its end", f"write it as {hi}-{lo}")
                elif not any(a <= lo and hi <= b for a, b in L.AMAZON_ASN_RANGES):
                    problems.error(rpath, text, "is not inside 64512-65534 or 4200000000-4294967294",
                                   "use a private range such as 64700-64799")
                else:
                    if any(lo <= a <= hi for a in L.AZURE_RESERVED_ASNS):
                        problems.error(rpath, text, "includes ASNs Azure reserves (65515-65520)",
                                       "end the range below 65515")
                    ranges.append((lo, hi))
            # The DX gateway ASN must lie outside the core network's ranges (docs/sources.md#aws-2).
            if dx is not None and any(lo <= dx <= hi for lo, hi in ranges):
                problems.error(f"{path}.directConnectGatewayAsn", dx,
                               "lies inside coreNetwork.asnRanges; AWS requires the DX gateway ASN outside them",
                               "pick an ASN outside the core network's ranges")
            edges = [e for _, e in _each(cn.edge_locations)]
            if ranges and sum(hi - lo + 1 for lo, hi in ranges) < len(edges):
                problems.error(f"{path}.coreNetwork.asnRanges", [r for _, r in _each(cn.asn_ranges)],
                               f"holds fewer ASNs than the {len(edges)} edge locations", "widen the ranges")
            if region and edges and region not in edges:
                problems.error(f"{path}.coreNetwork.edgeLocations", edges,
                               f"does not include aws:region {region}, where the VPCs are",
                               f"add {region}")
            for i, loc in _each(cn.retiring_edge_locations):
                where = f"{path}.coreNetwork.retiringEdgeLocations[{i}]"
                if loc in edges:
                    problems.error(where, loc, "is also in edgeLocations",
                                   "keep it in one list: edgeLocations to use it, retiringEdgeLocations to remove it")
                else:
                    problems.warn(where, loc, "is being removed in two deployments: this one moves the Direct "
                                  "Connect gateway attachment off it while the policy keeps it; the next one "
                                  "takes it out of the policy",
                                  "after this change is deployed and the attachment is AVAILABLE again, delete "
                                  "it from retiringEdgeLocations")
    vpcs = _each(aws.vpcs)
    _unique([(i, v.name) for i, v in vpcs if v.name], f"{path}.vpcs", "name", problems)
    _unique([(i, v.vpc_id) for i, v in vpcs if v.vpc_id], f"{path}.vpcs", "vpcId", problems)
    for i, v in vpcs:
        if v.route_table_ids == ():
            problems.warn(f"{path}.vpcs[{i}].routeTableIds", [],
                          "is empty: no VPC route toward Azure is created for this VPC",
                          "list the VPC's route tables, or add the routes yourself")
    # Every customer zone is associated with every SaaS VPC (stacks/dns.py): the VPCs of a bridge must fit
    # the account's quota of VPCs per private hosted zone (L.ROUTE53_QUOTAS_URL).
    count = len([v for _, v in vpcs if v.vpc_id])
    quota = aws.route53_vpcs_per_zone_quota
    if quota is not None and count > quota:
        problems.error(f"{path}.vpcs", f"{count} VPCs", f"exceed the {quota} VPCs one Route 53 private hosted zone "
                       f"can be associated with ({path}.route53VpcsPerZoneQuota; {L.ROUTE53_QUOTAS_URL}); every "
                       "customer zone is associated with every SaaS VPC",
                       "raise the quota in Service Quotas (US East (N. Virginia)) and route53VpcsPerZoneQuota, or "
                       "split the VPCs between bridges; see docs/dns.md")
    elif quota is not None and count > quota * L.BUDGET_WARN_RATIO:
        problems.warn(f"{path}.vpcs", f"{count} VPCs", f"use over {int(L.BUDGET_WARN_RATIO * 100)}% of the {quota} "
                      f"VPCs one Route 53 private hosted zone can be associated with ({path}.route53VpcsPerZoneQuota; "
                      f"{L.ROUTE53_QUOTAS_URL})", "request a higher quota before it fills up; see docs/dns.md")
    # The DX gateway advertises the allowed prefixes of its transit gateway association exactly as
    # listed: at most 200 (docs/sources.md#aws-q2, #aws-q4). With Cloud WAN the segment's routes are advertised instead
    # (docs/sources.md#aws-2), so stacks.plan counts this budget for transit-gateway only, and so do we.
    if aws.backbone == "transit-gateway":
        count = len([v for _, v in vpcs if v.cidr is not None])
        _budget(f"{path}.vpcs", count, L.AWS_MAX_ALLOWED_PREFIXES_PER_ASSOCIATION,
                "VPC CIDRs advertised by the Direct Connect gateway (allowed prefixes per association)", problems)


def _unique(items: Iterable[tuple[int, str]], path: str, key: str, problems: Problems) -> None:
    seen: dict[str, int] = {}
    for i, value in items:
        if value in seen:
            problems.error(f"{path}[{i}].{key}", value, f"repeats {path}[{seen[value]}].{key}",
                           f"give each a different {key}")
        else:
            seen[value] = i


def _budget(path: str, count: int, limit: int, what: str, problems: Problems) -> None:
    if count > limit:
        problems.error(path, f"{count} prefixes", f"exceeds the limit of {limit} {what}",
                       "summarize prefixes or split the bridge")
    elif count > limit * L.BUDGET_WARN_RATIO:
        problems.warn(path, f"{count} prefixes", f"uses over {int(L.BUDGET_WARN_RATIO * 100)}% of the "
                      f"limit of {limit} {what}", "plan summarization before it fills up")


def _validate_exchange(ex: ExchangeSpec, path: str, problems: Problems, *, two_circuits: bool = False) -> set[int]:
    """Rules of the exchange alone; returns the indices of routers whose metro was reported."""
    routers = _each(ex.routers)
    _unique([(i, r.name) for i, r in routers if r.name], f"{path}.routers", "name", problems)
    # Both routers feed the one ExpressRoute circuit, whose private peering has one peer ASN; Equinix
    # gives every FCR in a metro the same ASN and different metros different ones (docs/sources.md#equinix-1).
    # With two circuits, the routers of each circuit's metro feed that circuit (_validate_circuits).
    with_metro = [(i, r) for i, r in routers if r.metro]
    reported: set[int] = set()
    if not two_circuits and ex.routers is not None and len(ex.routers) > 2:
        problems.error(f"{path}.routers", [r.name for _, r in routers],
                       f"holds {len(ex.routers)} routers; one circuit takes at most two (its primary and secondary "
                       "links)", "remove routers, or add bridge:azure.secondCircuit and place the others in its metro")
    if with_metro and not two_circuits:
        first, r0 = with_metro[0]
        for i, r in with_metro[1:]:
            if r.metro != r0.metro:
                problems.error(f"{path}.routers[{i}].metro", r.metro,
                               f"differs from routers[{first}].metro ({r0.metro}); routers that share the "
                               "ExpressRoute circuit must be in one metro (one peer ASN per circuit)",
                               f"use metro {r0.metro} for both")
                reported.add(i)
    if ex.second_equinix_asn is not None:
        _asn_problems(ex.second_equinix_asn, f"{path}.secondEquinixAsn", problems, amazon_side=False)
        if not two_circuits:
            problems.warn(f"{path}.secondEquinixAsn", ex.second_equinix_asn,
                          "is ignored without bridge:azure.secondCircuit", "remove it")
    # LAB caps every connection at 10 Mbps (Equinix FCR API page; docs/sources.md#equinix-1).
    if ex.package == "LAB" and ex.bandwidth_mbps is not None and ex.bandwidth_mbps > L.LAB_MAX_BANDWIDTH_MBPS:
        problems.error(f"{path}.bandwidthMbps", ex.bandwidth_mbps,
                       f"exceeds the LAB package's {L.LAB_MAX_BANDWIDTH_MBPS} Mbps per connection (and ExpressRoute "
                       "starts at 50 Mbps, so LAB cannot carry this bridge)", "use package STANDARD")
    # Without BFD a silent failure waits for the BGP hold timers (docs/sources.md#aws-q20, #aws-q21,
    # #azure-4-rule-16, #azure-4-rule-17).
    if ex.bfd is not None and ex.bfd.enabled is False:
        problems.warn(f"{path}.bfd.enabled", False,
                      "turns BFD off: a silent failure is then detected only by BGP hold timers "
                      f"({L.AWS_BGP_HOLD_S} s toward AWS, {L.MICROSOFT_BGP_HOLD_S} s toward Microsoft)",
                      "keep BFD on")
    if ex.equinix_asn is not None:
        _asn_problems(ex.equinix_asn, f"{path}.equinixAsn", problems, amazon_side=False)
    return reported


def circuits_of(az: AzureSpec) -> tuple[CircuitSpec, ...]:
    """The bridge's ExpressRoute circuits: the first, then the second if there is one."""
    return (az.circuit,) if az.second_circuit is None else (az.circuit, az.second_circuit)


def circuit_metro(c: CircuitSpec) -> str | None:
    """The Fabric metro of a circuit's peering location (None for a location the table lacks)."""
    return EQUINIX_PEERING_LOCATIONS.get(c.peering_location) if c.peering_location else None


def router_circuits(routers: Iterable[Router], circuits: tuple[CircuitSpec, ...]) -> dict[str, int]:
    """Which circuit (0 or 1) each router carries: the circuit whose peering location sits in the
    router's metro. Two circuits in one metro split its routers by name, the first half to the first
    circuit; a router in neither circuit's metro (reported by validation) goes to the first."""
    named = sorted((r for r in routers if r.name), key=lambda r: r.name)
    if len(circuits) < 2:
        return {r.name: 0 for r in named}
    metros = [circuit_metro(c) for c in circuits]
    if metros[0] is not None and metros[0] == metros[1]:
        half = (len(named) + 1) // 2
        return {r.name: (0 if i < half else 1) for i, r in enumerate(named)}
    out = {}
    for r in named:
        if (r.metro and r.metro == metros[1]) or (metros[1] is None and r.metro != metros[0]):
            out[r.name] = 1
        else:
            out[r.name] = 0
    return out


@dataclass(frozen=True)
class SinglePoint:
    """One part whose loss alone cuts AWS from Azure: a warning of validate and plan, drawn in the
    diagram, and what the twin's single-failure scenarios exercise."""

    kind: Literal["router", "metro", "circuit", "peering-location", "aws-device"]
    name: str  # the router, metro, circuit peering location or AWS connection it names
    path: str
    value: Any
    reason: str
    fix: str


def single_points(routers: tuple[Router, ...], circuits: tuple[CircuitSpec, ...], *,
                  backup: bool = False) -> list[SinglePoint]:
    """Every single point of failure of a bridge's private path (Microsoft's and AWS's resiliency models: two
    circuits at two peering locations, Direct Connect at two locations on separate devices;
    docs/sources.md#azure-7, #aws-7). With the IPsec backup (``backup``) losing one leaves AWS and Azure
    joined by the VPN alone, at its throughput, instead of cutting them apart: the warning says so."""
    out: list[SinglePoint] = []
    cut = ("leaves only the IPsec backup (bridge:vpnBackup) between AWS and Azure" if backup
           else "cuts AWS from Azure")
    key = f"{NS}exchange.routers"
    names = [r.name for r in routers if r.name]
    if len(routers) == 1:
        # One router carries both ExpressRoute links and the only transit VIF (docs/sources.md#equinix-2b:
        # primary and secondary connections exist for redundancy).
        out.append(SinglePoint("router", names[0] if names else "", key, names,
                               f"has a single router: a single point of failure; losing it {cut}",
                               "add a second router in the same metro"))
        out.append(SinglePoint("aws-device", names[0] if names else "", key, names,
                               "gives the bridge one Direct Connect hosted connection, on one AWS device: a single "
                               "point of failure; AWS recommends connections on separate devices at two locations",
                               "add a second router: its hosted connection lands on other AWS equipment"))
    metros = sorted({r.metro for r in routers if r.metro})
    if len(metros) == 1:
        out.append(SinglePoint("metro", metros[0], key, names,
                               f"places every router in metro {metros[0]}: a single point of failure; losing the "
                               f"metro {cut}",
                               "add bridge:azure.secondCircuit at a peering location in another metro, with a router "
                               "there (docs/runbook-network.md)"))
    if len(circuits) == 1:
        c = circuits[0]
        out.append(SinglePoint("circuit", c.peering_location, f"{NS}azure.circuit", c.peering_location,
                               "is the bridge's only ExpressRoute circuit: a single point of failure; losing the "
                               f"circuit or its peering location {cut}",
                               "add bridge:azure.secondCircuit at a peering location in another metro"))
    elif circuits[0].peering_location and circuits[0].peering_location == circuits[1].peering_location:
        out.append(SinglePoint("peering-location", circuits[1].peering_location,
                               f"{NS}azure.secondCircuit.peeringLocation", circuits[1].peering_location,
                               "is the first circuit's peering location too: a single point of failure; losing the "
                               f"peering location {cut}",
                               "place the second circuit at a peering location in another metro"))
    return out


def _validate_circuits(az: AzureSpec, routers: list[tuple[int, Router]], problems: Problems) -> None:
    """Two circuits: every router in one of their metros, each circuit carried by one or two routers."""
    circuits = circuits_of(az)
    if len(circuits) < 2 or not routers:
        return
    metros = [circuit_metro(c) for c in circuits]
    owner = router_circuits([r for _, r in routers], circuits)
    for i, r in routers:
        if r.metro and metros[0] and metros[1] and r.metro not in metros:
            problems.error(f"{NS}exchange.routers[{i}].metro", r.metro,
                           f"is not the metro of either circuit ({metros[0]} for {circuits[0].peering_location}, "
                           f"{metros[1]} for {circuits[1].peering_location})",
                           f"use metro {metros[0]} or {metros[1]}")
    for n, (c, where) in enumerate(((circuits[0], f"{NS}azure.circuit"), (circuits[1], f"{NS}azure.secondCircuit"))):
        carriers = [r.name for _, r in routers if owner.get(r.name) == n
                    and not (r.metro and metros[0] and metros[1] and r.metro not in metros)]
        metro = metros[n] or "its metro"
        if not carriers:
            problems.error(where, c.peering_location, f"has no router in metro {metro} to carry it",
                           f"add a router with `metro: {metro}` to bridge:exchange.routers")
        elif len(carriers) > 2:
            problems.error(f"{NS}exchange.routers", carriers, f"puts {len(carriers)} routers on the circuit at "
                           f"{c.peering_location}; a circuit takes at most two (its primary and secondary links)",
                           "remove routers")


def _validate_azure(az: AzureSpec, path: str, routers: list[tuple[int, Router]], bandwidth: int | None,
                    problems: Problems, metro_reported: set[int]) -> None:
    if az.second_circuit is not None:
        _validate_second_circuit(az.second_circuit, f"{path}.secondCircuit", bandwidth, problems)
        _validate_circuits(az, routers, problems)
    c = az.circuit
    if c is not None:
        # Local circuits: UnlimitedData only, 1 Gbps and up (docs/sources.md#azure-1 "Local tier", §4 rule 13).
        if c.tier == "Local" and c.family == "MeteredData":
            problems.error(f"{path}.circuit.family", c.family, "is not available on Local circuits",
                           "use family UnlimitedData")
        if c.tier == "Local" and bandwidth is not None and bandwidth < L.LOCAL_MIN_BANDWIDTH_MBPS:
            problems.error(f"{NS}exchange.bandwidthMbps", bandwidth, "is below 1000, the smallest Local circuit",
                           "use 1000 or more, or tier Standard")
        # Each FCR connects to the circuit's ExpressRoute ports at its peering location; the table maps
        # Equinix peering locations to Fabric metros (docs/sources.md#azure-1, docs/sources.md#equinix-2b).
        if c.peering_location:
            metro = EQUINIX_PEERING_LOCATIONS.get(c.peering_location)
            if metro is None:
                near = [k for k in EQUINIX_PEERING_LOCATIONS if k.lower() == c.peering_location.lower()]
                if near:
                    problems.error(f"{path}.circuit.peeringLocation", c.peering_location,
                                   "does not match Azure's spelling", f"write {near[0]}")
                else:
                    problems.warn(f"{path}.circuit.peeringLocation", c.peering_location,
                                  "is not a known Equinix ExpressRoute location; Azure needs the exact name",
                                  "check `az network express-route list-service-providers`")
            elif az.second_circuit is None:
                for i, r in routers:
                    # A router already reported as being in another metro than the first needs no second line.
                    if r.metro and r.metro != metro and i not in metro_reported:
                        problems.error(f"{NS}exchange.routers[{i}].metro", r.metro,
                                       f"is not the metro of peering location {c.peering_location} ({metro})",
                                       f"use metro {metro}, or the peering location of metro {r.metro}")
    if az.hub_cidr is not None:
        gw_len = gateway_subnet_prefixlen(az.gateway_sku)
        if az.hub_cidr.prefixlen > gw_len:
            problems.error(f"{path}.hubCidr", str(az.hub_cidr),
                           f"is smaller than the /{gw_len} GatewaySubnet it must hold", "use a /22 or larger")
        elif (az.endpoint_subnet_prefix_length is not None
              and hub_subnets(az.hub_cidr, az.gateway_sku, az.endpoint_subnet_prefix_length) is None):
            problems.error(f"{path}.hubCidr", str(az.hub_cidr),
                           f"cannot hold a GatewaySubnet (/{gw_len}, first /26 reserved) and a "
                           f"/{az.endpoint_subnet_prefix_length} endpoint subnet",
                           "use a larger hubCidr or a longer endpointSubnetPrefixLength")
    # A default route is accepted on private peering but black-holes Azure's internet egress and draws
    # all of AWS's traffic into the bridge (docs/sources.md#azure-4-rule-11).
    for i, p in _each(az.extra_prefixes):
        if p.prefixlen == 0:
            problems.error(f"{path}.extraPrefixes[{i}]", str(p),
                           "is a default route; advertising it toward AWS draws all traffic into the bridge",
                           "list the spoke prefixes instead")


def _validate_second_circuit(c: CircuitSpec, path: str, bandwidth: int | None, problems: Problems) -> None:
    """The rules of a circuit alone, for the second circuit (the first's are in _validate_azure)."""
    if c.tier == "Local" and c.family == "MeteredData":
        problems.error(f"{path}.family", c.family, "is not available on Local circuits", "use family UnlimitedData")
    if c.tier == "Local" and bandwidth is not None and bandwidth < L.LOCAL_MIN_BANDWIDTH_MBPS:
        problems.error(f"{NS}exchange.bandwidthMbps", bandwidth, "is below 1000, the smallest Local circuit",
                       "use 1000 or more, or tier Standard on both circuits")
    if c.peering_location and c.peering_location not in EQUINIX_PEERING_LOCATIONS:
        near = [k for k in EQUINIX_PEERING_LOCATIONS if k.lower() == c.peering_location.lower()]
        if near:
            problems.error(f"{path}.peeringLocation", c.peering_location, "does not match Azure's spelling",
                           f"write {near[0]}")
        else:
            problems.warn(f"{path}.peeringLocation", c.peering_location,
                          "is not a known Equinix ExpressRoute location; Azure needs the exact name",
                          "check `az network express-route list-service-providers`")


def gateway_subnet_prefixlen(sku: str | None) -> int:
    # ErGwScale needs /26 (docs/sources.md#azure-3-1); other SKUs /27 or larger.
    return L.GATEWAY_SUBNET_SCALE_MAX_PREFIXLEN if sku == "ErGwScale" else L.GATEWAY_SUBNET_MAX_PREFIXLEN


def hub_subnets(hub: ipaddress.IPv4Network, sku: str | None, endpoint_len: int
                ) -> tuple[ipaddress.IPv4Network, ipaddress.IPv4Network] | None:
    """GatewaySubnet and endpoint subnet of a hub, or None if they do not fit.

    The GatewaySubnet takes the start of the hub; the first /26 is always reserved for it, so a
    later move to ErGwScale (which needs /26) never renumbers the endpoint subnet. The endpoint
    subnet is the first aligned block of its size after that reservation.
    """
    gw_len = gateway_subnet_prefixlen(sku)
    if hub.prefixlen > gw_len:
        return None
    gateway = ipaddress.IPv4Network((hub.network_address, gw_len))
    reserved_end = int(hub.network_address) + 64
    size = 2 ** (32 - endpoint_len)
    start = -(-reserved_end // size) * size  # round up to the block size
    if endpoint_len < hub.prefixlen or start + size > int(hub.broadcast_address) + 1:
        return None
    return gateway, ipaddress.IPv4Network((start, endpoint_len))


def spoke_subnet(spoke: EndpointSpoke, hub_endpoint_len: int | None) -> ipaddress.IPv4Network | None:
    """A spoke's endpoint subnet: the block of its length at the start of the spoke's cidr (the whole cidr
    by default when the hub's endpoint subnet length does not fit in it). A spoke has no GatewaySubnet: it
    uses the hub's gateway (gateway transit). None when the subnet does not fit in the spoke."""
    length = spoke.endpoint_subnet_prefix_length
    if length is None:
        length = max(hub_endpoint_len or 24, spoke.cidr.prefixlen)
    if length < spoke.cidr.prefixlen:
        return None
    return ipaddress.IPv4Network((spoke.cidr.network_address, length))


def find_spoke(az: AzureSpec, name: str | None) -> EndpointSpoke | None:
    """The endpoint spoke of that name (None for the hub, or for a name the bridge lacks)."""
    if name is None:
        return None
    return next((sp for sp in az.endpoint_spokes if sp.name == name), None)


def endpoint_subnet_of(az: AzureSpec, spoke: str | None) -> ipaddress.IPv4Network | None:
    """The endpoint subnet that holds the private endpoints of customers placed in ``spoke`` (None: the
    hub's); None when the bridge has no such spoke or the subnet does not fit."""
    if spoke is None:
        pair = hub_subnets(az.hub_cidr, az.gateway_sku, az.endpoint_subnet_prefix_length)
        return pair[1] if pair is not None else None
    found = find_spoke(az, spoke)
    return spoke_subnet(found, az.endpoint_subnet_prefix_length) if found is not None else None


def _validate_spokes(az: AzureSpec, path: str, problems: Problems) -> None:
    """Endpoint spokes: unique names, an endpoint subnet that fits each, and the hub's peerings within
    Azure's limit per VNet (one per spoke; L.AZURE_NETWORKING_LIMITS_URL)."""
    spokes = _each(az.endpoint_spokes)
    _unique([(i, sp.name) for i, sp in spokes if sp.name], path, "name", problems)
    for i, sp in spokes:
        if sp.cidr is not None and spoke_subnet(sp, az.endpoint_subnet_prefix_length) is None:
            problems.error(f"{path}[{i}].endpointSubnetPrefixLength", sp.endpoint_subnet_prefix_length,
                           f"is shorter than the spoke's cidr {sp.cidr}: the endpoint subnet is carved from the spoke",
                           f"use {sp.cidr.prefixlen} or longer, or a larger cidr")
    count = len(spokes)
    limit = L.AZURE_VNET_PEERINGS_PER_VNET
    what = (f"virtual network peerings Azure allows per VNet: the hub takes one per spoke "
            f"({L.AZURE_NETWORKING_LIMITS_URL})")
    if count > limit:
        problems.error(path, f"{count} spokes", f"exceed the {limit} {what}",
                       "put further customers on another bridge")
    elif count > limit * L.BUDGET_WARN_RATIO:
        problems.warn(path, f"{count} spokes", f"use over {int(L.BUDGET_WARN_RATIO * 100)}% of the {limit} {what}",
                      "plan another bridge before the hub runs out of peerings")


def _validate_overlaps(named: list[tuple[str, ipaddress.IPv4Network]], problems: Problems) -> None:
    # VPC CIDRs, the hub, spokes and both link pools are all routed across the bridge: any overlap
    # makes a route ambiguous, and Azure rejects peering subnets that overlap a VNet (docs/sources.md#azure-4-rule-4).
    # A sweep in address order finds the overlapping pairs without comparing every pair (a bridge may
    # list thousands of prefixes); each is reported on the later key, in the order of the file.
    order = sorted(range(len(named)), key=lambda n: (int(named[n][1].network_address), -named[n][1].prefixlen))
    active: list[int] = []
    pairs: list[tuple[int, int]] = []
    for n in order:
        start = int(named[n][1].network_address)
        active = [m for m in active if int(named[m][1].broadcast_address) >= start]
        pairs += [(min(m, n), max(m, n)) for m in active]
        active.append(n)
    for a, b in sorted(pairs, key=lambda pair: (pair[1], pair[0])):
        (pa, na), (pb, nb) = named[a], named[b]
        problems.error(pb, str(nb), f"overlaps {pa} ({na})", "use non-overlapping address space")


def _validate_bridge(cfg: Mapping[str, Any], spec_: BridgeSpec, problems: Problems) -> None:
    aws, ex, az, ad = spec_.aws, spec_.exchange, spec_.azure, spec_.addressing
    routers = _each(ex.routers if ex else ())
    vpcs = _each(aws.vpcs if aws else ())
    extra = _each(az.extra_prefixes if az else ())
    if aws is not None:
        _validate_aws(aws, f"{NS}aws", spec_.aws_region, problems)
    metro_reported: set[int] = set()
    two_circuits = az is not None and az.second_circuit is not None
    if ex is not None:
        metro_reported = _validate_exchange(ex, f"{NS}exchange", problems, two_circuits=two_circuits)
        # The FCR peers with the DX gateway over eBGP (docs/sources.md#equinix-3 "Addressing conventions"): the
        # two ASNs must differ.
        if ex.equinix_asn is not None and aws is not None:
            for key, asn in (("directConnectGatewayAsn", aws.direct_connect_gateway_asn),
                             ("transitGatewayAsn", aws.transit_gateway_asn)):
                if asn == ex.equinix_asn:
                    problems.error(f"{NS}exchange.equinixAsn", asn, f"equals bridge:aws.{key}; the FCR and AWS "
                                   "peer over eBGP and need different ASNs", "check the metro's ASN in the portal")
    spokes = _each(az.endpoint_spokes if az else ())
    if az is not None:
        _validate_azure(az, f"{NS}azure", routers, ex.bandwidth_mbps if ex else None, problems, metro_reported)
        _validate_spokes(az, f"{NS}azure.endpointSpokes", problems)
    named: list[tuple[str, ipaddress.IPv4Network]] = []
    named += [(f"{NS}aws.vpcs[{i}].cidr", v.cidr) for i, v in vpcs if v.cidr is not None]
    if az is not None and az.hub_cidr is not None:
        named.append((f"{NS}azure.hubCidr", az.hub_cidr))
    # A default route is reported on its own (above), and a repeated prefix by the list: as overlaps
    # they would only repeat those problems.
    first_of = {p: i for i, p in reversed(extra)}
    named += [(f"{NS}azure.extraPrefixes[{i}]", p) for i, p in extra if p.prefixlen > 0 and first_of[p] == i]
    if ad is not None:
        if ad.aws_link_pool is not None:
            named.append((f"{NS}addressing.awsLinkPool", ad.aws_link_pool))
        if ad.azure_link_pool is not None:
            named.append((f"{NS}addressing.azureLinkPool", ad.azure_link_pool))
    # A spoke's address space is advertised like the hub's, and Azure refuses to peer overlapping VNets
    # (L.AZURE_PEERING_OVERVIEW_URL). Last, so an overlap is reported on the spoke being added.
    named += [(f"{NS}azure.endpointSpokes[{i}].cidr", sp.cidr) for i, sp in spokes if sp.cidr is not None]
    _validate_overlaps(named, problems)
    if ad is not None and ad.aws_link_pool is not None and routers:
        _validate_link_slots(routers, ad.aws_link_pool, problems)
    # The first circuit's /29 is the first of azureLinkPool, the second circuit's the next one.
    if two_circuits and ad is not None and ad.azure_link_pool is not None and ad.azure_link_pool.prefixlen > 28:
        problems.error(f"{NS}addressing.azureLinkPool", str(ad.azure_link_pool),
                       "holds one /29; two circuits take two (one /30 pair each)", "use a /28 or larger")
    # Prefix budgets (see stacks.limits for the sources); counted as stacks.plan counts them.
    aws_prefixes = len([v for _, v in vpcs if v.cidr is not None])
    # The hub's gateway advertises every spoke's address space over the circuit (gateway transit), so the
    # spokes count like the hub (stacks.plan).
    spoke_prefixes = len([sp for _, sp in spokes if sp.cidr is not None])
    azure_prefixes = (1 if az is not None and az.hub_cidr is not None else 0) + len(extra) + spoke_prefixes
    if az is not None:
        # AWS: over 100 routes on a transit VIF session and the session goes idle (docs/sources.md#aws-q1).
        _budget(f"{NS}azure.endpointSpokes" if spoke_prefixes else f"{NS}azure.extraPrefixes", azure_prefixes,
                L.AWS_MAX_PREFIXES_PER_TRANSIT_VIF, "Azure prefixes AWS accepts per transit VIF session (the hub, "
                "its endpoint spokes and extraPrefixes)" if spoke_prefixes else
                "Azure prefixes AWS accepts per transit VIF session", problems)
    if aws is not None and az is not None and az.circuit is not None and az.circuit.tier:
        tier_limit = L.AZURE_MAX_PREFIXES_BY_TIER[az.circuit.tier]
        # Azure drops the private peering session above 4,000 / 10,000 routes
        # (docs/sources.md#azure-4-rule-8, #azure-4-rule-9).
        _budget(f"{NS}aws.vpcs", aws_prefixes, tier_limit,
                f"AWS prefixes Azure accepts on a {az.circuit.tier} circuit", problems)
        second = az.second_circuit
        if second is not None and second.tier and second.tier != az.circuit.tier:
            _budget(f"{NS}aws.vpcs", aws_prefixes, L.AZURE_MAX_PREFIXES_BY_TIER[second.tier],
                    f"AWS prefixes Azure accepts on a {second.tier} circuit (secondCircuit)", problems)
    if aws is not None and az is not None and az.gateway_sku:
        # The ExpressRoute gateway learns at most 4,000 / 9,500 / 60,000 routes by SKU (docs/sources.md#azure-3-4).
        _budget(f"{NS}aws.vpcs", aws_prefixes, L.GATEWAY_MAX_LEARNED_ROUTES[az.gateway_sku],
                f"routes an {az.gateway_sku} gateway learns", problems)
    if aws is not None and az is not None and ex is not None and ex.package:
        # The FCR holds the routes of both clouds; its package caps them (docs/sources.md#equinix-1 "Package limits").
        pkg_limit = L.FCR_PACKAGE_MAX_IPV4_ROUTES.get(ex.package)
        if pkg_limit:
            _budget(f"{NS}exchange.package", aws_prefixes + azure_prefixes, pkg_limit,
                    f"IPv4 routes in an FCR {ex.package} package", problems)
    # Keys you supply replace the generated ones of the sessions they name (stacks.plan); a key that
    # names no session is a typo that would silently leave a session on a generated key.
    for key in spec_.bgp_auth_keys:
        valid = [aws_session_key_id(r.name) for _, r in routers if r.name] + [AZURE_SESSION_KEY_ID]
        if two_circuits:
            valid.append(SECOND_AZURE_SESSION_KEY_ID)
        if key not in valid:
            problems.error(f"{BGP_KEYS_KEY}.{key}", {"secure": "..."}, "names no BGP session of this bridge",
                           f"use one of {', '.join(valid)}")
    # The single points of failure, once the stack is otherwise valid (they depend on its routers and
    # circuits being what they say).
    if not problems.errors and ex is not None and ex.routers is not None and az is not None and az.circuit is not None:
        circuits = tuple(c for c in circuits_of(az) if c is not None)
        for sp in single_points(tuple(r for _, r in routers), circuits,
                                backup=spec_.vpn_backup is not None):
            problems.warn(sp.path, sp.value, sp.reason, sp.fix)


def link_slot_count(pool: ipaddress.IPv4Network, prefixlen: int) -> int:
    return 2 ** (prefixlen - pool.prefixlen) if pool.prefixlen <= prefixlen else 0


def default_link_slot(name: str, slots: int) -> int:
    """A stable slot for a link, from its name alone (so no other link's change can move it)."""
    import hashlib

    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8], "big") % slots


def router_link_slot(router: Router, pool: ipaddress.IPv4Network) -> int:
    slots = link_slot_count(pool, 30)
    if router.link_slot is not None:
        return router.link_slot
    return default_link_slot(f"aws:{router.name}", slots)


def _validate_link_slots(routers: list[tuple[int, Router]], pool: ipaddress.IPv4Network,
                         problems: Problems) -> None:
    """Every router's transit VIF gets its own /30 of awsLinkPool (one /30 per VIF, docs/sources.md#aws-q27)."""
    slots = link_slot_count(pool, 30)
    path = f"{NS}addressing.awsLinkPool"
    if slots < len(routers):
        problems.error(path, str(pool), f"holds {slots} /30(s) for {len(routers)} transit VIF(s)",
                       "use a larger pool, e.g. a /24")
        return
    placed: list[tuple[int, Router, int]] = []
    names: set[str] = set()
    for i, r in routers:
        if not r.name or r.name in names:
            continue  # a repeated name is reported as such; its slot would only repeat the same mistake
        names.add(r.name)
        if r.link_slot is not None and r.link_slot >= slots:
            problems.error(f"{NS}exchange.routers[{i}].linkSlot", r.link_slot,
                           f"is beyond the {slots} /30 slots of awsLinkPool", f"use 0-{slots - 1}")
            continue
        placed.append((i, r, router_link_slot(r, pool)))
    used = {slot for _, _, slot in placed}
    taken: dict[int, tuple[int, Router]] = {}
    for i, r, slot in placed:
        if slot not in taken:
            taken[slot] = (i, r)
            continue
        j, other = taken[slot]
        # There are fewer distinct slots in use than routers placed, so a free one exists.
        free = next(s for s in range(slots) if s not in used)
        used.add(free)
        where = f"{NS}exchange.routers[{{}}].linkSlot"
        if r.link_slot is not None and other.link_slot is not None:
            problems.error(where.format(i), r.link_slot, f"repeats routers[{j}].linkSlot",
                           f"pin router {r.name} to a free slot, e.g. `linkSlot: {free}`")
        elif r.link_slot is not None:
            # Move the router whose slot is derived from its name: a pin is a choice already made.
            problems.error(where.format(j), MISSING,
                           f"router {other.name} maps to /30 slot {slot} of awsLinkPool, which "
                           f"routers[{i}].linkSlot pins for router {r.name}",
                           f"pin `linkSlot: {free}` on router {other.name}, or pin {r.name} elsewhere")
            taken[slot] = (i, r)
        else:
            problems.error(where.format(i), MISSING,
                           f"router {r.name} maps to /30 slot {slot} of awsLinkPool, already taken by "
                           f"router {other.name}",
                           f"pin `linkSlot: {free}` on router {r.name} (existing links keep their addresses)")


# --- customer rules -------------------------------------------------------------------------------


def _valid_hostname(host: str) -> str | None:
    if host != host.lower():
        return "must be lowercase"
    if host.endswith("."):
        host = host[:-1]
    labels = host.split(".")
    if len(labels) < 2:
        return "is not a fully qualified hostname"
    for label in labels:
        if not HOSTNAME_LABEL_RE.fullmatch(label):
            return f"has an invalid label {label!r}"
    return None


def _validate_endpoint(ep: EndpointSpec, path: str, problems: Problems) -> None:
    if ep.platform is None or ep.cloud is None:
        return
    # A key that failed to parse is None here, as if absent: its own problem is reported, not "required".
    service_parsed = not (problems.at(f"{path}.service") or problems.at(f"{path}.cluster"))
    zone_parsed = not problems.at(f"{path}.zone")
    profile = PLATFORM_PROFILES.get((ep.platform, ep.cloud))
    if profile is None:
        problems.error(f"{path}.cloud", ep.cloud, f"is not available for {ep.platform}: Redshift runs only on AWS",
                       "use cloud: aws")
        return
    # The forms of service per cloud and platform: docs/sources.md#aws-5-1 to #aws-5-5 and #azure-5-1 to
    # #azure-5-4.
    if not service_parsed:
        pass
    elif ep.platform == "redshift" and ep.cluster is not None:
        # A Redshift-managed endpoint names the cluster and its owner account instead (docs/sources.md#aws-5-4).
        if ep.service is not None:
            problems.error(f"{path}.service", ep.service, "is set together with cluster",
                           "name either a VPC endpoint service or a Redshift cluster")
        if ep.owner_account is None and not problems.at(f"{path}.ownerAccount"):
            problems.error(f"{path}.ownerAccount", MISSING, "is required with cluster",
                           'add `ownerAccount: "<12-digit account that owns the cluster>"`')
    elif ep.service is None:
        problems.error(f"{path}.service", MISSING, "is required",
                       "add the service the platform gave the customer (see docs/stack-config.md)")
    elif ep.cloud == "azure":
        ok = re.fullmatch(PLS_ALIAS_RE, ep.service) or re.fullmatch(PLS_ID_RE, ep.service)
        if ep.platform == "databricks":
            ok = re.fullmatch(DATABRICKS_WS_RE, ep.service)
            if not ok:
                problems.error(f"{path}.service", ep.service, "is not an Azure Databricks workspace resource id",
                               "use /subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Databricks/"
                               "workspaces/<name>")
        elif not ok:
            problems.error(f"{path}.service", ep.service,
                           "is not an Azure Private Link service alias (<prefix>.[<guid>.]<region>.azure."
                           "privatelinkservice) or a privateLinkServices resource id",
                           "copy the alias the platform gave (Snowflake: privatelink-pls-id from "
                           "SYSTEM$GET_PRIVATELINK_CONFIG())")
    elif not re.fullmatch(VPCE_SERVICE_RE, ep.service):
        problems.error(f"{path}.service", ep.service,
                       "is not a VPC endpoint service name (com.amazonaws.vpce.<region>.vpce-svc-<17 hex>)",
                       "copy the service name the platform gave (Snowflake: privatelink-vpce-id)")
    if ep.cloud == "aws" and ep.cluster is not None and ep.platform != "redshift":
        problems.error(f"{path}.cluster", ep.cluster, "is only for platform redshift", "remove it")
    if ep.cloud == "azure" and ep.vpc is not None:
        problems.error(f"{path}.vpc", ep.vpc, "is only for cloud: aws endpoints", "remove it")
    domain = profile.domain
    # A platform with a private domain gets one zone per name (stacks/dns.py): a zone key names nothing.
    if domain is not None and ep.zone is not None:
        if ep.zone.rstrip(".") == domain:
            problems.warn(f"{path}.zone", ep.zone, f"is not used: the customer stack creates one private zone per "
                          f"{ep.platform} hostname, never one for the whole domain", "remove it")
        else:
            problems.error(f"{path}.zone", ep.zone, f"is only for platforms without a private domain of their own "
                           f"(starburst, redshift); {ep.platform} names go in {domain}, one private zone per name",
                           "remove it")
    zone = domain or ep.zone
    # Hostnames resolve through private zones: one per name of the platform's domain or, for
    # Starburst and Redshift, the zone the customer stack creates (docs/sources.md#aws-5-4, #aws-5-5, #azure-5-4,
    # #azure-6).
    if zone is None and not zone_parsed:
        pass
    elif zone is None and ep.hostnames and ep.platform != "redshift":
        problems.error(f"{path}.zone", MISSING, f"is required: {ep.platform} has no private DNS zone of its own",
                       "add `zone: <private zone holding the hostnames>`")
    elif zone is None and ep.platform == "redshift" and ep.hostnames:
        problems.error(f"{path}.zone", MISSING, "is required to publish hostnames for a Redshift endpoint",
                       "add `zone: <private zone>` or drop hostnames (the endpoint has its own DNS name)")
    if ep.hostnames == () and ep.platform != "redshift":
        problems.error(f"{path}.hostnames", [], "is empty: the SaaS would have no name that resolves privately",
                       "add the platform's private hostname(s)")
    zone_reason = _valid_hostname(ep.zone) if ep.zone is not None else None
    if zone_reason and ep.zone is not None:
        problems.error(f"{path}.zone", ep.zone, zone_reason,
                       f"write {ep.zone.lower()}" if zone_reason == "must be lowercase"
                       else "use a DNS zone such as corp.example")
    elif domain is None and ep.zone is not None:
        # The customer's zone answers every name under it for the SaaS (NXDOMAIN for those it lacks):
        # it must not cover a platform's names.
        own = ep.zone.rstrip(".")
        shadowed = [d for d in PLATFORM_PUBLIC_DOMAINS if within(own, d) or within(d, own)]
        if shadowed:
            problems.error(f"{path}.zone", ep.zone, f"would answer names of {shadowed[0]} for the SaaS: a private "
                           "zone answers every name under it, and NXDOMAIN for those it does not hold",
                           "use a zone of the customer's own that holds only these names, e.g. starburst.acme.internal")
    for i, host in _each(ep.hostnames):
        reason = _valid_hostname(host)
        if reason:
            problems.error(f"{path}.hostnames[{i}]", host, reason,
                           f"write {host.lower()}" if reason == "must be lowercase"
                           else "use a DNS name such as acct.region.privatelink.snowflakecomputing.com")
        elif domain and not host.rstrip(".").endswith("." + domain):
            problems.error(f"{path}.hostnames[{i}]", host, f"is outside the {ep.platform} private domain {domain}",
                           f"use a name ending in .{domain}")
        elif zone and not zone_reason and not host.rstrip(".").endswith("." + zone.rstrip(".")):
            problems.error(f"{path}.hostnames[{i}]", host, f"is outside the {ep.platform} private zone {zone}",
                           f"use a name ending in .{zone}")
    # Snowflake: the OCSP name of every account name is published with it (stacks/dns.py).
    if ep.platform == "snowflake":
        implied = implied_ocsp([h.rstrip(".") for _, h in _each(ep.hostnames)])
        for i, host in _each(ep.hostnames):
            if host.rstrip(".") in implied:
                problems.warn(f"{path}.hostnames[{i}]", host, f"is published automatically with "
                              f"{implied[host.rstrip('.')]}: every Snowflake account name also answers its OCSP "
                              "name, in the account name's zone", "remove it")
    # Azure Databricks single sign-on: the browser_authentication sub-resource (docs/sources.md#azure-5-3).
    if ep.browser_authentication and (ep.platform, ep.cloud) != ("databricks", "azure"):
        problems.error(f"{path}.browserAuthentication", True, "is only for platform databricks on cloud azure "
                       "(the workspace's browser_authentication sub-resource)", "remove it")
    if ep.workspace_region is not None and not ep.browser_authentication:
        problems.error(f"{path}.workspaceRegion", ep.workspace_region, "is only used with browserAuthentication: "
                       "true (it names the region's browser-authentication name)",
                       "remove it, or add `browserAuthentication: true`")


def _validate_customer(body: _CustomerBody, path: str, problems: Problems) -> None:
    endpoints = _each(body.endpoints)
    _unique([(i, e.name) for i, e in endpoints if e.name], f"{path}.endpoints", "name", problems)
    # An endpoint's cloud resources are named after its first name (renamedFrom, else name): two
    # endpoints cannot share them.
    first: dict[str, int] = {}
    for i, e in endpoints:
        if e.renamed_from is not None and e.renamed_from == e.name:
            problems.error(f"{path}.endpoints[{i}].renamedFrom", e.renamed_from, "equals the endpoint's name",
                           "remove renamedFrom")
        identity = e.renamed_from or e.name
        if not identity:
            continue
        if identity in first and (e.renamed_from or dict(endpoints)[first[identity]].renamed_from):
            problems.error(f"{path}.endpoints[{i}].{'renamedFrom' if e.renamed_from else 'name'}", identity,
                           f"is also the first name of endpoints[{first[identity]}], whose cloud resources "
                           "carry it; two endpoints cannot share them",
                           "give the new endpoint another name (renamedFrom keeps the first name of a renamed one)")
        first.setdefault(identity, i)
    # One private DNS record per hostname: two endpoints cannot both answer for it.
    hosts: dict[str, tuple[int, str]] = {}
    for i, ep in endpoints:
        _validate_endpoint(ep, f"{path}.endpoints[{i}]", problems)
        for j, h in _each(ep.hostnames):
            where = f"{path}.endpoints[{i}].hostnames[{j}]"
            if h not in hosts:
                hosts[h] = (i, where)
            elif hosts[h][0] != i:  # a repeat within one endpoint's list is reported by the list itself
                problems.error(where, h, f"is already claimed by {hosts[h][1]}", "each hostname maps to one endpoint")


# --- entry points ---------------------------------------------------------------------------------


def _parse_tags(cfg: Mapping[str, Any], problems: Problems) -> dict[str, str]:
    raw = cfg.get(TAGS_KEY, {})
    tags = OPTIONAL_BRIDGE_KEYS[TAGS_KEY].parse(raw, TAGS_KEY, problems)
    return dict(tags or {})


PROVIDER_EXAMPLES = {"aws:region": "us-east-1", "azure-native:location": "eastus2",
                     "azure-native:subscriptionId": "00000000-0000-0000-0000-000000000000"}


def _provider_value(cfg: Mapping[str, Any], key: str, problems: Problems, required: bool) -> str | None:
    example = f"`{key}: {PROVIDER_EXAMPLES[key]}`"
    if key not in cfg:
        if required:
            # A misspelt provider key is a valid-looking key of the same provider: name it in the fix.
            present = [k for k in cfg if isinstance(k, str) and k.split(":")[0] == key.split(":")[0]]
            close = difflib.get_close_matches(key, present, n=1, cutoff=0.8)
            fix = f"rename {close[0]} to {key}" if close else f"add {example} under config:"
            problems.error(key, MISSING, "is required", fix)
        return None
    return PROVIDER_KEYS[key].parse(cfg[key], key, problems, f"write it like {example}")


def parse_config(stack: str, config: Mapping[str, Any], *, source: str = "") -> tuple[Spec, list[Problem]]:
    """Parse a stack's ``config:`` mapping; raise ConfigError with every problem, or return spec and warnings."""
    problems = Problems()
    if not isinstance(config, Mapping):
        problems.error("config", config, "must be a mapping of config keys", "see docs/stack-config.md")
        raise ConfigError(problems.items, source)
    meant: set[str] = set()  # keys a misspelt key probably means: reported once, as the typo
    for key, value in config.items():
        if not isinstance(key, str) or ":" not in key:
            problems.error(str(key), value, "is not a namespaced config key",
                           f"write it as {NS}{key}" if isinstance(key, str) else "use string keys")
        elif key.startswith(NS) and key not in KNOWN_BRIDGE_KEYS:
            close = unknown_key(key, key, value, list(KNOWN_BRIDGE_KEYS), problems)
            if close is not None and close not in config:
                meant.add(close)
        elif key in SECRET_CONFIG_KEYS and not (isinstance(value, dict) and set(value) == {"secure"}):
            problems.error(key, "[redacted]", "is in clear text; credentials must be encrypted",
                           f"remove it and run `pulumi config set --secret {key} <value>`")
    kind = stack_kind(config, stack)
    if kind is None:
        problems.error("config", MISSING, f"has neither {CUSTOMER_KEY} (customer stack) nor {NS}aws/exchange/"
                       "azure/addressing (bridge stack)", "see docs/stack-config.md for both kinds")
        raise ConfigError(problems.items, source)
    if kind == "customer":
        spec_: Spec = _parse_customer(stack, config, problems)
    else:
        if CUSTOMER_KEY in config:
            problems.error(CUSTOMER_KEY, config[CUSTOMER_KEY], "belongs in a customer stack, not a bridge stack",
                           f"move it to its own file, Pulumi.{stack}.<customer id>.yaml")
        spec_ = _parse_bridge(stack, config, problems, meant)
    if problems:
        raise ConfigError(problems.items, source)
    return spec_, problems.warnings


def _parse_bridge(stack: str, cfg: Mapping[str, Any], problems: Problems, meant: set[str]) -> BridgeSpec:
    region = _provider_value(cfg, "aws:region", problems, True)
    location = _provider_value(cfg, "azure-native:location", problems, True)
    subscription = _provider_value(cfg, "azure-native:subscriptionId", problems, True)
    sections: dict[str, Any] = {}
    for key, kind in BRIDGE_SECTIONS.items():
        if key not in cfg:
            if key not in meant:
                problems.error(key, MISSING, "is required in a bridge stack",
                               "add it (see docs/stack-config.md for its keys)")
            sections[key] = None
        else:
            sections[key] = kind.parse(cfg[key], key, problems)
    keys = OPTIONAL_BRIDGE_KEYS[BGP_KEYS_KEY].parse(cfg.get(BGP_KEYS_KEY, {}), BGP_KEYS_KEY, problems) or {}
    spec_ = BridgeSpec(
        stack=stack, aws_region=region or "", azure_location=location or "",
        azure_subscription_id=subscription or "",
        aws=sections[f"{NS}aws"], exchange=sections[f"{NS}exchange"], azure=sections[f"{NS}azure"],
        addressing=sections[f"{NS}addressing"], bgp_auth_keys=keys, tags=_parse_tags(cfg, problems),
        alarms=_parse_alarms(cfg, problems),
        vpn_backup=OPTIONAL_BRIDGE_KEYS[VPN_BACKUP_KEY].parse(cfg[VPN_BACKUP_KEY], VPN_BACKUP_KEY, problems)
        if VPN_BACKUP_KEY in cfg else None)
    _validate_bridge(cfg, spec_, problems)
    if spec_.vpn_backup is not None:
        validate_vpn_backup(spec_.vpn_backup, spec_, problems)
    return spec_


def _parse_alarms(cfg: Mapping[str, Any], problems: Problems) -> AlarmsSpec:
    alarms = OPTIONAL_BRIDGE_KEYS[ALARMS_KEY].parse(cfg.get(ALARMS_KEY, {}), ALARMS_KEY, problems) or AlarmsSpec()
    if ALARM_SINK_KEY in cfg:
        OPTIONAL_BRIDGE_KEYS[ALARM_SINK_KEY].parse(cfg[ALARM_SINK_KEY], ALARM_SINK_KEY, problems)
    if alarms.equinix_sink is not None and ALARM_SINK_KEY not in cfg:
        problems.error(ALARM_SINK_KEY, MISSING, f"is required when {ALARMS_KEY}.equinixSink is set (the sink's URI)",
                       f"run `pulumi config set --secret {ALARM_SINK_KEY} <uri>`")
    return alarms


def _parse_customer(stack: str, cfg: Mapping[str, Any], problems: Problems) -> CustomerSpec:
    for key in cfg:
        if key in BRIDGE_SECTIONS or key == BGP_KEYS_KEY:
            problems.error(key, cfg[key], "belongs in the bridge stack, not a customer stack",
                           "remove it from this file")
    region = _provider_value(cfg, "aws:region", problems, False)
    location = _provider_value(cfg, "azure-native:location", problems, False)
    subscription = _provider_value(cfg, "azure-native:subscriptionId", problems, False)
    body = Obj(_CustomerBody, validate=_validate_customer).parse(cfg[CUSTOMER_KEY], CUSTOMER_KEY, problems)
    spec_ = CustomerSpec(
        stack=stack, aws_region=region, azure_location=location, azure_subscription_id=subscription,
        id=body.id if body else "", bridge_stack=body.bridge_stack if body else "",
        endpoints=tuple(e for _, e in _each(body.endpoints if body else ())),
        tags=_parse_tags(cfg, problems), endpoint_spoke=body.endpoint_spoke if body else None)
    # A customer stack is named <bridge>.<id>: the name alone tells which bridge a stack belongs to,
    # and sibling customers are found by it (stacks.loader).
    if body is not None and body.id and body.bridge_stack:
        expected = f"{body.bridge_stack}.{body.id}"
        named_bridge, dot, named_id = stack.partition(".")
        if stack == expected:
            pass
        elif dot and "." not in named_id and named_bridge == body.bridge_stack:
            problems.error(f"{CUSTOMER_KEY}.id", body.id, f"does not match the stack name {stack}",
                           f"use id: {named_id}, or rename the file to Pulumi.{expected}.yaml")
        elif dot and "." not in named_id and named_id == body.id:
            problems.error(f"{CUSTOMER_KEY}.bridgeStack", body.bridge_stack,
                           f"does not match the stack name {stack}",
                           f"use bridgeStack: {named_bridge}, or rename the file to Pulumi.{expected}.yaml")
        else:
            problems.error(f"{CUSTOMER_KEY}.id", body.id,
                           f"and bridgeStack {body.bridge_stack} do not match the stack name {stack}",
                           f"rename the file to Pulumi.{expected}.yaml")
    return spec_


def check_customer_against_bridge(customer: CustomerSpec, bridge: BridgeSpec | None,
                                  siblings: Mapping[str, CustomerSpec] | SiblingIndex, problems: Problems) -> None:
    """Rules that need the bridge stack and the bridge's other customers (the siblings, or their
    :class:`SiblingIndex`)."""
    path = CUSTOMER_KEY
    if bridge is None:
        return
    for key, mine, theirs in (("aws:region", customer.aws_region, bridge.aws_region),
                              ("azure-native:location", customer.azure_location, bridge.azure_location),
                              ("azure-native:subscriptionId", customer.azure_subscription_id,
                               bridge.azure_subscription_id)):
        if mine is not None and mine != theirs:
            problems.error(key, mine, f"differs from bridge stack {bridge.stack} ({theirs}); endpoints live in "
                           "the bridge's region and hub", f"use {theirs} or remove the key")
    vpc_names = [v.name for v in bridge.aws.vpcs]
    if customer.endpoint_spoke is not None and find_spoke(bridge.azure, customer.endpoint_spoke) is None:
        spokes = [sp.name for sp in bridge.azure.endpoint_spokes]
        problems.error(f"{path}.endpointSpoke", customer.endpoint_spoke,
                       f"is not an endpoint spoke of bridge {bridge.stack} ({NS}azure.endpointSpokes in "
                       f"Pulumi.{bridge.stack}.yaml)",
                       (f"use one of {', '.join(spokes)}, or add the spoke to {NS}azure.endpointSpokes first"
                        if spokes else f"remove it (the endpoints then go in the hub), or add the spoke to "
                        f"{NS}azure.endpointSpokes first"))
    for i, ep in enumerate(customer.endpoints):
        if ep.vpc is not None and ep.vpc not in vpc_names:
            problems.error(f"{path}.endpoints[{i}].vpc", ep.vpc, f"is not a VPC of bridge {bridge.stack}",
                           f"use one of {', '.join(vpc_names)}")
        if ep.cloud == "aws" and ep.service:
            m = re.fullmatch(VPCE_SERVICE_RE, ep.service)
            if m and m.group(1) != bridge.aws_region:
                problems.error(f"{path}.endpoints[{i}].service", ep.service,
                               f"is in {m.group(1)}, but the bridge's VPCs are in {bridge.aws_region}",
                               "ask the platform for the service in the bridge's region")
    # Customers of one bridge share its SaaS VPCs, where one private zone of a name can exist (Route 53
    # refuses a second one: ConflictingDomainExists), and its resource names (derived from the customer
    # id), so both are unique per bridge; they also share quotas and address room. What the siblings
    # publish and use is an index built in one pass over them; callers that check many customers of
    # one bridge (stacks.loader) build it once, so each check costs this customer's endpoints only.
    location = bridge.azure_location
    default_vpc = vpc_names[0] if vpc_names else None
    index = (siblings if isinstance(siblings, SiblingIndex)
             else SiblingIndex.build(siblings, customer.bridge_stack, location, default_vpc))
    me = customer.stack
    own = [(i, r) for i, ep in enumerate(customer.endpoints) for r in endpoint_dns(ep, location)]
    _check_own_names(customer, own, problems)
    own_zones = customer_zones(customer, location)
    mine_declared = {ep.zone: i for i, ep in reversed(list(enumerate(customer.endpoints)))
                     if ep.zone is not None and PLATFORM_PROFILES[(ep.platform, ep.cloud)].domain is None}
    for other_stack in index.ids.get(customer.id, []):
        if other_stack != me:
            problems.error(f"{path}.id", customer.id, f"is already used by stack {other_stack}",
                           "pick a different customer id")
    reported: set[str] = set()  # one line per key of the file: a taken account name implies its OCSP name
    for i, r in own:
        where, _ = _record_path(customer, i, r)
        taken = next((e for e in index.names.get(r.name, ()) if e[0] != me), None)
        if taken is not None and where not in reported:
            reported.add(where)
            _report_taken_name(customer, i, r, taken, bridge, problems)
    for zone, i in mine_declared.items():
        holder = next((st for st in index.zones.get(zone, ()) if st != me), None)
        if holder is not None:
            problems.error(f"{path}.endpoints[{i}].zone", zone, f"is already a zone of customer stack "
                           f"{holder}: the SaaS VPCs can hold one private zone of a name (Route 53 "
                           "refuses a second: ConflictingDomainExists)",
                           f"use a zone of this customer's own, e.g. {customer.id}.{zone}")
    listed = me in index.stacks
    counted = 1 + len(index.stacks) - (1 if listed else 0)
    total_zones = len(own_zones) + index.total_zones - index.zone_count.get(me, 0)
    mine_use = index.use.get(me, {})
    shared_use = {where: n - mine_use.get(where, 0) for where, n in index.total_use.items()}
    own_use = endpoint_use(customer, default_vpc)
    # How many stacks share each place this customer uses: the others there, and this one.
    sharers = {where: 1 + index.users.get(where, 0) - (1 if mine_use.get(where) else 0) for where in own_use}
    _check_zone_quota(customer, bridge, len(own_zones), total_zones, counted, problems)
    _check_endpoint_capacity(customer, bridge, own_use, shared_use, counted, problems, sharers)


@dataclass
class SiblingIndex:
    """What the customer stacks of one bridge publish and use, built in one pass over them, so that
    checking one customer against all the others costs that customer's endpoints only. Entries keep
    the siblings' order (by stack name); a customer is checked against every entry but its own."""

    bridge_stack: str
    stacks: frozenset[str]
    names: dict[str, list[tuple[str, EndpointSpec, Record]]]  # published name -> who publishes it
    zones: dict[str, list[str]]                                # customer-declared zone -> stacks
    ids: dict[str, list[str]]                                  # customer id -> stacks
    zone_count: dict[str, int]                                 # stack -> Route 53 zones it creates
    use: dict[str, dict[str, int]]                             # stack -> endpoint_use()
    total_zones: int
    total_use: dict[str, int]
    users: dict[str, int]                                      # where -> stacks that use room there

    @classmethod
    def build(cls, siblings: Mapping[str, CustomerSpec], bridge_stack: str, location: str,
              default_vpc: str | None) -> SiblingIndex:
        names: dict[str, list[tuple[str, EndpointSpec, Record]]] = {}
        zones: dict[str, list[str]] = {}
        ids: dict[str, list[str]] = {}
        zone_count: dict[str, int] = {}
        use: dict[str, dict[str, int]] = {}
        total_use: dict[str, int] = {}
        users: dict[str, int] = {}
        for stack, other in sorted(siblings.items()):
            if other.bridge_stack != bridge_stack:
                continue
            ids.setdefault(other.id, []).append(stack)
            for ep in other.endpoints:
                for r in endpoint_dns(ep, location):
                    names.setdefault(r.name, []).append((stack, ep, r))
                if ep.zone is not None and PLATFORM_PROFILES[(ep.platform, ep.cloud)].domain is None:
                    holders = zones.setdefault(ep.zone, [])
                    if stack not in holders:
                        holders.append(stack)
            zone_count[stack] = len(customer_zones(other, location))
            use[stack] = endpoint_use(other, default_vpc)
            for where, n in use[stack].items():
                total_use[where] = total_use.get(where, 0) + n
                users[where] = users.get(where, 0) + 1
        return cls(bridge_stack, frozenset(zone_count), names, zones, ids, zone_count, use,
                   sum(zone_count.values()), total_use, users)


def endpoint_use(customer: CustomerSpec, default_vpc: str | None) -> dict[str, int]:
    """Where a customer's endpoints take room: ``{"azure": private endpoints in the hub's endpoint
    subnet, "azure:<spoke>": in that endpoint spoke's (bridge:customer.endpointSpoke), "vpc:<name>":
    interface endpoints in that SaaS VPC}``. An Azure Databricks endpoint with browser authentication is
    two private endpoints (stacks/customer.py)."""
    use: dict[str, int] = {}
    azure = "azure" if customer.endpoint_spoke is None else f"azure:{customer.endpoint_spoke}"
    for ep in customer.endpoints:
        where = azure if ep.cloud == "azure" else f"vpc:{ep.vpc or default_vpc}"
        use[where] = use.get(where, 0) + 1 + (1 if ep.cloud == "azure" and ep.browser_authentication else 0)
    return use


def _check_endpoint_capacity(customer: CustomerSpec, bridge: BridgeSpec, own: Mapping[str, int],
                             others: Mapping[str, int], customers: int, problems: Problems,
                             sharers: Mapping[str, int] | None = None) -> None:
    """The room every customer of a bridge shares: addresses of the hub's endpoint subnet (Azure keeps
    five of each subnet), private endpoints per VNet, interface endpoints per SaaS VPC. Counted over
    this customer and its siblings (one pass, made by the caller); reported on this customer's
    endpoints when it uses any of the room that ran out."""
    key = f"{CUSTOMER_KEY}.endpoints"
    for where, mine in sorted(own.items()):
        if where == "azure" or where.startswith("azure:"):
            spoke = where[len("azure:"):] if where != "azure" else None
            _check_vnet_capacity(bridge, spoke, mine, mine + others.get(where, 0),
                                 (sharers or {}).get(where, customers), key, problems)
    quota_key = f"{NS}aws.interfaceEndpointsPerVpcQuota"
    limit = bridge.aws.interface_endpoints_per_vpc_quota
    for where, mine in sorted(own.items()):
        if not where.startswith("vpc:"):
            continue
        total = mine + others.get(where, 0)
        what = (f"interface VPC endpoints the customers of bridge {bridge.stack} may create in VPC {where[4:]} "
                f"({quota_key}; {L.AWS_PRIVATELINK_QUOTAS_URL}): its {customers} customer stack(s) share them, "
                f"{mine} of them this one's")
        if total > limit:
            problems.error(key, f"{total} interface endpoints in VPC {where[4:]}", f"exceed the {limit} {what}",
                           "raise the quota \"Interface and Gateway Load Balancer endpoints per VPC\" in Service "
                           f"Quotas, then {quota_key} in Pulumi.{bridge.stack}.yaml; or place endpoints in another "
                           "SaaS VPC (vpc:)")
        elif total > limit * L.BUDGET_WARN_RATIO:
            problems.warn(key, f"{total} interface endpoints in VPC {where[4:]}",
                          f"use over {int(L.BUDGET_WARN_RATIO * 100)}% of the {limit} {what}",
                          "request a higher quota before it fills up")


def _check_vnet_capacity(bridge: BridgeSpec, spoke: str | None, mine: int, total: int, customers: int, key: str,
                         problems: Problems) -> None:
    """One VNet's room for private endpoints, the hub's or an endpoint spoke's: the addresses of its
    endpoint subnet and Azure's private endpoints per VNet. ``total`` counts every customer placed there."""
    az = bridge.azure
    subnet = endpoint_subnet_of(az, spoke)
    if subnet is None:
        return  # an unknown spoke (reported on bridge:customer.endpointSpoke) or a hub that fails its own rules
    where = f"the hub of bridge {bridge.stack}" if spoke is None else f"endpoint spoke {spoke} of bridge {bridge.stack}"
    subnet_of = (f"the endpoint subnet {subnet} of bridge {bridge.stack}" if spoke is None
                 else f"the endpoint subnet {subnet} of {where}")
    add_spoke = (f"add a spoke to {NS}azure.endpointSpokes in Pulumi.{bridge.stack}.yaml, then put new customers on "
                 f"it ({CUSTOMER_KEY}.endpointSpoke; `bridgectl customer add` picks the emptiest)")
    room = L.subnet_endpoint_capacity(subnet)
    setting = (f"{NS}azure.endpointSubnetPrefixLength" if spoke is None
               else f"endpointSubnetPrefixLength of spoke {spoke}")
    if total > room:
        larger = (f"lower {setting} in Pulumi.{bridge.stack}.yaml (a /{max(16, subnet.prefixlen - 1)} holds "
                  f"{L.subnet_endpoint_capacity(subnet.supernet())})" if spoke is None
                  else f"if spoke {spoke}'s cidr has room, lower its endpointSubnetPrefixLength")
        problems.error(key, f"{total} Azure private endpoints",
                       f"do not fit {subnet_of}: it holds {room} ({subnet.num_addresses} addresses less the "
                       f"{L.AZURE_SUBNET_RESERVED_ADDRESSES} Azure keeps; {L.AZURE_SUBNET_FAQ_URL}), shared by its "
                       f"{customers} customer stack(s), {mine} of them this one's",
                       f"{add_spoke}; or {larger}")
    elif total > room * L.BUDGET_WARN_RATIO:
        problems.warn(key, f"{total} Azure private endpoints",
                      f"use over {int(L.BUDGET_WARN_RATIO * 100)}% of the {room} {subnet_of} holds "
                      f"({L.AZURE_SUBNET_FAQ_URL})",
                      f"before it fills, {add_spoke}" if spoke is not None or az.endpoint_spokes else
                      f"plan a larger endpoint subnet ({setting}) or an endpoint spoke "
                      f"({NS}azure.endpointSpokes) before it fills")
    limit = L.AZURE_PRIVATE_ENDPOINTS_PER_VNET
    if total > limit:
        problems.error(key, f"{total} Azure private endpoints",
                       f"exceed the {limit} private endpoints Azure allows in one virtual network, {where} "
                       f"({L.AZURE_PRIVATE_LINK_LIMITS_URL}); its {customers} customer stack(s) share it, {mine} "
                       "of them this one's", add_spoke)
    elif room > limit and limit * L.BUDGET_WARN_RATIO < total <= room * L.BUDGET_WARN_RATIO:
        # A subnet larger than the VNet limit: the VNet limit warns first (the subnet's own warning is above).
        problems.warn(key, f"{total} Azure private endpoints",
                      f"use over {int(L.BUDGET_WARN_RATIO * 100)}% of the {limit} private endpoints Azure allows in "
                      f"one virtual network, {where} ({L.AZURE_PRIVATE_LINK_LIMITS_URL})",
                      f"before it fills, {add_spoke}")


def endpoint_dns(ep: EndpointSpec, bridge_location: str) -> tuple[Record, ...]:
    """The names an endpoint publishes and their zones (stacks/dns.py); the bridge's Azure location is
    the default region of a browser-authentication name."""
    profile = PLATFORM_PROFILES[(ep.platform, ep.cloud)]
    region = (ep.workspace_region or bridge_location) if ep.browser_authentication else None
    return endpoint_records(ep.platform, profile.domain, ep.hostnames,
                            ep.zone if profile.domain is None else None, region)


def customer_zones(customer: CustomerSpec, bridge_location: str) -> list[str]:
    """Every Route 53 private hosted zone a customer stack creates, once each: one per name it publishes
    in a platform's domain, and the zones its Starburst and Redshift endpoints name."""
    zones: list[str] = []
    for ep in customer.endpoints:
        if ep.zone is not None and PLATFORM_PROFILES[(ep.platform, ep.cloud)].domain is None:
            zones.append(ep.zone)
        zones += [r.zone for r in endpoint_dns(ep, bridge_location)]
    return list(dict.fromkeys(zones))


def _record_path(customer: CustomerSpec, i: int, r: Record) -> tuple[str, Any]:
    """Where a published name comes from in the stack file, and the value there."""
    ep = customer.endpoints[i]
    where = f"{CUSTOMER_KEY}.endpoints[{i}]"
    if r.target == "browser-auth":
        return f"{where}.browserAuthentication", True
    listed = r.zone if r.automatic else r.name  # a derived OCSP name comes with the name of its zone
    for j, h in enumerate(ep.hostnames):
        if h.rstrip(".") == listed:
            return f"{where}.hostnames[{j}]", h
    return f"{where}.hostnames", list(ep.hostnames)


def _check_own_names(customer: CustomerSpec, own: list[tuple[int, Record]], problems: Problems) -> None:
    """A derived name (an OCSP or browser-authentication name) that another endpoint of the customer also
    publishes. Listed names repeated across endpoints are reported by _validate_customer."""
    first: dict[str, tuple[int, Record]] = {}
    for i, r in own:
        if r.name not in first:
            first[r.name] = (i, r)
            continue
        j, other = first[r.name]
        if not (r.automatic or other.automatic):
            continue
        if j == i:
            if "browser-auth" in (r.target, other.target):
                where, value = _record_path(customer, i, other if r.automatic else r)
                problems.error(where, value, "is the browser-authentication name that browserAuthentication "
                               "publishes (toward its own private endpoint)", "remove it from hostnames")
            continue
        if r.target == "browser-auth" and other.target == "browser-auth":
            problems.error(f"{CUSTOMER_KEY}.endpoints[{i}].browserAuthentication", True,
                           f"publishes {r.name} again: endpoints[{j}] already has browser authentication in that "
                           "region, and Azure Databricks has one browser-authentication name per region, shared by "
                           "every workspace there", "keep browserAuthentication on one endpoint per region")
            continue
        # Report on the name listed in the file: that is the one to remove.
        listed_i, listed_r, by_i, by_r = (i, r, j, other) if other.automatic else (j, other, i, r)
        where, value = _record_path(customer, listed_i, listed_r)
        origin = (f"endpoints[{by_i}] ({by_r.zone})" if by_r.automatic else f"endpoints[{by_i}]")
        problems.error(where, value, f"is also published automatically by {origin}: "
                       "every Snowflake account name answers its OCSP name", "remove it")


def _report_taken_name(customer: CustomerSpec, i: int, r: Record, theirs: tuple[str, EndpointSpec, Record],
                       bridge: BridgeSpec, problems: Problems) -> None:
    other_stack, other_ep, _ = theirs
    ep = customer.endpoints[i]
    where, value = _record_path(customer, i, r)
    if r.target == "browser-auth":
        region = ep.workspace_region or bridge.azure_location
        problems.error(where, value, f"publishes {r.name}, which customer stack {other_stack} already publishes "
                       f"(endpoint {other_ep.name}): Azure Databricks has one browser-authentication name per region, "
                       "shared by every workspace there, and one name points at one private endpoint",
                       f"remove browserAuthentication here: the browser-authentication endpoint of {other_stack} "
                       f"already serves single sign-on for every Azure Databricks workspace in {region}")
    elif (ep.platform, ep.cloud) == ("databricks", "aws") and within(r.name, AWS_DATABRICKS_DOMAIN):
        problems.error(where, value, f"is already published by customer stack {other_stack} (endpoint "
                       f"{other_ep.name}): it is Databricks' regional front-end name, which every workspace URL of "
                       "the region resolves to, and one name points at one VPC endpoint",
                       f"remove this endpoint: the VPC endpoint of {other_stack} reaches every workspace of the "
                       "region once this customer registers it in their Databricks account and allows it in the "
                       "workspace's private access settings (Databricks lets several accounts share one front-end "
                       f"endpoint; its id is stack output endpoints.{other_ep.name}.endpointId of {other_stack})")
    else:
        taken = (f"publishes its OCSP name {r.name}, which customer stack {other_stack} already publishes"
                 if r.automatic else f"is already published by customer stack {other_stack}")
        problems.error(where, value, f"{taken} (endpoint {other_ep.name}): a name points at one endpoint, and the "
                       "SaaS VPCs can hold one private zone of a name",
                       "check that the customer gave you their own account's name")


def _check_zone_quota(customer: CustomerSpec, bridge: BridgeSpec, own: int, total: int, customers: int,
                      problems: Problems) -> None:
    """Route 53 hosted zones of every customer of the bridge against the share of the account's quota the
    bridge may use (bridge:aws.route53HostedZoneQuota; L.ROUTE53_QUOTAS_URL)."""
    if own == 0:
        return  # this customer creates none: it does not compete for the quota
    quota = bridge.aws.route53_hosted_zone_quota
    key = f"{NS}aws.route53HostedZoneQuota"
    what = (f"Route 53 hosted zones bridge {bridge.stack} may use ({key}): its {customers} customer stack(s) create "
            f"one private zone per published name, {own} of them this one's ({L.ROUTE53_QUOTAS_URL})")
    if total > quota:
        problems.error(f"{CUSTOMER_KEY}.endpoints", f"{total} hosted zones", f"exceed the {quota} {what}",
                       "raise the account's Route 53 hosted-zone quota in Service Quotas (US East (N. Virginia)), "
                       f"then {key} in Pulumi.{bridge.stack}.yaml; see docs/dns.md")
    elif total > quota * L.BUDGET_WARN_RATIO:
        problems.warn(f"{CUSTOMER_KEY}.endpoints", f"{total} hosted zones",
                      f"use over {int(L.BUDGET_WARN_RATIO * 100)}% of the {quota} {what}",
                      "request a higher Route 53 hosted-zone quota before it fills up; see docs/dns.md")
