"""The whole Pulumi program under mocks: dev, dev.acme, a Cloud WAN bridge and a single-router bridge.

Every argument is traced back to the plan (addresses, ASNs, VLANs), the order the clouds need is
checked through dependencies, and no secret ever appears in clear.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bridgectl.offline import offline_plan
from stacks.loader import load_stack
from stacks.plan import BridgePlan, plan_bridge
from stacks.problems import ConfigError
from stacks.spec import BridgeSpec

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _project(tmp: Path) -> Path:
    for name in ["Pulumi.yaml", "__main__.py", *(p.name for p in ROOT.glob("Pulumi.*.yaml"))]:
        shutil.copy(ROOT / name, tmp / name)
    for p in FIXTURES.glob("Pulumi.*.*"):
        shutil.copy(p, tmp / p.name)
    return tmp


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _project(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def plans(project: Path) -> dict[str, dict[str, Any]]:
    return {s: offline_plan(project, s) for s in ("dev", "dev.acme", "cwan", "solo")}


def bridge_plan(project: Path, stack: str) -> BridgePlan:
    spec = load_stack(project, stack).spec
    assert isinstance(spec, BridgeSpec)
    return plan_bridge(spec)


def of_type(plan: dict[str, Any], suffix: str) -> list[dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"].endswith(suffix)]


def by_name(plan: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in plan["resources"] if r["name"] == name)


def depends(plan: dict[str, Any], dependent: str, dependency: str) -> bool:
    return by_name(plan, dependency)["urn"] in by_name(plan, dependent)["dependsOn"]


def test_dev_inventory(plans: dict[str, dict[str, Any]]) -> None:
    counts = Counter(r["type"] for r in plans["dev"]["resources"])
    expected = {
        "aws:ec2transitgateway/transitGateway:TransitGateway": 1,
        "aws:directconnect/gateway:Gateway": 1,
        "aws:directconnect/gatewayAssociation:GatewayAssociation": 1,
        "aws:directconnect/connectionConfirmation:ConnectionConfirmation": 2,
        "aws:directconnect/transitVirtualInterface:TransitVirtualInterface": 2,
        "equinix:fabric/cloudRouter:CloudRouter": 2,
        "equinix:fabric/connection:Connection": 4,
        "equinix:fabric/routingProtocol:RoutingProtocol": 8,
        "azure-native:network:ExpressRouteCircuit": 1,
        "azure-native:network:ExpressRouteCircuitPeering": 1,
        # The ExpressRoute gateway and its connection, the backup VPN gateway and its four IPsec connections.
        "azure-native:network:VirtualNetworkGateway": 2,
        "azure-native:network:VirtualNetworkGatewayConnection": 5,
        "azure-native:network:VirtualNetwork": 1,
        "azure-native:network:Subnet": 2,
        "aws:ec2/route:Route": 1,
        "aws:route53/zone:Zone": 0,  # the bridge owns no DNS: customer stacks do, one zone per name
    }
    assert {t: counts[t] for t in expected} == expected
    protocols = of_type(plans["dev"], "routingProtocol:RoutingProtocol")
    per_connection = Counter((r["inputs"]["connectionUuid"], r["inputs"]["type"]) for r in protocols)
    assert len(per_connection) == 8 and set(per_connection.values()) == {1}, "DIRECT and BGP on each connection"


@pytest.mark.parametrize("stack", ["dev", "dev.acme", "cwan", "solo"])
def test_structure(plans: dict[str, dict[str, Any]], stack: str) -> None:
    plan = plans[stack]
    urns = [r["urn"] for r in plan["resources"]]
    assert len(urns) == len(set(urns))
    components = {r["urn"] for r in plan["resources"] if not r["custom"]}
    for r in plan["resources"]:
        # Every cloud resource lives in a component; only providers, keys and reads sit at the top.
        if r["custom"] and not r["type"].startswith(("pulumi:", "random:")):
            assert r["parent"] in components, r["name"]
        if r["type"].startswith(("aws:", "azure-native:", "equinix:")):
            assert r["provider"], f"{r['name']} must use the explicit provider"
    # No secret in clear: every value that came from a secret (generated keys, stack secrets,
    # the service key) shows as [secret] in inputs and outputs alike.
    text = json.dumps(plan)
    assert "offline" not in text.replace("offline plan", ""), "a secret stand-in leaked in clear"


def test_dev_order_the_clouds_need(plans: dict[str, dict[str, Any]]) -> None:
    dev = plans["dev"]
    assert depends(dev, "directconnect-fcr-a-vif", "directconnect-fcr-a-confirm")
    assert depends(dev, "expressroute-gateway-connection", "expressroute-private-peering")
    assert depends(dev, "exchange-dev-fcr-a-er-pri", "expressroute-circuit"), "the service key comes first"
    assert depends(dev, "exchange-dev-fcr-b-er-sec", "exchange-dev-fcr-a-er-pri"), "secondary after primary"
    for router, suffix, cloud_side in (("fcr-a", "aws", "directconnect-fcr-a-vif"),
                                       ("fcr-a", "er-pri", "expressroute-private-peering"),
                                       ("fcr-b", "er-sec", "expressroute-private-peering")):
        direct, bgp = f"exchange-dev-{router}-{suffix}-direct", f"exchange-dev-{router}-{suffix}-bgp"
        assert depends(dev, bgp, direct), "DIRECT before BGP"
        assert depends(dev, direct, cloud_side), "the FCR side after its cloud side"
    assert depends(dev, "directconnect-dx-assoc", "directconnect-tgw-assoc")


def test_dev_arguments_trace_to_the_plan(project: Path, plans: dict[str, dict[str, Any]]) -> None:
    dev, plan = plans["dev"], bridge_plan(project, "dev")
    for link in plan.aws_links:
        vif = by_name(dev, f"directconnect-{link.router}-vif")["inputs"]
        assert vif["amazonAddress"] == str(link.amazon_address)
        assert vif["customerAddress"] == str(link.customer_address)
        assert vif["bgpAsn"] == plan.fcr_asn and vif["bgpAuthKey"] == "[secret]"
        bgp = by_name(dev, f"exchange-dev-{link.router}-aws-bgp")["inputs"]
        assert bgp["bgpIpv4"]["customerPeerIp"] == str(link.amazon_address.ip)
        assert bgp["customerAsn"] == plan.dxgw_asn and bgp["bgpAuthKey"] == "[secret]"
        assert bgp["bfd"] == {"enabled": True, "interval": str(plan.bfd.interval_ms)}
        direct = by_name(dev, f"exchange-dev-{link.router}-aws-direct")["inputs"]
        assert direct["directIpv4"]["equinixIfaceIp"] == str(link.customer_address)
    peering = by_name(dev, "expressroute-private-peering")["inputs"]
    assert peering["primaryPeerAddressPrefix"] == str(plan.azure.primary)
    assert peering["secondaryPeerAddressPrefix"] == str(plan.azure.secondary)
    assert peering["vlanId"] == plan.azure.vlan and peering["peerASN"] == plan.fcr_asn
    for session in (s for s in plan.sessions if s.kind == "azure"):
        suffix = "er-pri" if session.priority == "primary" else "er-sec"
        bgp = by_name(dev, f"exchange-dev-{session.router}-{suffix}-bgp")["inputs"]
        assert bgp["bgpIpv4"]["customerPeerIp"] == str(session.cloud.ip) and bgp["customerAsn"] == 12076
    assert by_name(dev, "directconnect-tgw-assoc")["inputs"]["allowedPrefixes"] == [str(p) for p in plan.aws_prefixes]
    assert by_name(dev, "backbone-tgw")["inputs"]["amazonSideAsn"] == plan.tgw_asn
    subnets = {r["inputs"]["subnetName"]: r["inputs"]["addressPrefix"] for r in of_type(dev, "network:Subnet")}
    assert subnets == {"GatewaySubnet": str(plan.hub.gateway_subnet),
                       "snet-private-endpoints": str(plan.hub.endpoint_subnet)}
    route = of_type(dev, "ec2/route:Route")[0]["inputs"]
    assert route["destinationCidrBlock"] == str(plan.hub.cidr)
    sessions = dev["outputs"]["bgpSessions"]
    assert [s["id"] for s in sessions] == [s.id for s in plan.sessions]
    assert all(isinstance(s["vlan"], int) for s in sessions)


def test_dev_protects_stateful_resources(plans: dict[str, dict[str, Any]]) -> None:
    protected = {r["type"] for r in plans["dev"]["resources"] if r["protect"]}
    for typ in ("transitGateway:TransitGateway", "gateway:Gateway", "transitVirtualInterface:TransitVirtualInterface",
                "cloudRouter:CloudRouter", "connection:Connection", "network:ExpressRouteCircuit",
                "network:ExpressRouteCircuitPeering", "network:VirtualNetworkGateway",
                "network:VirtualNetworkGatewayConnection", "resources:ResourceGroup"):
        assert any(t.endswith(typ) for t in protected), typ


def test_dev_outputs(plans: dict[str, dict[str, Any]]) -> None:
    out = plans["dev"]["outputs"]
    assert out["expressRouteServiceKey"] == "[secret]"
    assert out["circuitProvisioned"] is True and out["nextSteps"] == []
    assert set(out["cloudRouterIds"]) == {"fcr-a", "fcr-b"}
    assert "dnsZones" not in out["customerAttachment"], "customer stacks own their zones"
    assert plans["dev"]["notes"][0].startswith("Steady state")


def test_readiness_gate_first_run(project: Path) -> None:
    first = offline_plan(project, "dev", circuit_state="NotProvisioned")
    names = {r["name"] for r in first["resources"]}
    assert "expressroute-circuit" in names and "exchange-dev-fcr-a-er-pri" in names
    assert "expressroute-private-peering" not in names
    assert "expressroute-gateway-connection" not in names
    assert not [n for n in names if "-er-" in n and n.endswith(("-bgp", "-direct"))]
    assert [n for n in names if n.endswith("-aws-bgp")], "the AWS side does not wait for Azure"
    assert first["outputs"]["circuitProvisioned"] is False
    warning = " ".join(m["message"] for m in first["messages"])
    assert "not Provisioned" in warning and "pulumi up" in warning and "again" in warning


def test_customer_plan(plans: dict[str, dict[str, Any]]) -> None:
    acme = plans["dev.acme"]
    counts = Counter(r["type"] for r in acme["resources"])
    assert counts["azure-native:network:PrivateEndpoint"] == 2
    assert counts["aws:ec2/vpcEndpoint:VpcEndpoint"] == 1
    assert counts["aws:route53/record:Record"] == 5, "3 names and the 2 Snowflake accounts' OCSP names"
    ref = of_type(acme, "pulumi:pulumi:StackReference")
    assert [r["name"] for r in ref] == ["organization/bridge/dev"]
    own_zone_ids = acme["outputs"]["dnsZones"]
    for record in of_type(acme, "route53/record:Record"):
        assert record["inputs"]["zoneId"] in own_zone_ids.values(), "records go into the stack's own zones"
    endpoint_subnet = plans["dev"]["outputs"]["customerAttachment"]["azure"]["endpointSubnetId"]
    for pe in of_type(acme, "network:PrivateEndpoint"):
        assert pe["inputs"]["subnet"]["id"] == endpoint_subnet
        assert pe["inputs"]["manualPrivateLinkServiceConnections"][0]["requestMessage"]
    out = acme["outputs"]
    assert set(out["endpoints"]) == {"snowflake", "lakehouse", "warehouse"}
    assert "SYSTEM$AUTHORIZE_PRIVATELINK" in out["handoff"] and "Approve" in out["handoff"]
    assert out["endpoints"]["snowflake"]["endpointId"] in out["handoff"]


def test_cloud_wan_bridge(plans: dict[str, dict[str, Any]], project: Path) -> None:
    cwan = plans["cwan"]
    assert not of_type(cwan, "TransitGateway") and not of_type(cwan, "GatewayAssociation")
    assert len(of_type(cwan, "networkmanager/vpcAttachment:VpcAttachment")) == 2
    att = of_type(cwan, "dxGatewayAttachment:DxGatewayAttachment")[0]["inputs"]
    assert att["edgeLocations"] == ["us-east-1", "us-west-2"]
    routes = of_type(cwan, "ec2/route:Route")
    assert len(routes) == 3 * 2, "3 route tables x 2 Azure prefixes"
    # Keys the user supplied: no generated key for those sessions.
    generated = {r["name"] for r in of_type(cwan, "randomPassword:RandomPassword")}
    assert generated == {"bgp-md5-fcr-east-2-aws"}
    plan = bridge_plan(project, "cwan")
    vif = by_name(cwan, "directconnect-fcr-east-2-vif")["inputs"]
    assert vif["amazonAddress"] == "169.254.200.1/30", "linkSlot 0 pins the first /30"
    assert vif["bgpAsn"] == plan.fcr_asn == 65100
    gateway = of_type(cwan, "VirtualNetworkGateway")[0]["inputs"]
    assert gateway["autoScaleConfiguration"] == {"bounds": {"min": 1, "max": 2}}
    assert by_name(cwan, "expressroute-gateway-subnet")["inputs"]["addressPrefix"] == "10.30.0.0/26"


def test_single_router_bridge(plans: dict[str, dict[str, Any]]) -> None:
    solo = plans["solo"]
    assert len(of_type(solo, "cloudRouter:CloudRouter")) == 1
    conns = sorted(r["inputs"]["name"] for r in of_type(solo, "fabric/connection:Connection"))
    assert conns == ["solo-fcr-a-aws", "solo-fcr-a-er-pri", "solo-fcr-a-er-sec"]
    assert any("Single router" in n for n in solo["notes"])


def test_config_error_is_a_config_error(project: Path) -> None:
    text = (project / "Pulumi.dev.yaml").read_text().replace("transitGatewayAsn: 64512", "transitGatewayAsn: 64513")
    (project / "Pulumi.broken.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        offline_plan(project, "broken")
    assert any("transitGatewayAsn" in p.line() or "directConnectGatewayAsn" in p.line() for p in info.value.problems)


PLATFORM_DOMAINS = ("privatelink.snowflakecomputing.com", "privatelink.azuredatabricks.net",
                    "privatelink.cloud.databricks.com")


@pytest.mark.parametrize("stack", ["dev", "dev.acme", "cwan", "solo"])
def test_no_zone_for_a_whole_platform_domain(plans: dict[str, dict[str, Any]], stack: str) -> None:
    """A private zone answers every name under it: one for a platform's domain would make every other name
    of that domain NXDOMAIN inside the SaaS. Zones exist only for the names a customer publishes."""
    zones = [r["inputs"]["name"] for r in of_type(plans[stack], "route53/zone:Zone")]
    for zone in zones:
        assert zone not in PLATFORM_DOMAINS and not any(d.endswith("." + zone) for d in PLATFORM_DOMAINS), zone
    if stack == "dev.acme":
        assert sorted(zones) == sorted(plans[stack]["outputs"]["dnsZones"]) == sorted([
            "acme-xy12345.east-us-2.privatelink.snowflakecomputing.com",
            "adb-1234567890123456.7.privatelink.azuredatabricks.net",
            "acme-ab54321.us-east-1.privatelink.snowflakecomputing.com"])
    else:
        assert zones == [], "a bridge owns no zone"


def test_customer_zones_on_every_saas_vpc_with_ocsp_records(plans: dict[str, dict[str, Any]],
                                                            project: Path) -> None:
    acme = plans["dev.acme"]
    bridge = load_stack(project, "dev").spec
    assert isinstance(bridge, BridgeSpec)
    zones = {r["inputs"]["name"]: r for r in of_type(acme, "route53/zone:Zone")}
    for zone in zones.values():
        assert [v["vpcId"] for v in zone["inputs"]["vpcs"]] == [v.vpc_id for v in bridge.aws.vpcs]
        assert zone["inputs"]["tags"]["customer"] == "acme"
    ids = acme["outputs"]["dnsZones"]
    records = {r["inputs"]["name"]: r["inputs"] for r in of_type(acme, "route53/record:Record")}
    for account in ("acme-xy12345.east-us-2.privatelink.snowflakecomputing.com",
                    "acme-ab54321.us-east-1.privatelink.snowflakecomputing.com"):
        ocsp = records[f"ocsp.{account}"]
        assert ocsp["zoneId"] == records[account]["zoneId"] == ids[account], "the OCSP name sits in its account's zone"
    azure = records["acme-xy12345.east-us-2.privatelink.snowflakecomputing.com"]
    assert azure["type"] == "A" and azure["records"] == [acme["outputs"]["endpoints"]["snowflake"]["address"]]
    assert records["ocsp.acme-xy12345.east-us-2.privatelink.snowflakecomputing.com"]["records"] == azure["records"]
    aws_apex = records["acme-ab54321.us-east-1.privatelink.snowflakecomputing.com"]
    assert aws_apex["type"] == "A" and aws_apex["aliases"][0]["name"] == acme["outputs"]["endpoints"]["warehouse"][
        "address"]
    assert set(acme["outputs"]["dnsNames"]) == set(records)
