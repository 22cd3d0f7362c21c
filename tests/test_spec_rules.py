"""Every validation rule, one table row each: a mutation of the dev (or dev.acme) config and the exact lines.

Each row deep-copies the committed stack's ``config:``, applies one mistake and asserts the complete
report: the problem line(s) it should produce (key path, value, reason, fix) and nothing else. Rows
that expect no lines show what a rule accepts. Rules that need other stack files (the bridge of a
customer, sibling customers) run through :func:`stacks.loader.load_stack` on a copy of the project.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stacks.loader import load_stack
from stacks.problems import ConfigError, Severity
from stacks.spec import parse_config

ROOT = Path(__file__).resolve().parent.parent
DEV: dict[str, Any] = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
ACME: dict[str, Any] = yaml.safe_load((ROOT / "Pulumi.dev.acme.yaml").read_text())["config"]

Mutation = Callable[[dict[str, Any]], None]

# --- building mutations from the key paths the messages use ---------------------------------------

_STEP = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    """``bridge:aws.vpcs[0].cidr`` -> ["bridge:aws", "vpcs", 0, "cidr"] (top-level keys hold a colon, no dot)."""
    top, _, rest = path.partition(".")
    steps: list[str | int] = [top]
    for m in _STEP.finditer(rest):
        steps.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
    return steps


def _parent(cfg: dict[str, Any], path: str) -> tuple[Any, str | int]:
    steps = _steps(path)
    node: Any = cfg
    for step in steps[:-1]:
        node = node[step]
    return node, steps[-1]


def set_(path: str, value: Any) -> Mutation:
    def mutate(cfg: dict[str, Any]) -> None:
        node, key = _parent(cfg, path)
        node[key] = copy.deepcopy(value)
    return mutate


def drop(path: str) -> Mutation:
    def mutate(cfg: dict[str, Any]) -> None:
        node, key = _parent(cfg, path)
        del node[key]
    return mutate


def rename(path: str, new_key: str) -> Mutation:
    def mutate(cfg: dict[str, Any]) -> None:
        node, key = _parent(cfg, path)
        node[new_key] = node.pop(key)
    return mutate


def chain(*mutations: Mutation) -> Mutation:
    def mutate(cfg: dict[str, Any]) -> None:
        for m in mutations:
            m(cfg)
    return mutate


# dev has one metro and one circuit: validation warns of both on every valid variant of it. The rules
# below are about other things; tests/test_resilience.py covers these warnings.
DEV_SINGLE_POINTS = ("places every router in metro", "is the bridge's only ExpressRoute circuit:")


def without_dev_single_points(lines: list[str]) -> list[str]:
    return [line for line in lines if not any(w in line for w in DEV_SINGLE_POINTS)]


def report(base: dict[str, Any], stack: str, mutate: Mutation) -> list[str]:
    """Every line validation prints for the mutated config: the errors, or the warnings if it is valid."""
    cfg = copy.deepcopy(base)
    mutate(cfg)
    try:
        _, warnings = parse_config(stack, cfg)
    except ConfigError as exc:
        return without_dev_single_points([p.line() for p in exc.problems])
    return without_dev_single_points([w.line() for w in warnings])


def vpc(i: int, route_tables: bool = True) -> dict[str, Any]:
    """The i-th of many distinct, non-overlapping SaaS VPCs (for prefix budgets)."""
    return {"name": f"v{i}", "vpcId": f"vpc-{i:08x}", "cidr": f"10.{100 + i // 256}.{i % 256}.0/24",
            "subnetIds": [f"subnet-{i:08x}"], "routeTableIds": [f"rtb-{i:08x}"] if route_tables else []}


def prefixes(n: int) -> list[str]:
    return [f"10.{40 + i // 256}.{i % 256}.0/24" for i in range(n)]


def many_vpcs(n: int, *, route53_quota: int = 1_000_000) -> Mutation:
    """n VPCs; the quota of VPCs per Route 53 private zone raised out of the way (its own rows test it)."""
    return chain(set_("bridge:aws.vpcs", [vpc(i) for i in range(n)]),
                 set_("bridge:aws.route53VpcsPerZoneQuota", route53_quota))


# Without the IPsec backup: Cloud WAN would prefer it to the private path (stacks/vpn.py, tests/test_vpn_backup.py).
CLOUD_WAN = chain(set_("bridge:aws.backbone", "cloud-wan"), drop("bridge:aws.transitGatewayAsn"),
                  set_("bridge:aws.coreNetwork", {"asnRanges": ["64600-64699"], "edgeLocations": ["us-east-1"]}),
                  drop("bridge:vpnBackup"))


# Cloud WAN has no 200-prefix DX gateway budget and ADVANCED no known FCR route limit: only the
# circuit and gateway budgets bind.
ROUTE_HEAVY = chain(CLOUD_WAN, set_("bridge:exchange.package", "ADVANCED"))


def core_network(asn_ranges: list[str], edges: tuple[str, ...] = ("us-east-1",)) -> Mutation:
    return chain(CLOUD_WAN, set_("bridge:aws.coreNetwork", {"asnRanges": asn_ranges, "edgeLocations": list(edges)}))


VPC0 = DEV["bridge:aws"]["vpcs"][0]
R53_QUOTAS = "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DNSLimitations.html"
ROUTE_TABLE_FIX = "(fix: list the VPC's route tables, or add the routes yourself)"
SINGLE_ROUTER = ('warning: bridge:exchange.routers: ["fcr-a"] has a single router: a single point of failure; '
                 "losing it leaves only the IPsec backup (bridge:vpnBackup) between AWS and Azure (fix: add a second "
                 "router in the same metro)")
ONE_AWS_DEVICE = ('warning: bridge:exchange.routers: ["fcr-a"] gives the bridge one Direct Connect hosted connection, '
                  "on one AWS device: a single point of failure; AWS recommends connections on separate devices at "
                  "two locations (fix: add a second router: its hosted connection lands on other AWS equipment)")

# --- bridge rules -----------------------------------------------------------------------------------

BRIDGE_RULES = [
    pytest.param(lambda cfg: None, [], id="dev-is-valid"),
    # ASNs: Amazon-side ranges, reserved by Azure / IANA / Equinix, TGW != DX gateway.
    pytest.param(set_("bridge:aws.transitGatewayAsn", 100), [
        "error: bridge:aws.transitGatewayAsn: 100 is outside the Amazon-side ranges 64512-65534 and "
        "4200000000-4294967294 (fix: pick a private ASN such as 64512-65534)"], id="tgw-asn-outside-amazon-range"),
    pytest.param(set_("bridge:aws.directConnectGatewayAsn", 65535), [
        "error: bridge:aws.directConnectGatewayAsn: 65535 is outside the Amazon-side ranges 64512-65534 and "
        "4200000000-4294967294 (fix: pick a private ASN such as 64512-65534)"], id="dxgw-asn-outside-amazon-range"),
    pytest.param(set_("bridge:aws.directConnectGatewayAsn", 4_200_000_100), [], id="dxgw-asn-32-bit-accepted"),
    pytest.param(set_("bridge:aws.directConnectGatewayAsn", 65515), [
        "error: bridge:aws.directConnectGatewayAsn: 65515 is reserved by Azure (8074, 8075, 12076, 65515-65520) "
        "(fix: pick another private ASN, e.g. 64512-65514)"], id="dxgw-asn-reserved-by-azure"),
    pytest.param(set_("bridge:aws.transitGatewayAsn", 64600), [
        "error: bridge:aws.transitGatewayAsn: 64600 is reserved by Equinix (112, 64600, 4200000000-4200000002) "
        "(fix: pick another private ASN)"], id="tgw-asn-reserved-by-equinix"),
    pytest.param(set_("bridge:exchange.equinixAsn", 23456), [
        "error: bridge:exchange.equinixAsn: 23456 is reserved by IANA (fix: pick a private ASN such as 64512-65514)"],
        id="equinix-asn-reserved-by-iana"),
    pytest.param(set_("bridge:exchange.equinixAsn", 12076), [
        "error: bridge:exchange.equinixAsn: 12076 is reserved by Azure (8074, 8075, 12076, 65515-65520) "
        "(fix: pick another private ASN, e.g. 64512-65514)"], id="equinix-asn-reserved-by-azure"),
    pytest.param(set_("bridge:exchange.equinixAsn", 64513), [
        "error: bridge:exchange.equinixAsn: 64513 equals bridge:aws.directConnectGatewayAsn; the FCR and AWS peer "
        "over eBGP and need different ASNs (fix: check the metro's ASN in the portal)"], id="equinix-asn-equals-dxgw"),
    pytest.param(set_("bridge:aws.transitGatewayAsn", 64513), [
        "error: bridge:aws.directConnectGatewayAsn: 64513 equals transitGatewayAsn; AWS rejects the association "
        "when they match (fix: use another ASN, e.g. 64514)"], id="tgw-asn-equals-dxgw"),
    pytest.param(drop("bridge:aws.transitGatewayAsn"), [
        "error: bridge:aws.transitGatewayAsn: is required with backbone: transit-gateway "
        "(fix: add `transitGatewayAsn: 64512`)"], id="tgw-asn-required-with-transit-gateway"),
    pytest.param(set_("bridge:aws.transitGatewayAsn", "64512"), [
        'error: bridge:aws.transitGatewayAsn: "64512" must be an integer, not a quoted string '
        "(fix: write 64512 without quotes)"], id="tgw-asn-quoted-is-a-type-error-only"),
    # Cloud WAN.
    pytest.param(CLOUD_WAN, [], id="cloud-wan-valid"),
    pytest.param(chain(CLOUD_WAN, set_("bridge:aws.coreNetwork.edgeLocations", ["us-east-1"]),
                       set_("bridge:aws.coreNetwork.retiringEdgeLocations", ["us-west-2"])), [
        'warning: bridge:aws.coreNetwork.retiringEdgeLocations[0]: "us-west-2" is being removed in two deployments: '
        "this one moves the Direct Connect gateway attachment off it while the policy keeps it; the next one takes "
        "it out of the policy (fix: after this change is deployed and the attachment is AVAILABLE again, delete it "
        "from retiringEdgeLocations)"], id="cloud-wan-retiring-edge-location-explained"),
    pytest.param(chain(CLOUD_WAN, set_("bridge:aws.coreNetwork.retiringEdgeLocations", ["us-east-1"])), [
        'error: bridge:aws.coreNetwork.retiringEdgeLocations[0]: "us-east-1" is also in edgeLocations (fix: keep it '
        "in one list: edgeLocations to use it, retiringEdgeLocations to remove it)"],
        id="cloud-wan-retiring-edge-location-in-use"),
    pytest.param(chain(set_("bridge:aws.backbone", "cloud-wan"), drop("bridge:vpnBackup")), [
        "warning: bridge:aws.transitGatewayAsn: 64512 is ignored with backbone: cloud-wan (fix: remove it)",
        'error: bridge:aws.coreNetwork: is required with backbone: cloud-wan (fix: add `coreNetwork: {asnRanges: '
        '["64700-64799"], edgeLocations: [us-east-1]}`)'], id="cloud-wan-core-network-required"),
    pytest.param(core_network(["64512-64699"]), [
        "error: bridge:aws.directConnectGatewayAsn: 64513 lies inside coreNetwork.asnRanges; AWS requires the DX "
        "gateway ASN outside them (fix: pick an ASN outside the core network's ranges)"],
        id="cloud-wan-dxgw-asn-inside-asn-ranges"),
    pytest.param(core_network(["64500-64520"]), [
        'error: bridge:aws.coreNetwork.asnRanges[0]: "64500-64520" is not inside 64512-65534 or '
        "4200000000-4294967294 (fix: use a private range such as 64700-64799)"], id="cloud-wan-range-not-amazon"),
    pytest.param(core_network(["64699-64600"]), [
        'error: bridge:aws.coreNetwork.asnRanges[0]: "64699-64600" starts above its end '
        "(fix: write it as 64600-64699)"], id="cloud-wan-range-reversed"),
    pytest.param(core_network(["65500-65530"]), [
        'error: bridge:aws.coreNetwork.asnRanges[0]: "65500-65530" includes ASNs Azure reserves (65515-65520) '
        "(fix: end the range below 65515)"], id="cloud-wan-range-includes-azure-reserved"),
    pytest.param(core_network(["64600"]), [
        'error: bridge:aws.coreNetwork.asnRanges[0]: "64600" must be a range like 64700-64799 '
        '(fix: write it like `asnRanges: ["64700-64799"]`)'], id="cloud-wan-range-format"),
    pytest.param(core_network(["64600-64600"], ("us-east-1", "eu-west-1")), [
        'error: bridge:aws.coreNetwork.asnRanges: ["64600-64600"] holds fewer ASNs than the 2 edge locations '
        "(fix: widen the ranges)"], id="cloud-wan-ranges-too-few-asns"),
    pytest.param(core_network(["64600-64699"], ("eu-west-1",)), [
        'error: bridge:aws.coreNetwork.edgeLocations: ["eu-west-1"] does not include aws:region us-east-1, where '
        "the VPCs are (fix: add us-east-1)"], id="cloud-wan-edge-locations-miss-region"),
    pytest.param(chain(CLOUD_WAN, set_("bridge:aws.transitGatewayAsn", 64512)), [
        "warning: bridge:aws.transitGatewayAsn: 64512 is ignored with backbone: cloud-wan (fix: remove it)"],
        id="cloud-wan-tgw-asn-warning-only"),
    pytest.param(set_("bridge:aws.coreNetwork", {"asnRanges": ["64600-64699"], "edgeLocations": ["us-east-1"]}), [
        'error: bridge:aws.coreNetwork: {"asnRanges": ["64600-64699"], "edgeLocations": ["us-east-1"]} is only used '
        "with backbone: cloud-wan (fix: remove it, or set backbone: cloud-wan)"],
        id="core-network-with-transit-gateway"),
    # CIDRs: validity, host bits, IPv6, prefix bounds, types.
    pytest.param(set_("bridge:aws.vpcs[0].cidr", "10.10.0.0/33"), [
        'error: bridge:aws.vpcs[0].cidr: "10.10.0.0/33" is not a valid CIDR '
        "(fix: write an IPv4 network such as 10.10.0.0/16)"], id="cidr-invalid"),
    pytest.param(set_("bridge:aws.vpcs[0].cidr", "10.10.0.1/16"), [
        'error: bridge:aws.vpcs[0].cidr: "10.10.0.1/16" has host bits set '
        "(fix: use the network address: 10.10.0.0/16)"],
        id="cidr-host-bits"),
    pytest.param(set_("bridge:aws.vpcs[0].cidr", "fd00::/48"), [
        'error: bridge:aws.vpcs[0].cidr: "fd00::/48" is an IPv6 network; this bridge plans IPv4 only '
        "(fix: use an IPv4 network)"], id="cidr-ipv6"),
    pytest.param(set_("bridge:aws.vpcs[0].cidr", "10.10.0.0"), [
        'error: bridge:aws.vpcs[0].cidr: "10.10.0.0" is not a valid CIDR: the prefix length is missing '
        "(fix: write it with a prefix length, e.g. 10.10.0.0/16)"], id="cidr-no-prefix-length"),
    pytest.param(set_("bridge:aws.vpcs[0].cidr", "10.10.0.0/29"), [
        'error: bridge:aws.vpcs[0].cidr: "10.10.0.0/29" has prefix length /29; /8 to /28 is required '
        "(fix: use a network of /8 to /28)"], id="cidr-vpc-prefix-bounds"),
    pytest.param(set_("bridge:aws.vpcs[0].cidr", 10), [
        "error: bridge:aws.vpcs[0].cidr: 10 must be a CIDR string such as 10.10.0.0/16, not an integer "
        "(fix: write it like `cidr: 10.10.0.0/16`)"], id="cidr-wrong-type"),
    pytest.param(set_("bridge:aws.vpcs[0].cidr", None), [
        "error: bridge:aws.vpcs[0].cidr: null must be a CIDR string such as 10.10.0.0/16, not null "
        "(fix: write it like `cidr: 10.10.0.0/16`)"], id="cidr-null"),
    pytest.param(set_("bridge:azure.hubCidr", "10.20.0.0/27"), [
        'error: bridge:azure.hubCidr: "10.20.0.0/27" has prefix length /27; /8 to /26 is required '
        "(fix: use a network of /8 to /26)"], id="cidr-hub-prefix-bounds"),
    pytest.param(set_("bridge:addressing.awsLinkPool", "169.254.100.0/31"), [
        'error: bridge:addressing.awsLinkPool: "169.254.100.0/31" has prefix length /31; /16 to /30 is required '
        "(fix: use a network of /16 to /30)"], id="cidr-link-pool-prefix-bounds"),
    pytest.param(set_("bridge:addressing.azureLinkPool", "192.168.100.0/30"), [
        'error: bridge:addressing.azureLinkPool: "192.168.100.0/30" has prefix length /30; /16 to /29 is required '
        "(fix: use a network of /16 to /29)"], id="azure-link-pool-holds-a-29"),
    # Overlaps across VPCs, hub, extra prefixes and both pools.
    pytest.param(set_("bridge:azure.hubCidr", "10.10.4.0/22"), [
        'error: bridge:azure.hubCidr: "10.10.4.0/22" overlaps bridge:aws.vpcs[0].cidr (10.10.0.0/16) '
        "(fix: use non-overlapping address space)"], id="overlap-hub-vpc"),
    pytest.param(set_("bridge:azure.extraPrefixes", ["10.30.0.0/16", "10.10.128.0/17"]), [
        'error: bridge:azure.extraPrefixes[1]: "10.10.128.0/17" overlaps bridge:aws.vpcs[0].cidr (10.10.0.0/16) '
        "(fix: use non-overlapping address space)"], id="overlap-extra-prefix-vpc"),
    pytest.param(set_("bridge:addressing.azureLinkPool", "169.254.100.0/29"), [
        'error: bridge:addressing.azureLinkPool: "169.254.100.0/29" overlaps bridge:addressing.awsLinkPool '
        "(169.254.100.0/24) (fix: use non-overlapping address space)"], id="overlap-link-pools"),
    pytest.param(set_("bridge:addressing.awsLinkPool", "10.20.3.0/24"), [
        'error: bridge:addressing.awsLinkPool: "10.20.3.0/24" overlaps bridge:azure.hubCidr (10.20.0.0/22) '
        "(fix: use non-overlapping address space)"], id="overlap-pool-hub"),
    pytest.param(set_("bridge:aws.vpcs", [VPC0, {**VPC0, "name": "saas2", "vpcId": "vpc-1a1b2c3d4e5f60718",
                                                 "cidr": "10.10.8.0/21"}]), [
        'error: bridge:aws.vpcs[1].cidr: "10.10.8.0/21" overlaps bridge:aws.vpcs[0].cidr (10.10.0.0/16) '
        "(fix: use non-overlapping address space)"], id="overlap-two-vpcs"),
    pytest.param(set_("bridge:azure.extraPrefixes", ["0.0.0.0/0"]), [
        'error: bridge:azure.extraPrefixes[0]: "0.0.0.0/0" is a default route; advertising it toward AWS draws all '
        "traffic into the bridge (fix: list the spoke prefixes instead)"], id="extra-prefix-default-route"),
    pytest.param(set_("bridge:azure.extraPrefixes", ["10.30.0.0/16", "10.30.0.0/16"]), [
        'error: bridge:azure.extraPrefixes[1]: "10.30.0.0/16" repeats bridge:azure.extraPrefixes[0] '
        "(fix: remove the duplicate)"], id="extra-prefix-repeated"),
    # Hub large enough for the GatewaySubnet and the endpoint subnet.
    pytest.param(set_("bridge:azure.hubCidr", "10.20.0.0/26"), [
        'error: bridge:azure.hubCidr: "10.20.0.0/26" cannot hold a GatewaySubnet (/27, first /26 reserved) and a '
        "/24 endpoint subnet (fix: use a larger hubCidr or a longer endpointSubnetPrefixLength)"], id="hub-too-small"),
    pytest.param(chain(set_("bridge:azure.hubCidr", "10.20.0.0/24"), set_("bridge:azure.gatewaySku", "ErGwScale"),
                       set_("bridge:azure.endpointSubnetPrefixLength", 25)), [], id="hub-fits-scale-gateway"),
    pytest.param(set_("bridge:azure.endpointSubnetPrefixLength", 29), [
        "error: bridge:azure.endpointSubnetPrefixLength: 29 is outside 16-28 (fix: use a value from 16 to 28)"],
        id="endpoint-subnet-length-bounds"),
    # Link pools: large enough, stable slots, collisions fixed by linkSlot.
    pytest.param(set_("bridge:addressing.awsLinkPool", "169.254.100.0/30"), [
        'error: bridge:addressing.awsLinkPool: "169.254.100.0/30" holds 1 /30(s) for 2 transit VIF(s) '
        "(fix: use a larger pool, e.g. a /24)"], id="aws-link-pool-too-small"),
    pytest.param(set_("bridge:addressing.awsLinkPool", "169.254.100.0/29"), [
        "error: bridge:exchange.routers[1].linkSlot: router fcr-b maps to /30 slot 1 of awsLinkPool, already taken "
        "by router fcr-a (fix: pin `linkSlot: 0` on router fcr-b (existing links keep their addresses))"],
        id="link-slot-collision-names"),
    pytest.param(chain(set_("bridge:addressing.awsLinkPool", "169.254.100.0/29"),
                       set_("bridge:exchange.routers[1].linkSlot", 0)), [], id="link-slot-collision-fixed-by-pin"),
    pytest.param(set_("bridge:exchange.routers[1].linkSlot", 55), [
        "error: bridge:exchange.routers[0].linkSlot: router fcr-a maps to /30 slot 55 of awsLinkPool, which "
        "routers[1].linkSlot pins for router fcr-b (fix: pin `linkSlot: 0` on router fcr-a, or pin fcr-b elsewhere)"],
        id="link-slot-pin-takes-derived-slot"),
    pytest.param(chain(set_("bridge:exchange.routers[0].linkSlot", 3),
                       set_("bridge:exchange.routers[1].linkSlot", 3)), [
        "error: bridge:exchange.routers[1].linkSlot: 3 repeats routers[0].linkSlot "
        "(fix: pin router fcr-b to a free slot, e.g. `linkSlot: 0`)"], id="link-slot-pins-repeat"),
    pytest.param(set_("bridge:exchange.routers[0].linkSlot", 64), [
        "error: bridge:exchange.routers[0].linkSlot: 64 is beyond the 64 /30 slots of awsLinkPool (fix: use 0-63)"],
        id="link-slot-beyond-pool"),
    pytest.param(set_("bridge:exchange.routers[0].linkSlot", -1), [
        "error: bridge:exchange.routers[0].linkSlot: -1 is outside 0-16383 (fix: use a value from 0 to 16383)"],
        id="link-slot-negative"),
    # Prefix budgets: an error above the limit, a warning above 80%.
    pytest.param(set_("bridge:azure.extraPrefixes", prefixes(100)), [
        'error: bridge:azure.extraPrefixes: "101 prefixes" exceeds the limit of 100 Azure prefixes AWS accepts per '
        "transit VIF session (fix: summarize prefixes or split the bridge)"], id="budget-azure-to-aws-exceeded"),
    pytest.param(set_("bridge:azure.extraPrefixes", prefixes(80)), [
        'warning: bridge:azure.extraPrefixes: "81 prefixes" uses over 80% of the limit of 100 Azure prefixes AWS '
        "accepts per transit VIF session (fix: plan summarization before it fills up)"], id="budget-azure-to-aws-80"),
    pytest.param(set_("bridge:azure.extraPrefixes", prefixes(79)), [], id="budget-azure-to-aws-at-80-no-warning"),
    pytest.param(many_vpcs(201), [
        'error: bridge:aws.vpcs: "201 prefixes" exceeds the limit of 200 VPC CIDRs advertised by the Direct Connect '
        "gateway (allowed prefixes per association) (fix: summarize prefixes or split the bridge)"],
        id="budget-dxgw-allowed-prefixes-exceeded"),
    pytest.param(many_vpcs(161), [
        'warning: bridge:aws.vpcs: "161 prefixes" uses over 80% of the limit of 200 VPC CIDRs advertised by the '
        "Direct Connect gateway (allowed prefixes per association) (fix: plan summarization before it fills up)"],
        id="budget-dxgw-allowed-prefixes-80"),
    pytest.param(chain(CLOUD_WAN, many_vpcs(201)), [],
                 id="budget-dxgw-allowed-prefixes-not-with-cloud-wan"),
    pytest.param(chain(CLOUD_WAN, many_vpcs(1000)), [
        'error: bridge:exchange.package: "1001 prefixes" exceeds the limit of 1000 IPv4 routes in an FCR STANDARD '
        "package (fix: summarize prefixes or split the bridge)"], id="budget-fcr-package-exceeded"),
    pytest.param(chain(CLOUD_WAN, many_vpcs(800)), [
        'warning: bridge:exchange.package: "801 prefixes" uses over 80% of the limit of 1000 IPv4 routes in an FCR '
        "STANDARD package (fix: plan summarization before it fills up)"], id="budget-fcr-package-80"),
    pytest.param(chain(ROUTE_HEAVY, set_("bridge:azure.gatewaySku", "ErGw2AZ"), many_vpcs(4001)), [
        'error: bridge:aws.vpcs: "4001 prefixes" exceeds the limit of 4000 AWS prefixes Azure accepts on a Standard '
        "circuit (fix: summarize prefixes or split the bridge)"], id="budget-circuit-tier-exceeded"),
    pytest.param(chain(ROUTE_HEAVY, set_("bridge:azure.gatewaySku", "ErGw2AZ"), many_vpcs(3201)), [
        'warning: bridge:aws.vpcs: "3201 prefixes" uses over 80% of the limit of 4000 AWS prefixes Azure accepts on '
        "a Standard circuit (fix: plan summarization before it fills up)"], id="budget-circuit-tier-80"),
    pytest.param(chain(ROUTE_HEAVY, set_("bridge:azure.circuit.tier", "Premium"), many_vpcs(4001)), [
        'error: bridge:aws.vpcs: "4001 prefixes" exceeds the limit of 4000 routes an ErGw1AZ gateway learns '
        "(fix: summarize prefixes or split the bridge)"], id="budget-premium-tier-but-gateway-learned"),
    pytest.param(chain(ROUTE_HEAVY, set_("bridge:azure.circuit.tier", "Premium"),
                       set_("bridge:azure.gatewaySku", "ErGwScale"), many_vpcs(4001)),
                 [], id="budget-premium-tier-scale-gateway"),
    # Route 53: every customer zone is associated with every SaaS VPC (300 per zone unless raised).
    pytest.param(chain(CLOUD_WAN, many_vpcs(301, route53_quota=300)), [
        'error: bridge:aws.vpcs: "301 VPCs" exceed the 300 VPCs one Route 53 private hosted zone can be associated '
        f"with (bridge:aws.route53VpcsPerZoneQuota; {R53_QUOTAS}); every customer zone is associated with every SaaS "
        "VPC (fix: raise the quota in Service Quotas (US East (N. Virginia)) and route53VpcsPerZoneQuota, or split "
        "the VPCs between bridges; see docs/dns.md)"], id="route53-vpcs-per-zone-exceeded"),
    pytest.param(chain(CLOUD_WAN, many_vpcs(241, route53_quota=300)), [
        'warning: bridge:aws.vpcs: "241 VPCs" use over 80% of the 300 VPCs one Route 53 private hosted zone can be '
        f"associated with (bridge:aws.route53VpcsPerZoneQuota; {R53_QUOTAS}) (fix: request a higher quota before it "
        "fills up; see docs/dns.md)"], id="route53-vpcs-per-zone-80"),
    pytest.param(chain(CLOUD_WAN, many_vpcs(240, route53_quota=300)), [], id="route53-vpcs-per-zone-at-80"),
    pytest.param(chain(CLOUD_WAN, many_vpcs(301, route53_quota=400)), [], id="route53-vpcs-per-zone-raised"),
    pytest.param(set_("bridge:aws.route53HostedZoneQuota", 0), [
        "error: bridge:aws.route53HostedZoneQuota: 0 is outside 1-1000000 (fix: use a value from 1 to 1000000)"],
        id="route53-hosted-zone-quota-positive"),
    # Exchange: 1-2 routers, names, unique, one metro, peering location.
    pytest.param(set_("bridge:exchange.routers", [{"name": "fcr-a", "metro": "DC"}]), [SINGLE_ROUTER, ONE_AWS_DEVICE],
                 id="single-router-is-a-warning"),
    pytest.param(set_("bridge:exchange.routers", []), [
        "error: bridge:exchange.routers: [] has 0 item(s); at least 1 required (fix: list at least 1)"],
        id="routers-none"),
    pytest.param(set_("bridge:exchange.routers", [{"name": n, "metro": "DC"} for n in ("fcr-a", "fcr-b", "fcr-c")]), [
        'error: bridge:exchange.routers: ["fcr-a", "fcr-b", "fcr-c"] holds 3 routers; one circuit takes at most two '
        "(its primary and secondary links) (fix: remove routers, or add bridge:azure.secondCircuit and place the "
        "others in its metro)"], id="routers-three"),
    pytest.param(set_("bridge:exchange.routers[1].name", "fcr-b-0123456789-abcdefgh"), [
        'error: bridge:exchange.routers[1].name: "fcr-b-0123456789-abcdefgh" must be 1-24 characters of letters, '
        "digits, - and _ (fix: write it like `name: fcr-a`)"], id="router-name-too-long"),
    pytest.param(set_("bridge:exchange.routers[1].name", "fcr_B-0123456789-abcdefg"), [], id="router-name-24-chars"),
    pytest.param(set_("bridge:exchange.routers[1].name", "fcr b"), [
        'error: bridge:exchange.routers[1].name: "fcr b" must be 1-24 characters of letters, digits, - and _ '
        "(fix: write it like `name: fcr-a`)"], id="router-name-characters"),
    pytest.param(set_("bridge:exchange.routers[1].name", "fcr-a"), [
        'error: bridge:exchange.routers[1].name: "fcr-a" repeats bridge:exchange.routers[0].name '
        "(fix: give each a different name)"], id="router-names-unique"),
    pytest.param(set_("bridge:exchange.routers[1].metro", "NY"), [
        'error: bridge:exchange.routers[1].metro: "NY" differs from routers[0].metro (DC); routers that share the '
        "ExpressRoute circuit must be in one metro (one peer ASN per circuit) (fix: use metro DC for both)"],
        id="routers-same-metro"),
    pytest.param(chain(set_("bridge:exchange.routers[0].metro", "NY"),
                       set_("bridge:exchange.routers[1].metro", "NY")), [
        'error: bridge:exchange.routers[0].metro: "NY" is not the metro of peering location Washington DC (DC) '
        "(fix: use metro DC, or the peering location of metro NY)",
        'error: bridge:exchange.routers[1].metro: "NY" is not the metro of peering location Washington DC (DC) '
        "(fix: use metro DC, or the peering location of metro NY)"], id="metro-vs-peering-location"),
    pytest.param(chain(set_("bridge:exchange.routers[0].metro", "NY"), set_("bridge:exchange.routers[1].metro", "NY"),
                       set_("bridge:azure.circuit.peeringLocation", "New York")), [], id="metro-matches-location"),
    pytest.param(set_("bridge:exchange.routers[1].metro", "dc"), [
        'error: bridge:exchange.routers[1].metro: "dc" must be a two-letter Equinix metro code '
        "(fix: write it like `metro: DC`)"], id="metro-format"),
    pytest.param(set_("bridge:azure.circuit.peeringLocation", "washington dc"), [
        'error: bridge:azure.circuit.peeringLocation: "washington dc" does not match Azure\'s spelling '
        "(fix: write Washington DC)"], id="peering-location-spelling"),
    pytest.param(set_("bridge:azure.circuit.peeringLocation", "Atlantis"), [
        'warning: bridge:azure.circuit.peeringLocation: "Atlantis" is not a known Equinix ExpressRoute location; '
        "Azure needs the exact name (fix: check `az network express-route list-service-providers`)"],
        id="peering-location-unknown-warning"),
    # Bandwidth, LAB package, Local tier.
    pytest.param(set_("bridge:exchange.bandwidthMbps", 300), [
        "error: bridge:exchange.bandwidthMbps: 300 is not one of 50, 100, 200, 500, 1000, 2000, 5000, 10000 "
        "(fix: use one of 50, 100, 200, 500, 1000, 2000, 5000, 10000)"], id="bandwidth-not-expressroute"),
    pytest.param(set_("bridge:exchange.package", "LAB"), [
        "error: bridge:exchange.bandwidthMbps: 1000 exceeds the LAB package's 10 Mbps per connection (and "
        "ExpressRoute starts at 50 Mbps, so LAB cannot carry this bridge) (fix: use package STANDARD)"],
        id="lab-package-bandwidth"),
    pytest.param(set_("bridge:azure.circuit.tier", "Local"), [
        'error: bridge:azure.circuit.family: "MeteredData" is not available on Local circuits '
        "(fix: use family UnlimitedData)"], id="local-tier-unlimited-only"),
    pytest.param(chain(set_("bridge:azure.circuit.tier", "Local"), set_("bridge:azure.circuit.family", "UnlimitedData"),
                       set_("bridge:exchange.bandwidthMbps", 500)), [
        "error: bridge:exchange.bandwidthMbps: 500 is below 1000, the smallest Local circuit "
        "(fix: use 1000 or more, or tier Standard)"], id="local-tier-1-gbps-and-up"),
    pytest.param(chain(set_("bridge:azure.circuit.tier", "Local"),
                       set_("bridge:azure.circuit.family", "UnlimitedData")), [], id="local-tier-valid"),
    # Ids in their real formats.
    pytest.param(set_("bridge:aws.accountId", 111122223333), [
        "error: bridge:aws.accountId: 111122223333 must be a string, not an integer; quote it in YAML so leading "
        'zeros and digits are kept (fix: write the 12-digit account id in quotes, e.g. "111122223333")'],
        id="account-id-unquoted"),
    pytest.param(set_("bridge:aws.accountId", "11112222333"), [
        'error: bridge:aws.accountId: "11112222333" must be 12 digits '
        '(fix: write the 12-digit account id in quotes, e.g. "111122223333")'], id="account-id-11-digits"),
    pytest.param(set_("bridge:aws.accountId", "000000000000"), [
        'error: bridge:aws.accountId: "000000000000" is not a real AWS account id '
        '(fix: write the 12-digit account id in quotes, e.g. "111122223333")'], id="account-id-zeros"),
    pytest.param(set_("bridge:aws.vpcs[0].vpcId", "vpc-xyz"), [
        'error: bridge:aws.vpcs[0].vpcId: "vpc-xyz" is not a VPC id (vpc- and 8 or 17 hex digits) '
        "(fix: write it like `vpcId: vpc-0a1b2c3d4e5f60718`)"], id="vpc-id-format"),
    pytest.param(set_("bridge:aws.vpcs[0].vpcId", "vpc-0a1b2c3d"), [], id="vpc-id-short-form-accepted"),
    pytest.param(set_("bridge:aws.vpcs[0].subnetIds[1]", "subnet-123"), [
        'error: bridge:aws.vpcs[0].subnetIds[1]: "subnet-123" is not a subnet id (subnet- and 8 or 17 hex digits) '
        "(fix: write it like `subnetIds: [subnet-0a1b2c3d4e5f60718]`)"], id="subnet-id-format"),
    pytest.param(set_("bridge:aws.vpcs[0].subnetIds[1]", "subnet-0a1b2c3d4e5f60718"), [
        'error: bridge:aws.vpcs[0].subnetIds[1]: "subnet-0a1b2c3d4e5f60718" repeats '
        "bridge:aws.vpcs[0].subnetIds[0] (fix: remove the duplicate)"], id="subnet-ids-unique"),
    pytest.param(set_("bridge:aws.vpcs[0].routeTableIds[0]", "rt-0a1b2c3d4e5f60718"), [
        'error: bridge:aws.vpcs[0].routeTableIds[0]: "rt-0a1b2c3d4e5f60718" is not a route table id (rtb- and 8 or '
        "17 hex digits) (fix: write it like `routeTableIds: [rtb-0a1b2c3d4e5f60718]`)"], id="route-table-id-format"),
    pytest.param(set_("bridge:aws.vpcs[0].routeTableIds", []), [
        f"warning: bridge:aws.vpcs[0].routeTableIds: [] is empty: no VPC route toward Azure is created for this VPC "
        f"{ROUTE_TABLE_FIX}"], id="route-tables-empty-warning"),
    pytest.param(set_("bridge:aws.vpcs", [VPC0, {**VPC0, "vpcId": "vpc-1a1b2c3d4e5f60718", "cidr": "10.11.0.0/16"}]), [
        'error: bridge:aws.vpcs[1].name: "saas" repeats bridge:aws.vpcs[0].name (fix: give each a different name)'],
        id="vpc-names-unique"),
    pytest.param(set_("bridge:aws.vpcs", [VPC0, {**VPC0, "name": "b", "cidr": "10.11.0.0/16"}]), [
        'error: bridge:aws.vpcs[1].vpcId: "vpc-0a1b2c3d4e5f60718" repeats bridge:aws.vpcs[0].vpcId '
        "(fix: give each a different vpcId)"], id="vpc-ids-unique"),
    pytest.param(set_("bridge:exchange.projectId", "not-a-uuid"), [
        'error: bridge:exchange.projectId: "not-a-uuid" is not a UUID '
        "(fix: write it like `projectId: 0e1f2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7`)"], id="project-id-uuid"),
    pytest.param(set_("azure-native:subscriptionId", "0000"), [
        'error: azure-native:subscriptionId: "0000" is not a subscription id (a UUID) '
        "(fix: write it like `azure-native:subscriptionId: 00000000-0000-0000-0000-000000000000`)"],
        id="subscription-id-uuid"),
    pytest.param(set_("aws:region", "us-east"), [
        'error: aws:region: "us-east" is not an AWS region such as us-east-1 '
        "(fix: write it like `aws:region: us-east-1`)"],
        id="aws-region-format"),
    pytest.param(set_("azure-native:location", "East US 2"), [
        'error: azure-native:location: "East US 2" is not an Azure location name such as eastus2 '
        "(fix: write it like `azure-native:location: eastus2`)"], id="azure-location-format"),
    pytest.param(set_("bridge:exchange.notificationEmails", ["netops"]), [
        'error: bridge:exchange.notificationEmails[0]: "netops" is not an email address '
        "(fix: write it like `notificationEmails: [netops@example.com]`)"], id="email-format"),
    pytest.param(set_("bridge:azure.resourceGroup", "rg bad/"), [
        'error: bridge:azure.resourceGroup: "rg bad/" is not a valid resource group name '
        "(fix: write it like `resourceGroup: rg-bridge-dev`)"], id="resource-group-format"),
    # VLAN.
    pytest.param(set_("bridge:azure.circuit.peeringVlan", 0), [
        "error: bridge:azure.circuit.peeringVlan: 0 is outside 1-4094 (fix: use a value from 1 to 4094)"],
        id="vlan-zero"),
    pytest.param(set_("bridge:azure.circuit.peeringVlan", 4095), [
        "error: bridge:azure.circuit.peeringVlan: 4095 is outside 1-4094 (fix: use a value from 1 to 4094)"],
        id="vlan-4095"),
    pytest.param(set_("bridge:azure.circuit.peeringVlan", 4094), [], id="vlan-4094-accepted"),
    # Enums with "did you mean".
    pytest.param(set_("bridge:aws.backbone", "transit_gateway"), [
        'error: bridge:aws.backbone: "transit_gateway" is not one of transit-gateway, cloud-wan '
        "(fix: did you mean transit-gateway? use one of transit-gateway, cloud-wan)"], id="enum-backbone"),
    pytest.param(set_("bridge:azure.circuit.tier", "premium"), [
        'error: bridge:azure.circuit.tier: "premium" is not one of Standard, Premium, Local '
        "(fix: did you mean Premium? use one of Standard, Premium, Local)"], id="enum-tier-case"),
    pytest.param(set_("bridge:azure.gatewaySku", "ErGw1Az"), [
        'error: bridge:azure.gatewaySku: "ErGw1Az" is not one of ErGw1AZ, ErGw2AZ, ErGw3AZ, ErGwScale '
        "(fix: did you mean ErGw1AZ? use one of ErGw1AZ, ErGw2AZ, ErGw3AZ, ErGwScale)"], id="enum-gateway-sku"),
    pytest.param(set_("bridge:exchange.package", "standard"), [
        'error: bridge:exchange.package: "standard" is not one of LAB, STANDARD, ADVANCED, PREMIUM '
        "(fix: did you mean STANDARD? use one of LAB, STANDARD, ADVANCED, PREMIUM)"], id="enum-package"),
    pytest.param(set_("bridge:exchange.provider", "megaport"), [
        'error: bridge:exchange.provider: "megaport" is not one of equinix (fix: use one of equinix)'],
        id="enum-provider"),
    pytest.param(set_("bridge:azure.circuit.family", 1), [
        "error: bridge:azure.circuit.family: 1 must be one of MeteredData, UnlimitedData, not an integer "
        "(fix: use one of MeteredData, UnlimitedData)"], id="enum-wrong-type"),
    # Required keys.
    pytest.param(drop("bridge:aws.accountId"), [
        'error: bridge:aws.accountId: is required (fix: write the 12-digit account id in quotes, e.g. "111122223333")'],
        id="required-account-id"),
    pytest.param(drop("bridge:aws.vpcs"), ["error: bridge:aws.vpcs: is required (fix: add `vpcs: <a list>`)"],
                 id="required-vpcs"),
    pytest.param(drop("bridge:azure.circuit"), [
        "error: bridge:azure.circuit: is required (fix: add `circuit: <a mapping>`)"], id="required-circuit"),
    pytest.param(drop("bridge:exchange"), [
        "error: bridge:exchange: is required in a bridge stack (fix: add it (see docs/stack-config.md for its keys))"],
        id="required-exchange-section"),
    pytest.param(drop("aws:region"), [
        "error: aws:region: is required (fix: add `aws:region: us-east-1` under config:)"], id="required-aws-region"),
    pytest.param(rename("aws:region", "aws:regoin"), [
        "error: aws:region: is required (fix: rename aws:regoin to aws:region)"], id="required-aws-region-misspelt"),
    pytest.param(lambda cfg: cfg.clear(), [
        "error: config: has neither bridge:customer (customer stack) nor bridge:aws/exchange/azure/addressing "
        "(bridge stack) (fix: see docs/stack-config.md for both kinds)"], id="required-some-section"),
    # Unknown keys with "did you mean" (one line for a typo, not also "required").
    pytest.param(rename("bridge:aws.vpcs", "vpc"), [
        'error: bridge:aws.vpc: [{"name": "saas", "vpcId": "vpc-0a1b2c3d4e5f60718", "cidr": "10.10.0.0/16", "... '
        "is not a known key (fix: did you mean vpcs?)"], id="unknown-key-typo"),
    pytest.param(rename("bridge:azure", "bridge:azurr"), [
        'error: bridge:azurr: {"resourceGroup": "rg-bridge-dev", "hubCidr": "10.20.0.0/22", "extraPrefixes"... '
        "is not a known key (fix: did you mean bridge:azure?)"], id="unknown-section-typo"),
    pytest.param(set_("bridge:exchange.routers[0].nmae", "x"), [
        'error: bridge:exchange.routers[0].nmae: "x" is not a known key (fix: did you mean name?)'],
        id="unknown-key-in-list-item"),
    pytest.param(set_("bridge:azure.zzz", 1), [
        "error: bridge:azure.zzz: 1 is not a known key (fix: known keys here: resourceGroup, hubCidr, circuit, "
        "gatewaySku, extraPrefixes, endpointSubnetPrefixLength, gatewayPublicIp, secondCircuit, endpointSpokes)"],
        id="unknown-key-no-match"),
    pytest.param(set_("region", "x"), [
        'error: region: "x" is not a namespaced config key (fix: write it as bridge:region)'],
        id="key-without-namespace"),
    pytest.param(set_("aws:profile", "netops"), [], id="other-provider-keys-pass"),
    # Wrong types named as such.
    pytest.param(set_("bridge:aws.vpcs", {"name": "saas"}), [
        'error: bridge:aws.vpcs: {"name": "saas"} must be a list, not a mapping '
        "(fix: write it as a YAML list: [a, b] or one `- item` per line)"], id="type-list-given-mapping"),
    pytest.param(set_("bridge:exchange.routers", "fcr-a"), [
        'error: bridge:exchange.routers: "fcr-a" must be a list, not a string '
        "(fix: write it as a YAML list: [a, b] or one `- item` per line)"], id="type-list-given-string"),
    pytest.param(set_("bridge:aws", []), [
        "error: bridge:aws: [] must be a mapping, not a list (fix: write its keys (accountId, backbone, "
        "directConnectGatewayAsn, vpcs, transitGatewayAsn, coreNetwork, route53HostedZoneQuota, "
        "route53VpcsPerZoneQuota, interfaceEndpointsPerVpcQuota) as `key: value` lines indented under it)"],
        id="type-mapping-given-list"),
    pytest.param(set_("bridge:aws.vpcs[0]", None), [
        "error: bridge:aws.vpcs[0]: null must be a mapping, not null (fix: write its keys (name, vpcId, cidr, "
        "subnetIds, routeTableIds) as `key: value` lines indented under it)"], id="type-mapping-given-null"),
    pytest.param(set_("bridge:exchange.bfd.enabled", "yes"), [
        'error: bridge:exchange.bfd.enabled: "yes" must be true or false, not a string '
        "(fix: write true or false, without quotes)"], id="type-boolean"),
    pytest.param(set_("bridge:exchange.accountNumber", "123456"), [
        'error: bridge:exchange.accountNumber: "123456" must be an integer, not a quoted string '
        "(fix: write 123456 without quotes)"], id="type-integer-quoted"),
    pytest.param(set_("bridge:exchange.accountNumber", 1.5), [
        "error: bridge:exchange.accountNumber: 1.5 must be an integer, not a number "
        "(fix: write it like `accountNumber: 123456`)"], id="type-integer-given-float"),
    pytest.param(set_("bridge:tags", ["a"]), [
        'error: bridge:tags: ["a"] must be a mapping, not a list (fix: write `name: value` lines indented under it)'],
        id="type-tags"),
    pytest.param(set_("bridge:tags", {"bad key!": "x"}), [
        'error: bridge:tags.bad key!: "bad key!" must be 1-128 of letters, digits, spaces and _ . : / = + @ - '
        "(fix: rename the key)"], id="tag-key-format"),
    # Secrets: clear text rejected, secure: values opaque and accepted.
    pytest.param(set_("bridge:bgpAuthKeys", {"fcr-a-aws": {"secure": "v1:abc"}, "azure": {"secure": "v1:def"}}), [],
                 id="bgp-keys-secure-accepted"),
    pytest.param(set_("bridge:bgpAuthKeys", {"fcr-a-aws": "hunter22"}), [
        'error: bridge:bgpAuthKeys.fcr-a-aws: "[redacted]" is in clear text; BGP keys and other secrets must be '
        "encrypted (fix: remove it and run `pulumi config set --secret --path 'bridge:bgpAuthKeys.fcr-a-aws' "
        "<value>`)"], id="bgp-key-in-clear-text"),
    pytest.param(set_("bridge:bgpAuthKeys", {"fcr-c-aws": {"secure": "v1:abc"}}), [
        "error: bridge:bgpAuthKeys.fcr-c-aws: [secret] names no BGP session of this bridge "
        "(fix: use one of fcr-a-aws, fcr-b-aws, azure)"], id="bgp-key-names-unknown-session"),
    pytest.param(set_("bridge:bgpAuthKeys", {"secure": "v1:abc"}), [
        "error: bridge:bgpAuthKeys: [secret] is one secret, but it must be a mapping of names to values "
        "(fix: set each entry with `pulumi config set --path 'bridge:bgpAuthKeys.<name>'`)"], id="bgp-keys-one-secret"),
    pytest.param(set_("bridge:bgpAuthKeys", {"azure": 5}), [
        "error: bridge:bgpAuthKeys.azure: 5 must be a secret (a `secure:` value), not an integer "
        "(fix: run `pulumi config set --secret --path 'bridge:bgpAuthKeys.azure' <value>`)"], id="bgp-key-wrong-type"),
    pytest.param(set_("equinix:clientSecret", "s3cr3t"), [
        'error: equinix:clientSecret: "[redacted]" is in clear text; credentials must be encrypted '
        "(fix: remove it and run `pulumi config set --secret equinix:clientSecret <value>`)"],
        id="provider-secret-in-clear-text"),
    pytest.param(chain(set_("equinix:clientSecret", {"secure": "v1:abc"}), set_("equinix:clientId", "abc")), [],
                 id="provider-secret-secure-accepted"),
    pytest.param(set_("bridge:azure.resourceGroup", {"secure": "v1:abc"}), [
        "error: bridge:azure.resourceGroup: [secret] is a secret, but this key holds plain configuration "
        "(fix: set it with `pulumi config set` without --secret)"], id="secret-where-plain-value-belongs"),
    # BFD.
    pytest.param(set_("bridge:exchange.bfd.enabled", False), [
        "warning: bridge:exchange.bfd.enabled: false turns BFD off: a silent failure is then detected only by BGP "
        "hold timers (90 s toward AWS, 180 s toward Microsoft) (fix: keep BFD on)"], id="bfd-off-is-a-warning"),
    pytest.param(set_("bridge:exchange.bfd.intervalMs", 100), [
        "error: bridge:exchange.bfd.intervalMs: 100 is outside 300-30000 "
        "(fix: use 300 ms or more (AWS and Microsoft minimum))"], id="bfd-interval-minimum"),
    # Kinds of stack.
    pytest.param(set_("bridge:customer", {"id": "x"}), [
        'error: bridge:customer: {"id": "x"} belongs in a customer stack, not a bridge stack '
        "(fix: move it to its own file, Pulumi.dev.<customer id>.yaml)"], id="customer-key-in-bridge-stack"),
]


@pytest.mark.parametrize(("mutate", "expected"), BRIDGE_RULES)
def test_bridge_rule(mutate: Mutation, expected: list[str]) -> None:
    assert report(DEV, "dev", mutate) == expected


# --- customer rules ---------------------------------------------------------------------------------

E = "bridge:customer.endpoints"
SNOWFLAKE_HOST = ACME["bridge:customer"]["endpoints"][0]["hostnames"][0]
SF_REGIONLESS = "acme-prod.privatelink.snowflakecomputing.com"
DBX_AUTH = "eastus2.pl-auth.privatelink.azuredatabricks.net"
VPCE = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"
REDSHIFT = {"name": "warehouse", "platform": "redshift", "cloud": "aws", "cluster": "analytics",
            "ownerAccount": "444455556666"}
STARBURST = {"name": "galaxy", "platform": "starburst", "cloud": "aws", "service": VPCE,
             "hostnames": ["galaxy.acme.internal"], "zone": "acme.internal"}
PLS_ID = ("/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/"
          "Microsoft.Network/privateLinkServices/pls1")
SERVICE_FIX = "(fix: write the service the platform gave, as a string (see docs/stack-config.md))"

CUSTOMER_RULES = [
    pytest.param(chain(set_(f"{E}[1].name", "analytics"), set_(f"{E}[1].renamedFrom", "lakehouse")), [],
                 id="renamed-endpoint-accepted"),
    pytest.param(set_(f"{E}[1].renamedFrom", "lakehouse"), [
        f'error: {E}[1].renamedFrom: "lakehouse" equals the endpoint\'s name (fix: remove renamedFrom)'],
        id="renamed-from-its-own-name"),
    pytest.param(set_(f"{E}[1].renamedFrom", "snowflake"), [
        f'error: {E}[1].renamedFrom: "snowflake" is also the first name of endpoints[0], whose cloud resources carry '
        "it; two endpoints cannot share them (fix: give the new endpoint another name (renamedFrom keeps the first "
        "name of a renamed one))"], id="renamed-from-another-endpoint"),
    pytest.param(set_(f"{E}[1].renamedFrom", "Lake House"), [
        f'error: {E}[1].renamedFrom: "Lake House" must be 1-40 of a-z, 0-9 and - (fix: write it like '
        "`renamedFrom: lakehouse`)"], id="renamed-from-format"),
    pytest.param(lambda cfg: None, [], id="dev-acme-is-valid"),
    # Platform and cloud.
    pytest.param(set_(f"{E}[0].platform", "snowflak"), [
        f'error: {E}[0].platform: "snowflak" is not one of snowflake, databricks, starburst, redshift '
        "(fix: did you mean snowflake? use one of snowflake, databricks, starburst, redshift)"], id="platform-enum"),
    pytest.param(set_(f"{E}[0].cloud", "gcp"), [
        f'error: {E}[0].cloud: "gcp" is not one of azure, aws (fix: use one of azure, aws)'], id="cloud-enum"),
    pytest.param(set_(f"{E}[0].platform", "redshift"), [
        f'error: {E}[0].cloud: "azure" is not available for redshift: Redshift runs only on AWS (fix: use cloud: aws)'],
        id="redshift-only-on-aws"),
    # Service forms per cloud and platform.
    pytest.param(set_(f"{E}[0].service", "sf-pvlinksvc-eastus2.azure.privatelinkservice"), [
        f'error: {E}[0].service: "sf-pvlinksvc-eastus2.azure.privatelinkservice" is not an Azure Private Link service '
        "alias (<prefix>.[<guid>.]<region>.azure.privatelinkservice) or a privateLinkServices resource id (fix: copy "
        "the alias the platform gave (Snowflake: privatelink-pls-id from SYSTEM$GET_PRIVATELINK_CONFIG()))"],
        id="service-azure-alias"),
    pytest.param(set_(f"{E}[0].service", PLS_ID), [], id="service-azure-resource-id-accepted"),
    pytest.param(set_(f"{E}[0].service", "abc123.westeurope.azure.privatelinkservice"), [],
                 id="service-azure-alias-without-guid-accepted"),
    pytest.param(set_(f"{E}[1].service", "adb-123.azuredatabricks.net"), [
        f'error: {E}[1].service: "adb-123.azuredatabricks.net" is not an Azure Databricks workspace resource id '
        "(fix: use /subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Databricks/workspaces/<name>)"],
        id="service-azure-databricks-workspace"),
    pytest.param(set_(f"{E}[2].service", "com.amazonaws.vpce.us-east-1.vpce-svc-123"), [
        f'error: {E}[2].service: "com.amazonaws.vpce.us-east-1.vpce-svc-123" is not a VPC endpoint service name '
        "(com.amazonaws.vpce.<region>.vpce-svc-<17 hex>) (fix: copy the service name the platform gave (Snowflake: "
        "privatelink-vpce-id))"], id="service-aws-endpoint-service"),
    pytest.param(set_(f"{E}[2]", {"name": "dbx", "platform": "databricks", "cloud": "aws", "service": VPCE,
                                  "hostnames": ["acme.privatelink.cloud.databricks.com"]}), [],
                 id="service-aws-databricks-accepted"),
    pytest.param(drop(f"{E}[0].service"), [
        f"error: {E}[0].service: is required (fix: add the service the platform gave the customer "
        "(see docs/stack-config.md))"], id="service-required"),
    pytest.param(set_(f"{E}[0].service", 5), [
        f"error: {E}[0].service: 5 must be a string, not an integer; quote it in YAML so leading zeros and digits "
        f"are kept {SERVICE_FIX}"], id="service-wrong-type-not-also-required"),
    # Redshift cluster and owner account.
    pytest.param(set_(f"{E}[2]", REDSHIFT), [], id="redshift-cluster-accepted"),
    pytest.param(set_(f"{E}[2]", {k: v for k, v in REDSHIFT.items() if k != "ownerAccount"}), [
        f'error: {E}[2].ownerAccount: is required with cluster (fix: add `ownerAccount: "<12-digit account that owns '
        'the cluster>"`)'], id="redshift-owner-account-required"),
    pytest.param(set_(f"{E}[2]", {**REDSHIFT, "service": VPCE}), [
        f'error: {E}[2].service: "{VPCE}" is set together with cluster (fix: name either a VPC endpoint service or a '
        "Redshift cluster)"], id="redshift-cluster-or-service"),
    pytest.param(set_(f"{E}[2]", {**REDSHIFT, "ownerAccount": 444455556666}), [
        f"error: {E}[2].ownerAccount: 444455556666 must be a string, not an integer; quote it in YAML so leading "
        'zeros and digits are kept (fix: write it like `ownerAccount: "444455556666"`)'],
        id="redshift-owner-account-quoted"),
    pytest.param(set_(f"{E}[2]", {**REDSHIFT, "cluster": "Analytics_1"}), [
        f'error: {E}[2].cluster: "Analytics_1" is not a Redshift cluster identifier '
        "(fix: write it like `cluster: analytics`)"], id="redshift-cluster-format"),
    pytest.param(set_(f"{E}[2]", {**REDSHIFT, "hostnames": ["wh.acme.internal"]}), [
        f"error: {E}[2].zone: is required to publish hostnames for a Redshift endpoint (fix: add `zone: <private "
        "zone>` or drop hostnames (the endpoint has its own DNS name))"], id="redshift-hostnames-need-zone"),
    pytest.param(set_(f"{E}[2].cluster", "analytics"), [
        f'error: {E}[2].cluster: "analytics" is only for platform redshift (fix: remove it)'],
        id="cluster-only-for-redshift"),
    # Hostnames: valid, inside the platform zone, unique.
    pytest.param(set_(f"{E}[0].hostnames[0]", SNOWFLAKE_HOST.upper()), [
        f'error: {E}[0].hostnames[0]: "{SNOWFLAKE_HOST.upper()}" must be lowercase (fix: write {SNOWFLAKE_HOST})'],
        id="hostname-lowercase"),
    pytest.param(set_(f"{E}[0].hostnames[0]", "acme_xy.privatelink.snowflakecomputing.com"), [
        f"error: {E}[0].hostnames[0]: \"acme_xy.privatelink.snowflakecomputing.com\" has an invalid label 'acme_xy' "
        "(fix: use a DNS name such as acct.region.privatelink.snowflakecomputing.com)"], id="hostname-label"),
    pytest.param(set_(f"{E}[0].hostnames[0]", "localhost"), [
        f'error: {E}[0].hostnames[0]: "localhost" is not a fully qualified hostname '
        "(fix: use a DNS name such as acct.region.privatelink.snowflakecomputing.com)"], id="hostname-qualified"),
    pytest.param(set_(f"{E}[0].hostnames[0]", "acme-xy12345.snowflakecomputing.com"), [
        f'error: {E}[0].hostnames[0]: "acme-xy12345.snowflakecomputing.com" is outside the snowflake private domain '
        "privatelink.snowflakecomputing.com (fix: use a name ending in .privatelink.snowflakecomputing.com)"],
        id="hostname-inside-platform-zone"),
    # A name equal to the platform's domain would make its zone answer the whole domain: refused.
    pytest.param(set_(f"{E}[0].hostnames[0]", "privatelink.snowflakecomputing.com"), [
        f'error: {E}[0].hostnames[0]: "privatelink.snowflakecomputing.com" is outside the snowflake private domain '
        "privatelink.snowflakecomputing.com (fix: use a name ending in .privatelink.snowflakecomputing.com)"],
        id="hostname-not-the-whole-platform-domain"),
    # Snowflake's account, regionless and Snowsight names; the OCSP names come with the account names.
    pytest.param(set_(f"{E}[0].hostnames", [SNOWFLAKE_HOST, SF_REGIONLESS, f"app-{SF_REGIONLESS}"]), [],
                 id="snowflake-regionless-and-snowsight-accepted"),
    pytest.param(set_(f"{E}[0].hostnames", [SNOWFLAKE_HOST, f"ocsp.{SNOWFLAKE_HOST}"]), [
        f'warning: {E}[0].hostnames[1]: "ocsp.{SNOWFLAKE_HOST}" is published automatically with {SNOWFLAKE_HOST}: '
        "every Snowflake account name also answers its OCSP name, in the account name's zone (fix: remove it)"],
        id="snowflake-ocsp-listed-is-a-warning"),
    pytest.param(set_(f"{E}[0].hostnames", [f"ocsp.{SNOWFLAKE_HOST}"]), [],
                 id="snowflake-ocsp-alone-is-a-name-like-any-other"),
    pytest.param(set_(f"{E}[0].hostnames", []), [
        f"error: {E}[0].hostnames: [] is empty: the SaaS would have no name that resolves privately "
        "(fix: add the platform's private hostname(s))"], id="hostnames-empty"),
    pytest.param(set_(f"{E}[0].hostnames", SNOWFLAKE_HOST), [
        f'error: {E}[0].hostnames: "{SNOWFLAKE_HOST}" must be a list, not a string '
        "(fix: write it as a YAML list: [a, b] or one `- item` per line)"], id="hostnames-wrong-type"),
    pytest.param(set_(f"{E}[0].hostnames", [SNOWFLAKE_HOST, SNOWFLAKE_HOST]), [
        f'error: {E}[0].hostnames[1]: "{SNOWFLAKE_HOST}" repeats {E}[0].hostnames[0] (fix: remove the duplicate)'],
        id="hostname-repeated-in-endpoint"),
    pytest.param(set_(f"{E}[2].hostnames", [SNOWFLAKE_HOST]), [
        f'error: {E}[2].hostnames[0]: "{SNOWFLAKE_HOST}" is already claimed by {E}[0].hostnames[0] '
        "(fix: each hostname maps to one endpoint)"], id="hostname-duplicate-across-endpoints"),
    # Zones.
    pytest.param(set_(f"{E}[0].zone", "example.com"), [
        f'error: {E}[0].zone: "example.com" is only for platforms without a private domain of their own (starburst, '
        "redshift); snowflake names go in privatelink.snowflakecomputing.com, one private zone per name "
        "(fix: remove it)"], id="zone-owned-by-platform"),
    pytest.param(set_(f"{E}[0].zone", "privatelink.snowflakecomputing.com"), [
        f'warning: {E}[0].zone: "privatelink.snowflakecomputing.com" is not used: the customer stack creates one '
        "private zone per snowflake hostname, never one for the whole domain (fix: remove it)"],
        id="zone-equal-to-platform-domain-is-ignored"),
    pytest.param(set_(f"{E}[2]", {**STARBURST, "zone": "snowflakecomputing.com",
                                  "hostnames": ["galaxy.snowflakecomputing.com"]}), [
        f'error: {E}[2].zone: "snowflakecomputing.com" would answer names of snowflakecomputing.com for the SaaS: a '
        "private zone answers every name under it, and NXDOMAIN for those it does not hold (fix: use a zone of the "
        "customer's own that holds only these names, e.g. starburst.acme.internal)"],
        id="customer-zone-never-over-a-platform-domain"),
    pytest.param(set_(f"{E}[2]", {**STARBURST, "zone": "databricks.com", "hostnames": ["galaxy.databricks.com"]}), [
        f'error: {E}[2].zone: "databricks.com" would answer names of cloud.databricks.com for the SaaS: a private '
        "zone answers every name under it, and NXDOMAIN for those it does not hold (fix: use a zone of the customer's "
        "own that holds only these names, e.g. starburst.acme.internal)"],
        id="customer-zone-never-above-a-platform-domain"),
    # Azure Databricks single sign-on: the browser_authentication sub-resource.
    pytest.param(set_(f"{E}[1].browserAuthentication", True), [], id="browser-authentication-accepted"),
    pytest.param(chain(set_(f"{E}[1].browserAuthentication", True), set_(f"{E}[1].workspaceRegion", "westeurope")),
                 [], id="browser-authentication-workspace-region-accepted"),
    pytest.param(set_(f"{E}[0].browserAuthentication", True), [
        f"error: {E}[0].browserAuthentication: true is only for platform databricks on cloud azure (the workspace's "
        "browser_authentication sub-resource) (fix: remove it)"], id="browser-authentication-only-azure-databricks"),
    pytest.param(set_(f"{E}[1].workspaceRegion", "westeurope"), [
        f'error: {E}[1].workspaceRegion: "westeurope" is only used with browserAuthentication: true (it names the '
        "region's browser-authentication name) (fix: remove it, or add `browserAuthentication: true`)"],
        id="workspace-region-needs-browser-authentication"),
    pytest.param(chain(set_(f"{E}[1].browserAuthentication", True), set_(f"{E}[1].workspaceRegion", "West Europe")),
                 [f'error: {E}[1].workspaceRegion: "West Europe" is not an Azure location name such as eastus2 '
                  "(fix: write it like `workspaceRegion: eastus2`)"], id="workspace-region-format"),
    pytest.param(set_(f"{E}[1].browserAuthentication", "yes"), [
        f'error: {E}[1].browserAuthentication: "yes" must be true or false, not a string '
        "(fix: write true or false, without quotes)"], id="browser-authentication-boolean"),
    pytest.param(set_(f"{E}[2]", STARBURST), [], id="starburst-with-zone-accepted"),
    pytest.param(set_(f"{E}[2]", {k: v for k, v in STARBURST.items() if k != "zone"}), [
        f"error: {E}[2].zone: is required: starburst has no private DNS zone of its own "
        "(fix: add `zone: <private zone holding the hostnames>`)"], id="starburst-zone-required"),
    pytest.param(set_(f"{E}[2]", {**STARBURST, "zone": "Acme.internal"}), [
        f'error: {E}[2].zone: "Acme.internal" must be lowercase (fix: write acme.internal)'], id="zone-valid"),
    pytest.param(set_(f"{E}[2]", {**STARBURST, "hostnames": ["galaxy.other.internal"]}), [
        f'error: {E}[2].hostnames[0]: "galaxy.other.internal" is outside the starburst private zone acme.internal '
        "(fix: use a name ending in .acme.internal)"], id="hostname-inside-own-zone"),
    # Endpoint names and VPCs.
    pytest.param(set_(f"{E}[1].name", "snowflake"), [
        f'error: {E}[1].name: "snowflake" repeats {E}[0].name (fix: give each a different name)'],
        id="endpoint-names-unique"),
    pytest.param(set_(f"{E}[1].name", "Lake House"), [
        f'error: {E}[1].name: "Lake House" must be 1-40 of a-z, 0-9 and - (fix: write it like `name: snowflake`)'],
        id="endpoint-name-format"),
    pytest.param(set_(f"{E}[0].vpc", "saas"), [
        f'error: {E}[0].vpc: "saas" is only for cloud: aws endpoints (fix: remove it)'], id="vpc-only-for-aws"),
    pytest.param(set_(f"{E}[0].hostname", ["x"]), [
        f'error: {E}[0].hostname: ["x"] is not a known key (fix: did you mean hostnames?)'],
        id="endpoint-unknown-key"),
    pytest.param(set_(E, []), [
        f"error: {E}: [] has 0 item(s); at least 1 required (fix: list at least 1)"], id="endpoints-required"),
    pytest.param(set_("bridge:customer", []), [
        "error: bridge:customer: [] must be a mapping, not a list (fix: write its keys (id, bridgeStack, endpoints, "
        "endpointSpoke) as `key: value` lines indented under it)"], id="customer-wrong-type"),
    # The file name against id and bridgeStack.
    pytest.param(set_("bridge:customer.id", "beta"), [
        'error: bridge:customer.id: "beta" does not match the stack name dev.acme '
        "(fix: use id: acme, or rename the file to Pulumi.dev.beta.yaml)"], id="file-name-vs-id"),
    pytest.param(set_("bridge:customer.bridgeStack", "prod"), [
        'error: bridge:customer.bridgeStack: "prod" does not match the stack name dev.acme '
        "(fix: use bridgeStack: dev, or rename the file to Pulumi.prod.acme.yaml)"], id="file-name-vs-bridge-stack"),
    pytest.param(set_("bridge:customer.id", "Acme"), [
        'error: bridge:customer.id: "Acme" must be 1-40 of a-z, 0-9 and - (fix: write it like `id: acme`)'],
        id="customer-id-format"),
    # Keys of the other kind.
    pytest.param(set_("bridge:aws", {"accountId": "111122223333"}), [
        'error: bridge:aws: {"accountId": "111122223333"} belongs in the bridge stack, not a customer stack '
        "(fix: remove it from this file)"], id="bridge-key-in-customer-stack"),
    pytest.param(set_("bridge:bgpAuthKeys", {}), [
        "error: bridge:bgpAuthKeys: {} belongs in the bridge stack, not a customer stack "
        "(fix: remove it from this file)"],
        id="bgp-keys-in-customer-stack"),
    pytest.param(drop("aws:region"), [], id="provider-keys-optional-in-customer"),
]


@pytest.mark.parametrize(("mutate", "expected"), CUSTOMER_RULES)
def test_customer_rule(mutate: Mutation, expected: list[str]) -> None:
    assert report(ACME, "dev.acme", mutate) == expected


def test_customer_stack_name_matching_neither_key() -> None:
    assert report(ACME, "other", lambda cfg: None) == [
        'error: bridge:customer.id: "acme" and bridgeStack dev do not match the stack name other '
        "(fix: rename the file to Pulumi.dev.acme.yaml)"]


def test_secure_values_stay_opaque() -> None:
    """A `secure:` value is never needed in clear: the spec holds a reference to its key path only."""
    cfg = copy.deepcopy(DEV)
    cfg["bridge:bgpAuthKeys"] = {"fcr-a-aws": {"secure": "v1:ciphertext"}}
    spec, _ = parse_config("dev", cfg)
    ref = spec.bgp_auth_keys["fcr-a-aws"]  # type: ignore[union-attr]
    assert ref.path == "bridge:bgpAuthKeys.fcr-a-aws"
    assert "ciphertext" not in repr(spec)


# --- rules across stack files -----------------------------------------------------------------------


def _write(project: Path, stack: str, config: dict[str, Any]) -> None:
    (project / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}, sort_keys=False))


def _load_lines(project: Path, stack: str) -> list[str]:
    try:
        loaded = load_stack(project, stack)
    except ConfigError as exc:
        return without_dev_single_points([p.line(exc.source) for p in exc.problems])
    return without_dev_single_points([w.line() for w in loaded.warnings])


def _acme(mutate: Mutation) -> dict[str, Any]:
    cfg = copy.deepcopy(ACME)
    mutate(cfg)
    return cfg


# Each row: the stack files to write over the committed ones, the stack to validate, and its lines
# (each printed as `error: Pulumi.<stack>.yaml: <line>`).
def _beta(endpoints: list[dict[str, Any]]) -> dict[str, Any]:
    return _acme(chain(set_("bridge:customer.id", "beta"), set_(E, endpoints)))


def _quota(zones: int) -> dict[str, Any]:
    return {**DEV, "bridge:aws": {**DEV["bridge:aws"], "route53HostedZoneQuota": zones}}


SF_ENDPOINT = ACME["bridge:customer"]["endpoints"][0]
ZONES_OF_DEV = ("Route 53 hosted zones bridge dev may use (bridge:aws.route53HostedZoneQuota): its 2 customer stack(s) "
                f"create one private zone per published name, 3 of them this one's ({R53_QUOTAS})")
DBX_ENDPOINT = {**ACME["bridge:customer"]["endpoints"][1], "name": "lake", "browserAuthentication": True,
                "hostnames": ["adb-9.9.privatelink.azuredatabricks.net"]}
DBX_HOST = ACME["bridge:customer"]["endpoints"][1]["hostnames"][0]
DBX_AWS_HOST = "us-east-1.privatelink.cloud.databricks.com"
DBX_AWS = {"name": "dbx", "platform": "databricks", "cloud": "aws", "service": VPCE, "hostnames": [DBX_AWS_HOST]}
# Three zones: a Snowflake account name (its OCSP name shares the zone), a regionless name, a workspace.
BETA_3_ZONES = _beta([{**SF_ENDPOINT, "hostnames": ["beta-1.east-us-2.privatelink.snowflakecomputing.com",
                                                    "beta-org.privatelink.snowflakecomputing.com"]},
                      {**DBX_ENDPOINT, "browserAuthentication": False}])
SIBLING_SAME_HOST = _acme(chain(set_("bridge:customer.id", "beta"), set_(E, ACME["bridge:customer"]["endpoints"][:1])))
OTHER_BRIDGE = _acme(chain(set_("bridge:customer.id", "beta"), set_("bridge:customer.bridgeStack", "prod")))
VPCE_WEST = VPCE.replace("us-east-1", "us-west-2")
SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"
HUB_FIX = "endpoints live in the bridge's region and hub"

CROSS_FILE_RULES = [
    pytest.param({}, "dev.acme", [], id="committed-files-are-valid"),
    pytest.param({"stage.acme": _acme(set_("bridge:customer.bridgeStack", "stage"))}, "stage.acme", [
        'bridge:customer.bridgeStack: "stage" names no stack in this project (Pulumi.stage.yaml is missing) '
        "(fix: use one of dev, prod)"], id="bridge-stack-missing"),
    pytest.param({"dev": _acme(lambda cfg: None)}, "dev.acme", [
        'bridge:customer.bridgeStack: "dev" names a customer stack, not a bridge stack '
        "(fix: name the bridge stack this customer attaches to)"], id="bridge-stack-not-a-bridge"),
    pytest.param({"dev": {**DEV, "bridge:aws": {**DEV["bridge:aws"], "accountId": "1"}}}, "dev.acme", [
        'bridge:customer.bridgeStack: "dev" names a bridge stack that is not valid (Pulumi.dev.yaml) '
        "(fix: run `bridgectl validate dev` and fix it first)"], id="bridge-stack-invalid"),
    pytest.param({"dev.acme": _acme(set_("aws:region", "us-west-2"))}, "dev.acme", [
        f'aws:region: "us-west-2" differs from bridge stack dev (us-east-1); {HUB_FIX} '
        "(fix: use us-east-1 or remove the key)"], id="region-vs-bridge"),
    pytest.param({"dev.acme": _acme(set_("azure-native:location", "westus2"))}, "dev.acme", [
        f'azure-native:location: "westus2" differs from bridge stack dev (eastus2); {HUB_FIX} '
        "(fix: use eastus2 or remove the key)"], id="location-vs-bridge"),
    pytest.param({"dev.acme": _acme(set_("azure-native:subscriptionId", SUBSCRIPTION))}, "dev.acme", [
        f'azure-native:subscriptionId: "{SUBSCRIPTION}" differs from bridge stack dev '
        f"(00000000-0000-0000-0000-000000000000); {HUB_FIX} "
        "(fix: use 00000000-0000-0000-0000-000000000000 or remove the key)"], id="subscription-vs-bridge"),
    pytest.param({"dev.acme": _acme(set_(f"{E}[2].vpc", "analytics"))}, "dev.acme", [
        f'{E}[2].vpc: "analytics" is not a VPC of bridge dev (fix: use one of saas)'], id="vpc-of-the-bridge"),
    pytest.param({"dev.acme": _acme(set_(f"{E}[2].vpc", "saas"))}, "dev.acme", [], id="vpc-of-the-bridge-accepted"),
    pytest.param({"dev.acme": _acme(set_(f"{E}[2].service", VPCE_WEST))}, "dev.acme", [
        f'{E}[2].service: "{VPCE_WEST}" is in us-west-2, but the bridge\'s VPCs are in us-east-1 '
        "(fix: ask the platform for the service in the bridge's region)"], id="service-region-vs-bridge"),
    pytest.param({"dev.acme2": _acme(set_(E, [STARBURST]))}, "dev.acme", [
        'bridge:customer.id: "acme" is already used by stack dev.acme2 (fix: pick a different customer id)'],
        id="sibling-id-collision"),
    pytest.param({"dev.beta": SIBLING_SAME_HOST}, "dev.acme", [
        f'{E}[0].hostnames[0]: "{SNOWFLAKE_HOST}" is already published by customer stack dev.beta (endpoint '
        "snowflake): a name points at one endpoint, and the SaaS VPCs can hold one private zone of a name "
        "(fix: check that the customer gave you their own account's name)"],
        id="sibling-hostname-collision"),
    pytest.param({"dev.beta": OTHER_BRIDGE}, "dev.acme", [], id="customers-of-other-bridges-ignored"),
    # Names derived from others (OCSP, browser authentication) are published names like any other.
    pytest.param({"dev.beta": _beta([{**SF_ENDPOINT, "hostnames": [f"ocsp.{SNOWFLAKE_HOST}"]}])}, "dev.acme", [
        f'{E}[0].hostnames[0]: "{SNOWFLAKE_HOST}" publishes its OCSP name ocsp.{SNOWFLAKE_HOST}, which customer stack '
        "dev.beta already publishes (endpoint snowflake): a name points at one endpoint, and the SaaS VPCs can hold "
        "one private zone of a name (fix: check that the customer gave you their own account's name)"],
        id="sibling-has-the-ocsp-name"),
    pytest.param({"dev.acme": _acme(set_(f"{E}[2].hostnames", [f"ocsp.{SNOWFLAKE_HOST}"]))}, "dev.acme", [
        f'{E}[2].hostnames[0]: "ocsp.{SNOWFLAKE_HOST}" is also published automatically by endpoints[0] '
        f"({SNOWFLAKE_HOST}): every Snowflake account name answers its OCSP name (fix: remove it)"],
        id="ocsp-name-of-another-endpoint"),
    pytest.param({"dev.acme": _acme(chain(set_(f"{E}[1].browserAuthentication", True),
                                          set_(f"{E}[1].hostnames", [DBX_HOST, DBX_AUTH])))}, "dev.acme", [
        f'{E}[1].hostnames[1]: "{DBX_AUTH}" is the browser-authentication name that browserAuthentication publishes '
        "(toward its own private endpoint) (fix: remove it from hostnames)"], id="browser-auth-name-listed"),
    pytest.param({"dev.acme": _acme(chain(set_(f"{E}[1].browserAuthentication", True),
                                          set_(f"{E}[2]", {**DBX_ENDPOINT, "name": "lake2", "hostnames": [
                                              "adb-2.3.privatelink.azuredatabricks.net"]})))}, "dev.acme", [
        f"{E}[2].browserAuthentication: true publishes {DBX_AUTH} again: endpoints[1] already has browser "
        "authentication in that region, and Azure Databricks has one browser-authentication name per region, shared "
        "by every workspace there (fix: keep browserAuthentication on one endpoint per region)"],
        id="browser-auth-twice-in-one-region"),
    pytest.param({"dev.acme": _acme(set_(f"{E}[1].browserAuthentication", True)),
                  "dev.beta": _beta([DBX_ENDPOINT])}, "dev.acme", [
        f"{E}[1].browserAuthentication: true publishes {DBX_AUTH}, which customer stack dev.beta already publishes "
        "(endpoint lake): Azure Databricks has one browser-authentication name per region, shared by every "
        "workspace there, and one name points at one private endpoint (fix: remove browserAuthentication here: the "
        "browser-authentication endpoint of dev.beta already serves single sign-on for every Azure Databricks "
        "workspace in eastus2)"], id="browser-auth-of-a-sibling"),
    pytest.param({"dev.acme": _acme(chain(set_(f"{E}[1].browserAuthentication", True),
                                          set_(f"{E}[1].workspaceRegion", "westeurope"))),
                  "dev.beta": _beta([DBX_ENDPOINT])}, "dev.acme", [], id="browser-auth-other-region-accepted"),
    # Databricks on AWS: one regional front-end name for every workspace of the region.
    pytest.param({"dev.acme": _acme(set_(f"{E}[2]", DBX_AWS)), "dev.beta": _beta([DBX_AWS])}, "dev.acme", [
        f'{E}[2].hostnames[0]: "{DBX_AWS_HOST}" is already published by customer stack dev.beta (endpoint dbx): it '
        "is Databricks' regional front-end name, which every workspace URL of the region resolves to, and one name "
        "points at one VPC endpoint (fix: remove this endpoint: the VPC endpoint of dev.beta reaches every workspace "
        "of the region once this customer registers it in their Databricks account and allows it in the "
        "workspace's private access settings (Databricks lets several accounts share one front-end endpoint; its id "
        "is stack output endpoints.dbx.endpointId of dev.beta))"], id="databricks-aws-regional-name-of-a-sibling"),
    pytest.param({"dev.acme": _acme(set_(f"{E}[2]", DBX_AWS))}, "dev.acme", [], id="databricks-aws-accepted"),
    # Customer-declared zones: one zone of a name on the SaaS VPCs.
    pytest.param({"dev.acme": _acme(set_(f"{E}[2]", STARBURST)),
                  "dev.beta": _beta([{**STARBURST, "hostnames": ["sep.acme.internal"]}])}, "dev.acme", [
        f'{E}[2].zone: "acme.internal" is already a zone of customer stack dev.beta: the SaaS VPCs can hold one '
        "private zone of a name (Route 53 refuses a second: ConflictingDomainExists) (fix: use a zone of this "
        "customer's own, e.g. acme.acme.internal)"], id="customer-zone-of-a-sibling"),
    # Route 53 hosted zones across the bridge's customers: acme 3, beta 3 (one per published name).
    pytest.param({"dev": _quota(5), "dev.beta": BETA_3_ZONES}, "dev.acme", [
        f'{E}: "6 hosted zones" exceed the 5 {ZONES_OF_DEV} (fix: raise the account\'s Route 53 hosted-zone quota in '
        "Service Quotas (US East (N. Virginia)), then bridge:aws.route53HostedZoneQuota in Pulumi.dev.yaml; see "
        "docs/dns.md)"], id="route53-zone-quota-exceeded"),
    pytest.param({"dev": _quota(7), "dev.beta": BETA_3_ZONES}, "dev.acme", [
        f'warning: {E}: "6 hosted zones" use over 80% of the 7 {ZONES_OF_DEV} (fix: request a higher Route 53 '
        "hosted-zone quota before it fills up; see docs/dns.md)"], id="route53-zone-quota-80"),
    pytest.param({"dev": _quota(8), "dev.beta": BETA_3_ZONES}, "dev.acme", [], id="route53-zone-quota-fits"),
]


@pytest.mark.parametrize(("files", "stack", "expected"), CROSS_FILE_RULES)
def test_rule_across_stack_files(project: Path, files: dict[str, dict[str, Any]], stack: str,
                                 expected: list[str]) -> None:
    for name, config in files.items():
        _write(project, name, config)
    assert _load_lines(project, stack) == [line if line.startswith("warning: ") else
                                           f"error: Pulumi.{stack}.yaml: {line}" for line in expected]


# --- all problems at once ---------------------------------------------------------------------------


def test_every_problem_is_reported_at_once() -> None:
    lines = report(DEV, "dev", chain(
        set_("bridge:aws.vpcs[0].cidr", "10.10.0.0/33"),
        set_("bridge:exchange.bandwidthMbps", 300),
        set_("bridge:azure.circuit.peeringVlan", 5000),
        set_("bridge:exchange.routers[1].name", "fcr b"),
        set_("bridge:addressing.azureLinkPool", "192.168.100.0/30"),
    ))
    assert [line.split(": ")[1] for line in lines] == [
        "bridge:aws.vpcs[0].cidr", "bridge:exchange.bandwidthMbps", "bridge:exchange.routers[1].name",
        "bridge:azure.circuit.peeringVlan", "bridge:addressing.azureLinkPool"]
    assert all(line.startswith("error: ") and "(fix: " in line for line in lines)


def test_warnings_do_not_fail() -> None:
    cfg = copy.deepcopy(DEV)
    cfg["bridge:exchange"]["routers"] = [{"name": "fcr-a", "metro": "DC"}]
    cfg["bridge:exchange"]["bfd"]["enabled"] = False
    spec, warnings = parse_config("dev", cfg)
    assert spec.kind == "bridge"
    # BFD off, then the single points of failure: the router, its AWS device, the metro, the circuit
    assert [w.severity for w in warnings] == [Severity.WARNING] * 5


# --- robustness: garbage never raises anything but ConfigError --------------------------------------


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


DEV_PATHS = _paths(DEV)
ACME_PATHS = _paths(ACME)

_scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
            | st.floats(allow_nan=True) | st.text(max_size=12) | st.just("") | st.just({"secure": "v1:x"})
            | st.sampled_from(["10.0.0.0/8", "0.0.0.0/0", "fd00::/8", "fcr-a", "DC", "64512", "cloud-wan", "LAB"]))
GARBAGE = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(max_size=6) | st.integers(), inner, max_size=3), max_leaves=8)


def _apply(cfg: dict[str, Any], path: tuple[Any, ...], value: Any, delete: bool) -> None:
    node: Any = cfg
    try:
        for step in path[:-1]:
            node = node[step]
        if delete and isinstance(node, dict):
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
    except (KeyError, IndexError, TypeError):
        pass  # an earlier substitution removed or replaced this path


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["dev", "dev.acme"]), data=st.data())
def test_garbage_at_any_key_path_is_a_config_error(kind: str, data: st.DataObject) -> None:
    base, paths = (DEV, DEV_PATHS) if kind == "dev" else (ACME, ACME_PATHS)
    cfg = copy.deepcopy(base)
    for path, value, delete in data.draw(st.lists(st.tuples(st.sampled_from(paths), GARBAGE, st.booleans()),
                                                  min_size=1, max_size=4)):
        _apply(cfg, path, value, delete)
    try:
        _, warnings = parse_config(kind, cfg)
    except ConfigError as exc:
        lines = [p.line("Pulumi.x.yaml") for p in exc.problems]
        assert lines and any(line.startswith("error: Pulumi.x.yaml: ") for line in lines)
        assert all("\n" not in line for line in lines)
    else:
        assert all(w.severity is Severity.WARNING for w in warnings)


@settings(max_examples=200, deadline=None)
@given(config=GARBAGE)
def test_garbage_as_the_whole_config_is_a_config_error(config: Any) -> None:
    try:
        parse_config("dev", config)
    except ConfigError as exc:
        assert exc.problems


FILE_GARBAGE = [
    pytest.param(b"", ["error: Pulumi.dev.yaml: is empty (fix: start from Pulumi.dev.yaml or docs/stack-config.md)"],
                 id="empty-file"),
    pytest.param(b"- a\n- b\n", [
        "error: Pulumi.dev.yaml: must be a mapping with a config: key, not a list "
        "(fix: start the file with `config:`)"],
        id="list-at-top-level"),
    pytest.param(b"config:\n\taws:region: x\n", [
        "error: Pulumi.dev.yaml line 2, column 1: is not valid YAML: found character '\\t' that cannot start any "
        "token (fix: fix the YAML syntax (indentation, colons, quotes))"], id="tab"),
    pytest.param(b"config:\n  aws:region: a\n  aws:region: b\n", [
        "error: Pulumi.dev.yaml line 3, column 3: is not valid YAML: found duplicate key 'aws:region' "
        "(fix: keep each key once)"], id="duplicate-key"),
    pytest.param(b"config:\n  aws:region: \xff\xfe\n", [
        "/Pulumi.dev.yaml: is not UTF-8 text (byte 0xff at offset 22) (fix: save the file as UTF-8)"], id="not-utf-8"),
    pytest.param(b"config: " + b"[" * 1000 + b"]" * 1000 + b"\n", [
        "error: Pulumi.dev.yaml: is not valid YAML: collections nested too deeply "
        "(fix: a stack file nests a few levels; check the brackets)"], id="nested-too-deeply"),
    pytest.param(b"config: !!python/object/apply:os.system [true]\n", [
        "error: Pulumi.dev.yaml line 1, column 9: is not valid YAML: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/apply:os.system' (fix: remove the tag: a stack file holds plain YAML "
        "values)"], id="python-tag"),
    pytest.param(b"config:\n  bridge:aws: &a [*a]\n  bridge:exchange: 1\n  bridge:azure: 1\n  bridge:addressing: 1\n"
                 b"  aws:region: us-east-1\n  azure-native:location: eastus2\n"
                 b"  azure-native:subscriptionId: 00000000-0000-0000-0000-000000000000\n", [
        "error: Pulumi.dev.yaml: bridge:aws: [[...]] must be a mapping, not a list (fix: write its keys (accountId, "
        "backbone, directConnectGatewayAsn, vpcs, transitGatewayAsn, coreNetwork, route53HostedZoneQuota, "
        "route53VpcsPerZoneQuota, interfaceEndpointsPerVpcQuota) as `key: value` lines indented under it)",
        "error: Pulumi.dev.yaml: bridge:exchange: 1 must be a mapping, not an integer (fix: write its keys (provider, "
        "projectId, accountNumber, notificationEmails, package, bandwidthMbps, routers, bfd, equinixAsn, "
        "secondEquinixAsn) as `key: value` lines indented under it)",
        "error: Pulumi.dev.yaml: bridge:azure: 1 must be a mapping, not an integer (fix: write its keys "
        "(resourceGroup, hubCidr, circuit, gatewaySku, extraPrefixes, endpointSubnetPrefixLength, gatewayPublicIp, "
        "secondCircuit, endpointSpokes) as `key: value` lines indented under it)",
        "error: Pulumi.dev.yaml: bridge:addressing: 1 must be a mapping, not an integer (fix: write its keys "
        "(awsLinkPool, azureLinkPool) as `key: value` lines indented under it)"], id="self-referencing-anchor"),
    pytest.param(b"config:\n", [
        "error: Pulumi.dev.yaml: config: null must be a mapping of config keys "
        "(fix: indent `key: value` lines under config:)"], id="config-null"),
    pytest.param(b"config: {}\nstack: dev\n", [
        'error: Pulumi.dev.yaml: stack: "dev" is not a stack file key (fix: put configuration under config:)'],
        id="unknown-file-key"),
    pytest.param(b"secretsprovider: passphrase\n", [
        "error: Pulumi.dev.yaml: config: is required (fix: start the file with `config:`)"], id="config-missing"),
]


@pytest.mark.parametrize(("content", "expected"), FILE_GARBAGE)
def test_garbage_files_are_config_errors(project: Path, content: bytes, expected: list[str]) -> None:
    (project / "Pulumi.dev.yaml").write_bytes(content)
    lines = _load_lines(project, "dev")
    if len(expected) == 1 and not expected[0].startswith(("error: ", "warning: ")):
        assert len(lines) == 1 and lines[0].endswith(expected[0]), lines
    else:
        assert lines == expected
