"""Provider limits and conventions the design lives inside, each with its source.

Each constant names its source: a public page, or an entry of docs/sources.md (``docs/sources.md#<id>``),
which states the fact with its public pages.
Validation, the plan, the twin and the policy pack all read these, so a limit is stated once.
"""

from __future__ import annotations

import ipaddress

# --- ASNs ------------------------------------------------------------------------------------

# Amazon-side ASNs (TGW amazon_side_asn, DX gateway amazon_side_asn, Cloud WAN asn_ranges):
# 64512-65534 or 4200000000-4294967294. Source: pulumi_aws 7.51.1 docstrings of TransitGateway,
# directconnect.Gateway and CoreNetworkPolicyDocument (docs/sources.md#aws-q16).
AMAZON_ASN_RANGES: tuple[tuple[int, int], ...] = ((64512, 65534), (4_200_000_000, 4_294_967_294))

# ASNs Azure reserves for its own use: 8074, 8075, 12076 (public) and 65515-65520 (private).
# Source: MicrosoftDocs expressroute-routing.md "reserved ASNs" and the VPN Gateway FAQ
# (docs/sources.md#azure-4-rule-1).
AZURE_RESERVED_ASNS: frozenset[int] = frozenset({8074, 8075, 12076, *range(65515, 65521)})

# IANA-reserved ASNs a BGP peer may not use: 0, 23456 (AS_TRANS), 64496-64511 (documentation),
# 65535-65551 (documentation and reserved), 4294967295. Source: RFC 7607, 6793, 5398, 7300; the Azure
# ExpressRoute FAQ and Equinix FCR BGP page list the same set (docs/sources.md#azure-4-rule-2, #equinix-1).
IANA_RESERVED_ASN_RANGES: tuple[tuple[int, int], ...] = (
    (0, 0), (23456, 23456), (64496, 64511), (65535, 65551), (4_294_967_295, 4_294_967_295),
)

# Equinix reserves 64600 and 4200000000-4200000002 for itself, and refuses 112 (AS112, the
# anycast sink) as a peer ASN. Source: https://docs.equinix.com/en-us/Content/Interconnection/FCR/FCR-bgp.htm
# (docs/sources.md#equinix-1).
EQUINIX_RESERVED_ASNS: frozenset[int] = frozenset({112, 64600, 4_200_000_000, 4_200_000_001, 4_200_000_002})

# AWS's own public ASN, used in the Direct Connect BGP communities 7224:xxxx (docs/sources.md#aws-q19).
AWS_PUBLIC_ASN = 7224

# Microsoft's edge routers (MSEE) speak as AS 12076 on ExpressRoute private peering.
# Source: MicrosoftDocs expressroute-workflows "ExpressRoute ASN = 12076" (docs/sources.md#equinix-2b).
MICROSOFT_EDGE_ASN = 12076

# The ExpressRoute virtual network gateway speaks as AS 65515 (Azure-reserved, see above).
EXPRESSROUTE_GATEWAY_ASN = 65515

# --- Prefix budgets ---------------------------------------------------------------------------

# Routes AWS accepts from the customer side on one transit VIF BGP session, per address family;
# above it "the BGP session will go into an idle state with the BGP session DOWN". Hosted
# connections (what Equinix creates) cannot raise it with prefix controls.
# Source: AWS DX quotas, limits.html (docs/sources.md#aws-q1).
AWS_MAX_PREFIXES_PER_TRANSIT_VIF = 100

# Allowed prefixes per DX gateway association to a transit gateway (IPv4 + IPv6 combined).
# Source: AWS DX quotas (docs/sources.md#aws-q2).
AWS_MAX_ALLOWED_PREFIXES_PER_ASSOCIATION = 200

# Routes Azure accepts on ExpressRoute private peering: 4,000 on Standard and Local circuits,
# 10,000 on Premium; "The BGP session is dropped if the number of prefixes exceeds the limit."
# Source: MicrosoftDocs includes/expressroute-limits.md and expressroute-routing.md
# (docs/sources.md#azure-4-rule-8, #azure-4-rule-9).
AZURE_MAX_PREFIXES_BY_TIER: dict[str, int] = {"Standard": 4000, "Local": 4000, "Premium": 10000}

# Routes an ExpressRoute gateway learns from on-premises, by SKU. Source: MicrosoftDocs
# expressroute-gateway-performance-include.md (docs/sources.md#azure-3-4).
GATEWAY_MAX_LEARNED_ROUTES: dict[str, int] = {
    "ErGw1AZ": 4000, "ErGw2AZ": 9500, "ErGw3AZ": 9500, "ErGwScale": 60000,
}

# Routes the gateway advertises toward on-premises (VNet address space): at most 1,000.
# Source: MicrosoftDocs includes/expressroute-limits.md (docs/sources.md#azure-4-rule-10).
AZURE_MAX_PREFIXES_TO_ONPREM = 1000

# A prefix budget past this share of its limit is flagged (warnings, pull-request risks).
BUDGET_WARN_RATIO = 0.8

# --- Exchange (Equinix Fabric Cloud Router) ------------------------------------------------------

# FCR, connection and routing-protocol names: 1-24 characters of letters, digits, - and _.
# Source: terraform-provider-equinix resource_fabric_cloud_router.go StringLenBetween(1, 24)
# (docs/sources.md#equinix-0).
EQUINIX_NAME_MAX = 24
EQUINIX_NAME_PATTERN = r"[A-Za-z0-9_-]{1,24}"

FCR_PACKAGES = ("LAB", "STANDARD", "ADVANCED", "PREMIUM")

# A LAB package caps every connection at 10 Mbps. Source: Equinix Fabric Cloud Routers API page
# (docs/sources.md#equinix-1).
LAB_MAX_BANDWIDTH_MBPS = 10

# IPv4 routes an FCR package holds; LAB 50 (documented), STANDARD 1,000 on the older API page
# (a newer fixture says 4,000). ADVANCED and PREMIUM were not found; see docs/sources.md#equinix-1.
FCR_PACKAGE_MAX_IPV4_ROUTES: dict[str, int | None] = {
    "LAB": 50, "STANDARD": 1000, "ADVANCED": None, "PREMIUM": None,
}

# --- ExpressRoute -------------------------------------------------------------------------------

# Provider-circuit bandwidths in Mbps. Source: MicrosoftDocs includes/expressroute-limits.md
# (docs/sources.md#azure-4-rule-12).
EXPRESSROUTE_BANDWIDTHS_MBPS = (50, 100, 200, 500, 1000, 2000, 5000, 10000)

# Local circuits exist only at 1 Gbps and above and only with UnlimitedData (docs/sources.md#azure-1 "Local tier").
LOCAL_MIN_BANDWIDTH_MBPS = 1000

CIRCUIT_TIERS = ("Standard", "Premium", "Local")
CIRCUIT_FAMILIES = ("MeteredData", "UnlimitedData")
GATEWAY_SKUS = ("ErGw1AZ", "ErGw2AZ", "ErGw3AZ", "ErGwScale")

# GatewaySubnet must be /27 or larger; ErGwScale needs /26 or larger (docs/sources.md#azure-3-1).
GATEWAY_SUBNET_MAX_PREFIXLEN = 27
GATEWAY_SUBNET_SCALE_MAX_PREFIXLEN = 26

# ExpressRoute shared key (MD5): at most 25 characters, no special characters
# (azurerm express_route_circuit_peering docs; equinix-labs example) (docs/sources.md#azure-4-rule-7).
AZURE_MD5_MAX_LEN = 25

# --- Direct Connect ------------------------------------------------------------------------------

# BGP MD5 key on a VIF: 6-80 characters. Source: DX API NewTransitVirtualInterface.authKey (docs/sources.md#aws-q23).
AWS_MD5_LEN = (6, 80)

# Transit VIF MTU: 1500 or 8500 (docs/sources.md#aws-q24).
TRANSIT_VIF_MTUS = (1500, 8500)

# --- Timers --------------------------------------------------------------------------------------

# BFD: AWS minimum 300 ms x 3 (docs/sources.md#aws-q21); Microsoft edge 300 ms x 3, never shorter
# (docs/sources.md#azure-4-rule-17).
BFD_MIN_INTERVAL_MS = 300
BFD_MULTIPLIER = 3

# AWS Direct Connect BGP: keepalive 30 s, hold 90 s by default (docs/sources.md#aws-q20).
AWS_BGP_KEEPALIVE_S = 30
AWS_BGP_HOLD_S = 90

# Microsoft edge BGP: keepalive 60 s, hold 180 s (MicrosoftDocs expressroute-bfd.md; docs/sources.md#azure-4-rule-16).
MICROSOFT_BGP_KEEPALIVE_S = 60
MICROSOFT_BGP_HOLD_S = 180

# During planned maintenance Microsoft prepends AS 12076 eight times on one link (docs/sources.md#peers-b6).
MICROSOFT_MAINTENANCE_PREPEND = 8

# --- Address space ---------------------------------------------------------------------------------

VLAN_RANGE = (1, 4094)

LINK_LOCAL = ipaddress.IPv4Network("169.254.0.0/16")


def asn_in_ranges(asn: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(lo <= asn <= hi for lo, hi in ranges)


def iana_reserved(asn: int) -> bool:
    return asn_in_ranges(asn, IANA_RESERVED_ASN_RANGES)

# --- Route 53 (private DNS of the customer stacks) -------------------------------------------------

# Hosted zones per AWS account, private and public together: 500, adjustable (Service Quotas, in
# US East (N. Virginia)). Amazon VPCs associated with one private hosted zone: 300, adjustable
# (above it AWS recommends Route 53 Profiles). Records per hosted zone: 10,000, adjustable. Private
# hosted zones associated with one VPC: no quota. Source:
# https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DNSLimitations.html ("Quotas on hosted
# zones", "Quotas on records"). Each customer stack creates one private zone per name it publishes
# (stacks/dns.py), associated with every SaaS VPC, and one or two records in it: the zones per
# account bound the number of customers, the VPCs per zone the number of SaaS VPCs.
ROUTE53_HOSTED_ZONES_PER_ACCOUNT = 500
ROUTE53_VPCS_PER_PRIVATE_ZONE = 300
ROUTE53_RECORDS_PER_ZONE = 10_000
ROUTE53_QUOTAS_URL = "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DNSLimitations.html"

# --- Capacity the customers of one bridge share ----------------------------------------------------

# Azure keeps five addresses of every subnet: the network address, .1 (default gateway), .2 and .3
# (Azure DNS) and the broadcast address; each private endpoint takes one address of its subnet.
# Source: https://learn.microsoft.com/en-us/azure/virtual-network/virtual-networks-faq ("Are there
# any restrictions on using IP addresses within these subnets?").
AZURE_SUBNET_RESERVED_ADDRESSES = 5
AZURE_SUBNET_FAQ_URL = "https://learn.microsoft.com/en-us/azure/virtual-network/virtual-networks-faq"

# Private endpoints in one virtual network: 1,000 (more only with High Scale Private Endpoints, a
# feature this project does not turn on). Source: Azure Private Link limits,
# https://learn.microsoft.com/en-us/azure/azure-resource-manager/management/azure-subscription-service-limits#private-link-limits
# and https://learn.microsoft.com/en-us/azure/private-link/increase-private-endpoint-vnet-limits.
AZURE_PRIVATE_ENDPOINTS_PER_VNET = 1000
AZURE_PRIVATE_LINK_LIMITS_URL = ("https://learn.microsoft.com/en-us/azure/azure-resource-manager/management/"
                                 "azure-subscription-service-limits#private-link-limits")

# Virtual network peerings per virtual network: 500. The hub has one peering per endpoint spoke
# (bridge:azure.endpointSpokes), so a hub holds at most 500 spokes. Source: Azure networking limits,
# https://learn.microsoft.com/en-us/azure/azure-resource-manager/management/azure-subscription-service-limits#networking-limits
AZURE_VNET_PEERINGS_PER_VNET = 500
AZURE_NETWORKING_LIMITS_URL = ("https://learn.microsoft.com/en-us/azure/azure-resource-manager/management/"
                               "azure-subscription-service-limits#networking-limits")
# A spoke reaches the ExpressRoute circuit through the hub's gateway: the hub-side peering allows gateway
# transit, the spoke-side peering uses the remote gateway, and the gateway then advertises the spoke's
# address space over the circuit. Sources:
# https://learn.microsoft.com/en-us/azure/virtual-network/virtual-network-peering-overview ("Gateways and
# on-premises connectivity") and https://learn.microsoft.com/en-us/azure/vpn-gateway/vpn-gateway-peering-gateway-transit.
AZURE_PEERING_OVERVIEW_URL = "https://learn.microsoft.com/en-us/azure/virtual-network/virtual-network-peering-overview"
AZURE_GATEWAY_TRANSIT_URL = "https://learn.microsoft.com/en-us/azure/vpn-gateway/vpn-gateway-peering-gateway-transit"

# Interface VPC endpoints in one VPC: 50 by default (adjustable in Service Quotas). Source:
# https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-limits-endpoints.html ("Interface and
# Gateway Load Balancer endpoints per VPC").
AWS_INTERFACE_ENDPOINTS_PER_VPC = 50
AWS_PRIVATELINK_QUOTAS_URL = "https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-limits-endpoints.html"


def subnet_endpoint_capacity(subnet: ipaddress.IPv4Network) -> int:
    """Private endpoints an Azure subnet holds: its addresses less the five Azure keeps (a /24: 251)."""
    return max(0, subnet.num_addresses - AZURE_SUBNET_RESERVED_ADDRESSES)

# --- Where the prefix budgets come from (shown by `bridgectl plan`) ---------------------------------

AWS_DX_QUOTAS_URL = "https://docs.aws.amazon.com/directconnect/latest/UserGuide/limits.html"
EXPRESSROUTE_LIMITS_URL = "https://github.com/MicrosoftDocs/azure-docs/blob/main/includes/expressroute-limits.md"
EXPRESSROUTE_GATEWAY_PERFORMANCE_URL = ("https://github.com/MicrosoftDocs/azure-docs/blob/main/includes/"
                                        "expressroute-gateway-performance-include.md")
EQUINIX_FCR_API_URL = ("https://docs.equinix.com/en-us/Content/KnowledgeCenter/Fabric/API-Reference/"
                       "API-FabricCloudRouters.htm")

# --- IPsec backup path (bridge:vpnBackup, stacks/vpn.py) ---------------------------------------------

# Zone-redundant VPN gateway SKUs. Basic cannot coexist with ExpressRoute (MicrosoftDocs
# expressroute-howto-coexist-resource-manager.md, "Limits and limitations"); the AZ SKUs need Standard,
# zone-redundant public IPs. Source: https://learn.microsoft.com/en-us/azure/vpn-gateway/about-gateway-skus
VPN_GATEWAY_AZ_SKUS = ("VpnGw1AZ", "VpnGw2AZ", "VpnGw3AZ", "VpnGw4AZ", "VpnGw5AZ")

# The Azure VPN gateway keeps ASN 65515 when it coexists with an ExpressRoute gateway ("the Azure VPN
# Gateway's ASN must be kept at its default value, 65515, for ExpressRoute and Azure VPN to work
# together"). Source: MicrosoftDocs expressroute-howto-coexist-resource-manager.md, "Limits and limitations",
# https://learn.microsoft.com/en-us/azure/expressroute/expressroute-howto-coexist-resource-manager
AZURE_VPN_GATEWAY_ASN = 65515
# Cloud WAN: the inbound routing policy on the backup's VPN attachments prepends the VPN gateway's ASN this many
# times, so the VPN's AS path (5 ASNs) is longer than the private path's (DX gateway, FCR, 12076, 65515: 4) and
# Cloud WAN, which compares AS-path length before the attachment type, keeps the private path
# (https://docs.aws.amazon.com/network-manager/latest/cloudwan/cloudwan-route-evaluation.html; routing policies,
# policy version 2025.11: https://docs.aws.amazon.com/network-manager/latest/cloudwan/cloudwan-route-policy.html).
CLOUD_WAN_BACKUP_PREPEND = 4
CLOUD_WAN_ROUTE_POLICY_URL = "https://docs.aws.amazon.com/network-manager/latest/cloudwan/cloudwan-route-policy.html"
COEXIST_URL = "https://learn.microsoft.com/en-us/azure/expressroute/expressroute-howto-coexist-resource-manager"

# Both gateways share GatewaySubnet, which must be /27 or larger (same page).
COEXIST_GATEWAY_SUBNET_MAX_PREFIXLEN = 27

# Azure accepts custom (APIPA) BGP addresses on a VPN gateway only in 169.254.21.0-169.254.22.255; AWS
# takes the first usable address of each tunnel's /30, Azure the second. Source:
# https://learn.microsoft.com/en-us/azure/vpn-gateway/vpn-gateway-howto-aws-bgp ("Choosing APIPA BGP addresses").
AZURE_APIPA_RANGES = (ipaddress.IPv4Network("169.254.21.0/24"), ipaddress.IPv4Network("169.254.22.0/24"))
AWS_AZURE_VPN_URL = "https://learn.microsoft.com/en-us/azure/vpn-gateway/vpn-gateway-howto-aws-bgp"
VPN_DEFAULT_INSIDE_POOL = "169.254.21.0/24"

# AWS tunnel inside CIDRs: a /30 of 169.254.0.0/16, except these reserved /30s. Source: EC2 API
# VpnTunnelOptionsSpecification.TunnelInsideCidr,
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_VpnTunnelOptionsSpecification.html
AWS_VPN_RESERVED_INSIDE_CIDRS = frozenset(ipaddress.IPv4Network(n) for n in (
    "169.254.0.0/30", "169.254.1.0/30", "169.254.2.0/30", "169.254.3.0/30", "169.254.4.0/30",
    "169.254.5.0/30", "169.254.169.252/30"))
AWS_VPN_TUNNEL_OPTIONS_URL = ("https://docs.aws.amazon.com/AWSEC2/latest/APIReference/"
                              "API_VpnTunnelOptionsSpecification.html")

# Pre-shared keys: AWS 8-64 characters of letters, digits, periods and underscores, not starting with 0
# (VpnTunnelOptionsSpecification.PreSharedKey, same page). The generated keys are letters and digits only,
# start with a letter, and are 32 characters long, which Azure's connection sharedKey accepts as well.
VPN_PSK_LEN = (8, 64)
VPN_PSK_GENERATED_LEN = 32

# Dead peer detection: AWS at least 30 s (VpnTunnelOptionsSpecification.DPDTimeoutSeconds; default 30 at
# creation, 40 in the Site-to-Site VPN User Guide); Azure 9-3,600 s, default 45, Microsoft recommends 30-45
# (VPN Gateway FAQ, https://learn.microsoft.com/en-us/azure/vpn-gateway/vpn-gateway-vpn-faq). The range valid
# on both is 30-3,600; the default, 40, is AWS's documented default and inside Microsoft's recommendation.
VPN_DPD_RANGE_S = (30, 3600)
VPN_DPD_DEFAULT_S = 40

# Routes a customer gateway may advertise to one Site-to-Site VPN connection on a transit gateway: 1,000,
# not adjustable (on a virtual private gateway: 100). A transit gateway VPN advertises at most 5,000.
# Source: https://docs.aws.amazon.com/vpn/latest/s2svpn/vpn-limits.html ("Routes").
AWS_VPN_MAX_PREFIXES_FROM_CGW = 1000
AWS_VPN_MAX_PREFIXES_TO_CGW = 5000
AWS_VPN_QUOTAS_URL = "https://docs.aws.amazon.com/vpn/latest/s2svpn/vpn-limits.html"

# Prefixes an Azure VPN gateway accepts from a BGP peer: 4,000; "The BGP session is dropped if the number
# of prefixes exceeds the limit." Source: VPN Gateway FAQ, BGP section (MicrosoftDocs
# includes/vpn-gateway-faq-bgp-include.md), https://learn.microsoft.com/en-us/azure/vpn-gateway/vpn-gateway-vpn-faq
AZURE_VPN_MAX_PREFIXES_PER_PEER = 4000
AZURE_VPN_LIMITS_URL = "https://learn.microsoft.com/en-us/azure/vpn-gateway/vpn-gateway-vpn-faq#bgp"

# BGP timers of the AWS VPN endpoint: keepalive 10 s, hold 30 s, as widely quoted in customer gateway
# configurations; no AWS page states them, so they are marked unverified (the twin measures).
# The Azure VPN gateway's own defaults are 60 s / 180 s (VPN Gateway FAQ, BGP); BGP uses the lower hold time.
AWS_VPN_BGP_KEEPALIVE_S = 10
AWS_VPN_BGP_HOLD_S = 30
AWS_VPN_BGP_TIMERS_VERIFIED = False
AWS_VPN_BGP_TIMERS_SOURCE = ("unverified: 10 s / 30 s appear in customer gateway configurations, not in an AWS "
                             "reference page")
AZURE_VPN_BGP_KEEPALIVE_S = 60
AZURE_VPN_BGP_HOLD_S = 180
