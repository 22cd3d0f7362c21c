"""Each component under mocks: the resources it creates, their key arguments, parents, ordering
(through dependencies), protection and secrets."""

from __future__ import annotations

import json
from typing import Any, cast

import pulumi
import pytest

from components.cloud_router import (
    CONNECTION_REPLACE_ON,
    AwsConnectionArgs,
    AzureConnectionArgs,
    CloudRouter,
    CloudRouterArgs,
    RouterArgs,
    SessionRoutingArgs,
)
from components.cloud_wan import CloudWan, CloudWanArgs, policy_document
from components.direct_connect import (
    CloudWanTarget,
    DirectConnect,
    DirectConnectArgs,
    TransitGatewayTarget,
    TransitVifArgs,
)
from components.expressroute import ExpressRoute, ExpressRouteArgs, PrivatePeeringArgs
from components.private_endpoints import (
    AzureTarget,
    EndpointArgs,
    PrivateEndpoints,
    PrivateEndpointsArgs,
    RecordArgs,
)
from components.transit_gateway import TransitGateway, TransitGatewayArgs, VpcAttachmentArgs
from pulumi_support import Run, run_components

TAGS = {"project": "bridge", "stack": "test", "managed-by": "pulumi"}
VPCS = [VpcAttachmentArgs("saas", "vpc-0a1b2c3d4e5f60718", ["subnet-0a1b2c3d4e5f60718", "subnet-1a1b2c3d4e5f60718"],
                          ["rtb-0a1b2c3d4e5f60718", "rtb-1a1b2c3d4e5f60718"]),
        VpcAttachmentArgs("data", "vpc-1a1b2c3d4e5f60718", ["subnet-2a1b2c3d4e5f60718"], [])]


def children_of(run: Run, component_type: str) -> list[Any]:
    comp = run.one(component_type)
    return [r for r in run.registrations if r.parent == comp.urn]


# --- TransitGateway -------------------------------------------------------------------------------


def test_transit_gateway_segments_and_routes() -> None:
    run = run_components(lambda: TransitGateway(
        "hub", TransitGatewayArgs(64512, VPCS, ["10.20.0.0/22", "10.31.0.0/16"], TAGS)))
    tgw = run.one("aws:ec2transitgateway/transitGateway:TransitGateway")
    assert tgw.inputs["amazonSideAsn"] == 64512
    assert tgw.inputs["defaultRouteTableAssociation"] == "disable"
    assert tgw.inputs["defaultRouteTablePropagation"] == "disable"
    assert tgw.protect and tgw.inputs["tags"]["stack"] == "test"
    tables = {r.name: r for r in run.of_type("aws:ec2transitgateway/routeTable:RouteTable")}
    assert set(tables) == {"hub-rt-saas", "hub-rt-hybrid"}
    attachments = run.of_type("aws:ec2transitgateway/vpcAttachment:VpcAttachment")
    assert len(attachments) == 2
    for att in attachments:
        assert att.inputs["transitGatewayDefaultRouteTableAssociation"] is False
        assert att.inputs["transitGatewayDefaultRouteTablePropagation"] is False
    assoc = run.one("aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation", "hub-saas-assoc")
    rt = "aws:ec2transitgateway/routeTable:RouteTable"
    assert assoc.inputs["transitGatewayRouteTableId"] == mock_id(rt, "hub-rt-saas")
    prop = run.one("aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation", "hub-saas-to-hybrid")
    assert prop.inputs["transitGatewayRouteTableId"] == mock_id(rt, "hub-rt-hybrid")
    routes = run.of_type("aws:ec2/route:Route")
    # 2 route tables x 2 Azure prefixes for saas; data has no route tables.
    assert sorted((r.inputs["routeTableId"], r.inputs["destinationCidrBlock"]) for r in routes) == [
        ("rtb-0a1b2c3d4e5f60718", "10.20.0.0/22"), ("rtb-0a1b2c3d4e5f60718", "10.31.0.0/16"),
        ("rtb-1a1b2c3d4e5f60718", "10.20.0.0/22"), ("rtb-1a1b2c3d4e5f60718", "10.31.0.0/16")]
    saas_att = run.one("aws:ec2transitgateway/vpcAttachment:VpcAttachment", "hub-saas")
    for route in routes:
        assert route.inputs["transitGatewayId"].startswith("tgw-")
        assert run.depends(route, saas_att), "a route to the TGW needs the VPC's attachment first"
    assert all("bridge:aws:TransitGateway$" in r.urn for r in children_of(run, "bridge:aws:TransitGateway"))


def mock_id(typ: str, name: str) -> str:
    """The id the mocks give a resource (deterministic: stack, type and name)."""
    from bridgectl.offline import MockContext, fake_resource

    rid, _ = fake_resource(MockContext(stack="test"), typ, name, {})
    return rid


# --- CloudWan ----------------------------------------------------------------------------------------


def test_cloud_wan_policy_attachments_and_routes() -> None:
    run = run_components(lambda: CloudWan("wan", CloudWanArgs(
        ["64600-64699"], ["us-east-1", "us-west-2"], "us-east-1", "111122223333", VPCS, ["10.20.0.0/22"], TAGS)))
    core = run.one("aws:networkmanager/coreNetwork:CoreNetwork")
    assert core.protect and core.inputs["createBasePolicy"] is True
    base = json.loads(core.inputs["basePolicyDocument"])
    assert "attachment-policies" not in base and base["core-network-configuration"]["asn-ranges"] == ["64600-64699"]
    policy = json.loads(run.one("aws:networkmanager/coreNetworkPolicyAttachment:CoreNetworkPolicyAttachment")
                        .inputs["policyDocument"])
    assert policy == policy_document(["64600-64699"], ["us-east-1", "us-west-2"])
    rules = {p["action"]["segment"]: p["conditions"][0] for p in policy["attachment-policies"]}
    assert rules["hybrid"]["value"] == "direct-connect-gateway"
    assert rules["saas"] == {"type": "tag-value", "operator": "equals", "key": "bridge-segment", "value": "saas"}
    att = run.one("aws:networkmanager/vpcAttachment:VpcAttachment", "wan-saas")
    assert att.inputs["vpcArn"] == "arn:aws:ec2:us-east-1:111122223333:vpc/vpc-0a1b2c3d4e5f60718"
    assert att.inputs["subnetArns"][0] == "arn:aws:ec2:us-east-1:111122223333:subnet/subnet-0a1b2c3d4e5f60718"
    assert att.inputs["tags"]["bridge-segment"] == "saas"
    routes = run.of_type("aws:ec2/route:Route")
    assert len(routes) == 2 and all(r.inputs["coreNetworkArn"].startswith("arn:aws:networkmanager::") for r in routes)
    assert all(run.depends(r, att) for r in routes)


# --- DirectConnect -------------------------------------------------------------------------------------


def _dx(target: TransitGatewayTarget | CloudWanTarget) -> DirectConnect:
    # What the exchange's connections report: the hosted connection's id and VLAN are outputs of the
    # Equinix connection (a stand-in resource here), so the AWS side depends on it.
    anchor = pulumi.CustomResource("test:index:Anchor", "exchange-conn-a", {})
    anchor_b = pulumi.CustomResource("test:index:Anchor", "exchange-conn-b", {})
    return DirectConnect("dx", DirectConnectArgs(
        amazon_side_asn=64513, target=target, gateway_name="test-bridge-dxgw",
        links=[TransitVifArgs("fcr-a", anchor.id.apply(lambda _: "dxcon-ffaaaa01"), anchor.id.apply(lambda _: 321),
                              65100, "169.254.100.1/30", "169.254.100.2/30", pulumi.Output.secret("k" * 32),
                              "test-fcr-a"),
               TransitVifArgs("fcr-b", anchor_b.id.apply(lambda _: "dxcon-ffbbbb02"),
                              anchor_b.id.apply(lambda _: 654), 65100, "169.254.100.5/30", "169.254.100.6/30",
                              pulumi.Output.secret("j" * 32), "test-fcr-b")],
        tags=TAGS))


def test_direct_connect_confirms_hosted_connection_before_vif() -> None:
    run = run_components(lambda: _dx(TransitGatewayTarget("tgw-1", "tgw-rtb-hybrid", "tgw-rtb-saas",
                                                          ["10.10.0.0/16"])))
    gw = run.one("aws:directconnect/gateway:Gateway")
    assert gw.inputs["amazonSideAsn"] == "64513", "the SDK takes the DX gateway ASN as a string"
    assert gw.protect
    assoc = run.one("aws:directconnect/gatewayAssociation:GatewayAssociation")
    assert assoc.inputs["allowedPrefixes"] == ["10.10.0.0/16"] and assoc.inputs["associatedGatewayId"] == "tgw-1"
    rta = run.one("aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation")
    assert rta.inputs["transitGatewayAttachmentId"].startswith("tgw-attach-")
    assert rta.inputs["transitGatewayRouteTableId"] == "tgw-rtb-hybrid"
    assert run.one("aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation").inputs[
        "transitGatewayRouteTableId"] == "tgw-rtb-saas"
    # Nothing is looked up by name: AWS lists deleted and rejected connections under their names.
    assert not [token for token, _ in run.calls if token == "aws:directconnect/getConnection:getConnection"]
    for router, (dxcon, vlan, anchor) in {"fcr-a": ("dxcon-ffaaaa01", 321, "exchange-conn-a"),
                                          "fcr-b": ("dxcon-ffbbbb02", 654, "exchange-conn-b")}.items():
        confirm = run.one("aws:directconnect/connectionConfirmation:ConnectionConfirmation", f"dx-{router}-confirm")
        vif = run.one("aws:directconnect/transitVirtualInterface:TransitVirtualInterface", f"dx-{router}-vif")
        assert confirm.inputs["connectionId"] == dxcon, "the id the exchange reported, not a lookup"
        assert run.depends(confirm, run.one("test:index:Anchor", anchor)), "after the exchange's connection"
        assert vif.inputs["connectionId"] == dxcon
        assert vif.inputs["vlan"] == vlan, "the VLAN is the one Equinix gave the hosted connection"
        assert run.depends(vif, confirm), "a VIF on an unconfirmed hosted connection fails"
        assert vif.inputs["bgpAsn"] == 65100 and vif.inputs["addressFamily"] == "ipv4"
        assert vif.inputs["bgpAuthKey"] == "[secret]"
        assert "bgpAuthKey" in vif.options["additionalSecretOutputs"]
        assert vif.protect and vif.inputs["mtu"] == 1500
    vif_a = run.one("aws:directconnect/transitVirtualInterface:TransitVirtualInterface", "dx-fcr-a-vif")
    assert (vif_a.inputs["amazonAddress"], vif_a.inputs["customerAddress"]) == ("169.254.100.1/30", "169.254.100.2/30")


def test_direct_connect_reports_each_vifs_aws_device() -> None:
    found: dict[str, str] = {}

    def build() -> Any:
        dx = _dx(CloudWanTarget("core-network-1", ["us-east-1"]))
        return pulumi.Output.from_input(dx.aws_devices).apply(lambda d: found.update(cast(dict[str, str], d)))

    run_components(build)
    assert set(found) == {"fcr-a", "fcr-b"} and all(found.values()), found


def test_direct_connect_to_cloud_wan() -> None:
    run = run_components(lambda: _dx(CloudWanTarget("core-network-1", ["us-east-1"])))
    assert not run.of_type("aws:directconnect/gatewayAssociation:GatewayAssociation")
    att = run.one("aws:networkmanager/dxGatewayAttachment:DxGatewayAttachment")
    assert att.inputs["directConnectGatewayArn"].startswith("arn:aws:directconnect::111122223333:dx-gateway/")
    assert att.inputs["edgeLocations"] == ["us-east-1"] and att.protect


# --- CloudRouter ----------------------------------------------------------------------------------------


def _cloud_router(with_routing: bool = True) -> CloudRouter:
    cr = CloudRouter("x", CloudRouterArgs(
        project_id="0e1f2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7", account_number=123456,
        notification_emails=["netops@example.com"], package="STANDARD", bandwidth_mbps=1000,
        routers=[RouterArgs("fcr-a", "DC"), RouterArgs("fcr-b", "DC")], aws_account_id="111122223333",
        aws_seller_region="us-east-1",
        aws_connections=[AwsConnectionArgs("fcr-a", "t-fcr-a-aws"), AwsConnectionArgs("fcr-b", "t-fcr-b-aws")],
        azure_service_key=pulumi.Output.secret("5f0b6a7e-0000-4000-8000-000000000000"),
        azure_connections=[AzureConnectionArgs("fcr-b", "t-fcr-b-er-sec", "SECONDARY"),
                           AzureConnectionArgs("fcr-a", "t-fcr-a-er-pri", "PRIMARY")],
        aws_prefixes=["10.10.0.0/16", "10.11.0.0/16"], azure_prefixes=["10.20.0.0/22"], filter_prefix="t"))
    if with_routing:
        vif = pulumi.CustomResource("test:index:Vif", "vif-a", {})
        peering = pulumi.CustomResource("test:index:Peering", "peering", {})
        cr.add_routing([
            SessionRoutingArgs("t-fcr-a-aws", "t-fcr-a-aws-direct", "t-fcr-a-aws-bgp", "169.254.100.2/30",
                               "169.254.100.1", 64513, pulumi.Output.secret("k" * 32), True, 300, [vif]),
            SessionRoutingArgs("t-fcr-a-er-pri", "t-fcr-a-er-pri-direct", "t-fcr-a-er-pri-bgp", "192.168.100.1/30",
                               "192.168.100.2", 12076, pulumi.Output.secret("a" * 24), True, 300, [peering]),
        ])
    return cr


def test_cloud_router_connections() -> None:
    run = run_components(_cloud_router)
    routers = run.of_type("equinix:fabric/cloudRouter:CloudRouter")
    assert sorted(r.inputs["name"] for r in routers) == ["fcr-a", "fcr-b"]
    for r in routers:
        assert r.protect and r.inputs["type"] == "XF_ROUTER" and r.inputs["package"] == {"code": "STANDARD"}
        assert r.inputs["location"] == {"metroCode": "DC"}
    conns = {r.inputs["name"]: r for r in run.of_type("equinix:fabric/connection:Connection")}
    assert set(conns) == {"t-fcr-a-aws", "t-fcr-b-aws", "t-fcr-a-er-pri", "t-fcr-b-er-sec"}
    for c in conns.values():
        assert c.protect and c.inputs["type"] == "IP_VC" and c.inputs["bandwidth"] == 1000
        assert c.inputs["aSide"]["accessPoint"]["type"] == "CLOUD_ROUTER"
        # The provider's update sends only name, bandwidth, a-side VLAN and notifications: what the
        # exchange cannot change replaces the connection (docs/equinix-changes.md), and only those leaves:
        # a whole-block pattern would replace on every run of a provider with a no-op a-side/z-side diff
        # (equinix/terraform-provider-equinix#1062).
        assert c.options["replaceOnChanges"] == list(CONNECTION_REPLACE_ON) and c.options["deleteBeforeReplace"]
        assert not {"aSide", "zSide", "bandwidth", "name", "notifications"} & set(c.options["replaceOnChanges"])
        assert c.options["customTimeouts"]["create"] == "45m"
    aws_z = conns["t-fcr-a-aws"].inputs["zSide"]["accessPoint"]
    assert aws_z["authenticationKey"] == "111122223333" and aws_z["sellerRegion"] == "us-east-1"
    assert aws_z["profile"]["type"] == "L2_PROFILE"
    # The service key makes the whole z-side a secret: nothing of it is stored in clear.
    assert conns["t-fcr-a-er-pri"].inputs["zSide"] == "[secret]"
    assert "zSide" in conns["t-fcr-a-er-pri"].options["additionalSecretOutputs"]
    primary, secondary = conns["t-fcr-a-er-pri"], conns["t-fcr-b-er-sec"]
    assert primary.inputs["redundancy"] == {"priority": "PRIMARY"}
    assert secondary.inputs["redundancy"]["priority"] == "SECONDARY"
    assert secondary.inputs["redundancy"]["group"], "the secondary joins the primary's redundancy group"
    assert run.depends(secondary, primary)
    fcr_a = run.one("equinix:fabric/cloudRouter:CloudRouter", "x-fcr-a")
    assert primary.inputs["aSide"]["accessPoint"]["router"]["uuid"] == mock_id(fcr_a.type, "x-fcr-a")
    assert run.depends(primary, fcr_a)
    profiles = [a["filter"]["values"][0] for t, a in run.calls if t.endswith("getServiceProfiles")]
    # At 1 Gbps too: every FCR example of Equinix uses this profile ("High Capacity" is for ports).
    assert sorted(profiles) == ["AWS Direct Connect", "Azure ExpressRoute"]
    aws_primary, aws_secondary = conns["t-fcr-a-aws"], conns["t-fcr-b-aws"]
    assert aws_primary.inputs["redundancy"] == {"priority": "PRIMARY"}
    assert aws_secondary.inputs["redundancy"]["priority"] == "SECONDARY", "diverse AWS connections, like Azure's"
    assert aws_secondary.inputs["redundancy"]["group"] == mock_group("x-t-fcr-a-aws")
    assert run.depends(aws_secondary, aws_primary)


def mock_group(name: str) -> str:
    from bridgectl.offline import _uuid

    return _uuid("group", "test", name)


def test_cloud_router_reports_the_hosted_connections_equinix_created() -> None:
    found: dict[str, tuple[str, int]] = {}

    def build() -> Any:
        cr = _cloud_router(with_routing=False)
        return pulumi.Output.all(*[pulumi.Output.all(i, v) for i, v in cr.hosted_connections.values()]).apply(
            lambda pairs: found.update(zip(cr.hosted_connections, [tuple(p) for p in pairs], strict=True)))

    run = run_components(build)
    for name in ("t-fcr-a-aws", "t-fcr-b-aws"):
        conn = run.one("equinix:fabric/connection:Connection", f"x-{name}")
        from bridgectl.offline import MockContext, fake_resource

        _, state = fake_resource(MockContext(stack="test"), conn.type, conn.name, conn.inputs)
        reported = state["zSide"]["accessPoint"]
        assert found[name] == (reported["providerConnectionId"], reported["linkProtocol"]["vlanTag"])
    assert set(found) == {"t-fcr-a-aws", "t-fcr-b-aws"}, "only AWS connections have a hosted connection"


def test_hosted_connection_missing_from_the_exchange_is_a_clear_error() -> None:
    from types import SimpleNamespace as NS

    from components.cloud_router import hosted_connection_id, hosted_connection_vlan

    z = NS(access_point=NS(provider_connection_id="dxcon-ffaaaa01", link_protocol=NS(vlan_tag=None, vlan_s_tag=812)))
    assert hosted_connection_id("c", z) == "dxcon-ffaaaa01" and hosted_connection_vlan("c", z) == 812
    empty = NS(access_point=NS(provider_connection_id=None, link_protocol=None))
    for read in (hosted_connection_id, hosted_connection_vlan):
        with pytest.raises(pulumi.RunError, match="Equinix connection dev-fcr-a-aws reports no"):
            read("dev-fcr-a-aws", empty)
        with pytest.raises(pulumi.RunError, match="reports no"):
            read("dev-fcr-a-aws", None)


def test_service_profile_is_checked_before_use() -> None:
    from types import SimpleNamespace as NS

    from components.cloud_router import choose_profile

    profile = NS(name="AWS Direct Connect", uuid="p-1", metros=[NS(code="DC"), NS(code="SV")],
                 access_point_type_configs=[NS(supported_bandwidths=[50, 100, 500, 1000, 10000])])
    assert choose_profile("AWS Direct Connect", [profile], ["DC"], 1000) == "p-1"
    with pytest.raises(pulumi.RunError, match=r'no service profile named "AWS Direct Connect".*metro DC'):
        choose_profile("AWS Direct Connect", [], ["DC"], 1000)
    with pytest.raises(pulumi.RunError, match="not offered in metro AM"):
        choose_profile("AWS Direct Connect", [profile], ["DC", "AM"], 1000)
    with pytest.raises(pulumi.RunError, match=r"does not offer 2000 Mbps.*1000, 10000"):
        choose_profile("AWS Direct Connect", [profile], ["DC"], 2000)
    # A profile that lists no metros or bandwidths is not refused on them.
    assert choose_profile("AWS Direct Connect", [NS(name="AWS Direct Connect", uuid="p-2")], ["DC"], 1000) == "p-2"


def test_empty_profile_lookup_stops_the_program_without_a_traceback() -> None:
    from bridgectl.offline import MockContext

    ctx = MockContext(stack="test", fcr_asn=65100, service_profiles={"AWS Direct Connect": []})
    with pytest.raises(Exception, match='no service profile named "AWS Direct Connect"'):
        run_components(lambda: _cloud_router(with_routing=False), ctx)


def test_cloud_router_filters_each_cloud_to_the_planned_prefixes() -> None:
    run = run_components(_cloud_router)
    rules_of: dict[str, list[Any]] = {}
    filters = {r.inputs["name"]: r for r in run.of_type("equinix:fabric/routeFilter:RouteFilter")}
    assert set(filters) == {"t-aws", "t-azure"}
    assert all(f.inputs["type"] == "BGP_IPv4_PREFIX_FILTER" for f in filters.values())
    rules = run.of_type("equinix:fabric/routeFilterRule:RouteFilterRule")
    by_filter: dict[str, set[str]] = {}
    for rule in rules:
        assert rule.inputs["prefixMatch"] == "exact"
        owner = next(n for n, f in filters.items() if rule.inputs["routeFilterId"] == mock_id(f.type, f.name))
        by_filter.setdefault(owner, set()).add(rule.inputs["prefix"])
        rules_of.setdefault(owner, []).append(rule)
        # Named by the prefix, never by position.
        assert rule.inputs["name"] == f"{owner.split('-')[1]}-{rule.inputs['prefix'].replace('/', '-')}"
    assert by_filter == {"t-aws": {"10.10.0.0/16", "10.11.0.0/16"}, "t-azure": {"10.20.0.0/22"}}
    attached = {(r.name.rsplit("-", 1)[0].removeprefix("x-"), r.inputs["direction"]):
                next(n for n, f in filters.items() if r.inputs["routeFilterId"] == mock_id(f.type, f.name))
                for r in run.of_type("equinix:fabric/connectionRouteFilter:ConnectionRouteFilter")}
    # Into AWS only Azure's prefixes, into Azure only AWS's; from each only its own.
    assert attached == {("t-fcr-a-aws", "INBOUND"): "t-aws", ("t-fcr-a-aws", "OUTBOUND"): "t-azure",
                        ("t-fcr-b-aws", "INBOUND"): "t-aws", ("t-fcr-b-aws", "OUTBOUND"): "t-azure",
                        ("t-fcr-a-er-pri", "INBOUND"): "t-azure", ("t-fcr-a-er-pri", "OUTBOUND"): "t-aws",
                        ("t-fcr-b-er-sec", "INBOUND"): "t-azure", ("t-fcr-b-er-sec", "OUTBOUND"): "t-aws"}
    bgp = run.one("equinix:fabric/routingProtocol:RoutingProtocol", "x-t-fcr-a-aws-bgp")
    for r in run.of_type("equinix:fabric/connectionRouteFilter:ConnectionRouteFilter"):
        if r.name.startswith("x-t-fcr-a-aws-"):
            assert run.depends(bgp, r), "filters are in place before the session comes up"
        owner = next(n for n, f in filters.items() if r.inputs["routeFilterId"] == mock_id(f.type, f.name))
        # Attached only once every rule of the filter exists (Equinix's route-filter module does so).
        assert all(run.depends(r, rule) for rule in rules_of[owner]), r.name
        # Replaced with its connection or filter, the old attachment removed first.
        assert r.options["replaceOnChanges"] == ["connectionId", "routeFilterId", "direction"]
        assert r.options["deleteBeforeReplace"]
    assert all(rule.options["replaceOnChanges"] == ["routeFilterId"] for rule in rules)


def test_removing_a_prefix_deletes_its_rule_and_renames_no_other() -> None:
    def rules(aws_prefixes: list[str]) -> dict[str, dict[str, Any]]:
        def build() -> CloudRouter:
            return CloudRouter("x", CloudRouterArgs(
                project_id="p", account_number=1, notification_emails=["n@example.com"], package="STANDARD",
                bandwidth_mbps=1000, routers=[RouterArgs("fcr-a", "DC")], aws_account_id="111122223333",
                aws_seller_region="us-east-1", aws_connections=[AwsConnectionArgs("fcr-a", "t-fcr-a-aws")],
                azure_service_key=pulumi.Output.secret("k"),
                azure_connections=[AzureConnectionArgs("fcr-a", "t-fcr-a-er-pri", "PRIMARY")],
                aws_prefixes=aws_prefixes, azure_prefixes=["10.20.0.0/22"], filter_prefix="t"))

        run = run_components(build)
        return {r.name: r.inputs for r in run.of_type("equinix:fabric/routeFilterRule:RouteFilterRule")}

    before = rules(["10.10.0.0/16", "10.11.0.0/16", "10.12.0.0/16"])
    after = rules(["10.10.0.0/16", "10.12.0.0/16"])
    assert set(before) - set(after) == {"x-filter-aws-10.11.0.0_16"}
    assert all(after[name] == before[name] for name in after), "the remaining rules are unchanged"


def test_cloud_router_direct_before_bgp_with_bfd_and_md5() -> None:
    run = run_components(_cloud_router)
    protocols = {r.inputs["name"]: r for r in run.of_type("equinix:fabric/routingProtocol:RoutingProtocol")}
    assert set(protocols) == {"t-fcr-a-aws-direct", "t-fcr-a-aws-bgp", "t-fcr-a-er-pri-direct", "t-fcr-a-er-pri-bgp"}
    direct, bgp = protocols["t-fcr-a-aws-direct"], protocols["t-fcr-a-aws-bgp"]
    assert direct.inputs["type"] == "DIRECT" and direct.inputs["directIpv4"] == {"equinixIfaceIp": "169.254.100.2/30"}
    assert bgp.inputs["type"] == "BGP" and run.depends(bgp, direct), "Equinix requires DIRECT before BGP"
    # Replaced with their connection, the old ones deleted first (BGP before DIRECT: BGP depends on it).
    for protocol in (direct, bgp):
        assert protocol.options["replaceOnChanges"] == ["connectionUuid", "type"]
        assert protocol.options["deleteBeforeReplace"]
    assert bgp.inputs["bgpIpv4"] == {"customerPeerIp": "169.254.100.1", "enabled": True}
    assert bgp.inputs["customerAsn"] == 64513
    assert bgp.inputs["bfd"] == {"enabled": True, "interval": "300"}
    assert bgp.inputs["bgpAuthKey"] == "[secret]" and "bgpAuthKey" in bgp.options["additionalSecretOutputs"]
    vif = run.one("test:index:Vif")
    assert run.depends(direct, vif), "the FCR side waits for its cloud side"
    azure_direct = protocols["t-fcr-a-er-pri-direct"]
    assert run.depends(azure_direct, run.one("test:index:Peering"))
    assert protocols["t-fcr-a-er-pri-bgp"].inputs["customerAsn"] == 12076


# --- ExpressRoute ---------------------------------------------------------------------------------------


def _er(peering: bool) -> ExpressRoute:
    er = ExpressRoute("er", ExpressRouteArgs(
        resource_group="rg-t", location="eastus2",
        names={"vnet": "vnet-hub-t", "gateway": "ergw-t", "pip": "pip-ergw-t", "circuit": "erc-t",
               "nsg": "nsg-endpoints-t", "endpointSubnet": "snet-private-endpoints", "connection": "conn-ergw-t"},
        hub_cidr="10.20.0.0/22", gateway_subnet="10.20.0.0/27", endpoint_subnet="10.20.1.0/24",
        saas_cidrs=["10.10.0.0/16", "10.11.0.0/16"], endpoint_ports=[80, 443, 5439], peering_location="Washington DC",
        tier="Standard", family="MeteredData", bandwidth_mbps=1000, gateway_sku="ErGw1AZ", gateway_public_ip=True,
        peering=PrivatePeeringArgs("192.168.100.0/30", "192.168.100.4/30", 300, 65100,
                                   pulumi.Output.secret("a" * 24)) if peering else None,
        tags=TAGS))
    return er


def test_expressroute_service_key_is_secret() -> None:
    async def check(er: ExpressRoute) -> bool:
        assert await er.service_key.is_secret(), "the service key lets anyone connect to the circuit"
        return True

    run = run_components(lambda: pulumi.Output.from_input(cast(Any, check(_er(peering=False)))))
    assert run.value is not None


def test_expressroute_hub_gateway_circuit_and_peering() -> None:
    run = run_components(lambda: _er(peering=True))
    gw_subnet = run.one("azure-native:network:Subnet", "er-gateway-subnet")
    assert gw_subnet.inputs["subnetName"] == "GatewaySubnet" and gw_subnet.inputs["addressPrefix"] == "10.20.0.0/27"
    assert gw_subnet.options["deleteBeforeReplace"]
    pe_subnet = run.one("azure-native:network:Subnet", "er-endpoint-subnet")
    assert run.depends(pe_subnet, gw_subnet), "subnets of one VNet are created one at a time"
    assert pe_subnet.inputs["privateEndpointNetworkPolicies"] == "Enabled"
    nsg = run.one("azure-native:network:NetworkSecurityGroup")
    allows = [r for r in nsg.inputs["securityRules"] if r["access"] == "Allow"]
    assert sorted(r["sourceAddressPrefix"] for r in allows) == ["10.10.0.0/16", "10.11.0.0/16"]
    assert all(r["destinationPortRanges"] == ["80", "443", "5439"] for r in allows)
    assert any(r["access"] == "Deny" and r["sourceAddressPrefix"] == "*" for r in nsg.inputs["securityRules"])
    gateway = run.one("azure-native:network:VirtualNetworkGateway")
    assert gateway.inputs["gatewayType"] == "ExpressRoute" and gateway.inputs["sku"] == {"name": "ErGw1AZ",
                                                                                          "tier": "ErGw1AZ"}
    assert gateway.protect
    # It can take 45 minutes to build (azure.md §3.2): the timeouts leave room beyond that.
    assert all(int(v.rstrip("m")) > 45 for v in gateway.options["customTimeouts"].values())
    assert run.depends(gateway, run.one("azure-native:network:PublicIPAddress"))
    circuit = run.one("azure-native:network:ExpressRouteCircuit")
    assert circuit.protect and circuit.inputs["sku"] == {"name": "Standard_MeteredData", "tier": "Standard",
                                                          "family": "MeteredData"}
    assert circuit.inputs["serviceProviderProperties"] == {"serviceProviderName": "Equinix",
                                                            "peeringLocation": "Washington DC", "bandwidthInMbps": 1000}
    assert "serviceKey" in circuit.options["additionalSecretOutputs"]
    peering = run.one("azure-native:network:ExpressRouteCircuitPeering")
    assert peering.inputs["peeringType"] == "AzurePrivatePeering" and peering.inputs["peerASN"] == 65100
    assert (peering.inputs["primaryPeerAddressPrefix"], peering.inputs["secondaryPeerAddressPrefix"]) == (
        "192.168.100.0/30", "192.168.100.4/30")
    assert peering.inputs["vlanId"] == 300 and peering.inputs["sharedKey"] == "[secret]" and peering.protect
    connection = run.one("azure-native:network:VirtualNetworkGatewayConnection")
    assert run.depends(connection, peering), "a connection before the peering is created failed (azure.md §1)"
    assert connection.inputs["peer"]["id"].endswith("/expressRouteCircuits/erc-t")
    assert connection.inputs["connectionType"] == "ExpressRoute"


def test_expressroute_without_provisioned_circuit_has_no_peering() -> None:
    run = run_components(lambda: _er(peering=False))
    assert not run.of_type("azure-native:network:ExpressRouteCircuitPeering")
    assert not run.of_type("azure-native:network:VirtualNetworkGatewayConnection")
    assert run.of_type("azure-native:network:ExpressRouteCircuit")


# --- PrivateEndpoints ----------------------------------------------------------------------------------


SF_AZURE = "acme.east-us-2.privatelink.snowflakecomputing.com"
SF_AWS = "acme.us-east-1.privatelink.snowflakecomputing.com"
DBX_AZURE = "adb-1.2.privatelink.azuredatabricks.net"
DBX_AUTH = "eastus2.pl-auth.privatelink.azuredatabricks.net"


def _endpoints() -> PrivateEndpoints:
    common: dict[str, Any] = {"allowed_cidrs": ["10.10.0.0/16"], "request_message": "bridge: acme"}
    return PrivateEndpoints("ep", PrivateEndpointsArgs(
        customer="acme",
        endpoints=[
            EndpointArgs("sf", "snowflake", "azure-private-endpoint",
                         "sf-pvlinksvc-eastus2.a1b2c3d4-e5f6-7a8b-9c0d-e1f2a3b4c5d6.eastus2.azure.privatelinkservice",
                         [RecordArgs(SF_AZURE, SF_AZURE), RecordArgs(f"ocsp.{SF_AZURE}", SF_AZURE)],
                         [443, 80], [], **common),
            EndpointArgs("wh", "snowflake", "aws-interface-endpoint",
                         "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
                         [RecordArgs(SF_AWS, SF_AWS), RecordArgs(f"ocsp.{SF_AWS}", SF_AWS)],
                         [443, 80], [], vpc_id="vpc-a", subnet_ids=["subnet-a"], **common),
            EndpointArgs("dbx", "databricks", "azure-private-endpoint",
                         "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Databricks/workspaces/ws",
                         [RecordArgs(DBX_AZURE, DBX_AZURE), RecordArgs(DBX_AUTH, DBX_AUTH, "browser-auth")],
                         [443], ["databricks_ui_api"], browser_auth=True, **common),
            EndpointArgs("rs", "redshift", "redshift-endpoint", None, [RecordArgs("wh.acme.internal", "acme.internal")],
                         [5439], [], vpc_id="vpc-a", subnet_ids=["subnet-a"], cluster="analytics",
                         owner_account="444455556666", **common),
        ],
        azure=AzureTarget("rg-bridge", "eastus2", "/subscriptions/x/subnets/snet-private-endpoints"),
        zones=[SF_AZURE, SF_AWS, DBX_AZURE, DBX_AUTH, "acme.internal"], vpc_ids=["vpc-a", "vpc-b"],
        region="us-east-1", tags=TAGS))


NICS = {"nic-pe-acme-sf": "10.20.1.4", "nic-pe-acme-dbx": "10.20.1.5", "nic-pe-acme-dbx-auth": "10.20.1.6"}


@pytest.fixture(scope="module")
def endpoints_run() -> Run:
    from bridgectl.offline import MockContext

    return run_components(_endpoints, MockContext(stack="test", nic_addresses=NICS))


def test_private_endpoints_per_cloud(endpoints_run: Run) -> None:
    run = endpoints_run
    pes = {r.name: r for r in run.of_type("azure-native:network:PrivateEndpoint")}
    conn = pes["ep-sf"].inputs["manualPrivateLinkServiceConnections"][0]
    assert conn["privateLinkServiceId"].endswith(".azure.privatelinkservice") and "groupIds" not in conn
    assert pes["ep-sf"].inputs["subnet"]["id"].endswith("snet-private-endpoints")
    assert pes["ep-sf"].inputs["customNetworkInterfaceName"] == "nic-pe-acme-sf"
    sgs = {r.name: r for r in run.of_type("aws:ec2/securityGroup:SecurityGroup")}
    for sg in sgs.values():
        cidrs = {c for rule in sg.inputs["ingress"] for c in rule["cidrBlocks"]}
        assert cidrs == {"10.10.0.0/16"}, "endpoint security groups admit the SaaS VPCs only"
        assert sg.inputs.get("egress") == []
    assert sorted(rule["fromPort"] for rule in sgs["ep-wh-sg"].inputs["ingress"]) == [80, 443]
    vpce = run.one("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert vpce.inputs["vpcEndpointType"] == "Interface" and vpce.inputs["privateDnsEnabled"] is False
    assert vpce.inputs["securityGroupIds"] == [mock_id("aws:ec2/securityGroup:SecurityGroup", "ep-wh-sg")]
    access = run.one("aws:redshift/endpointAccess:EndpointAccess")
    assert access.inputs["clusterIdentifier"] == "analytics" and access.inputs["resourceOwner"] == "444455556666"
    assert len(access.inputs["endpointName"]) <= 30 and access.inputs["endpointName"][0].isalpha()


def test_one_private_zone_per_published_name_on_every_saas_vpc(endpoints_run: Run) -> None:
    """The zones are the published names themselves (never a platform's whole domain), each on every SaaS
    VPC, owned by the customer (tagged, so the policy pack lets `pulumi destroy` remove them)."""
    zones = {r.inputs["name"]: r for r in endpoints_run.of_type("aws:route53/zone:Zone")}
    assert set(zones) == {SF_AZURE, SF_AWS, DBX_AZURE, DBX_AUTH, "acme.internal"}
    assert not set(zones) & {"privatelink.snowflakecomputing.com", "privatelink.azuredatabricks.net",
                             "privatelink.cloud.databricks.com"}
    for zone in zones.values():
        assert [v["vpcId"] for v in zone.inputs["vpcs"]] == ["vpc-a", "vpc-b"]
        assert zone.inputs["tags"]["customer"] == "acme" and not zone.protect


def test_records_at_the_apex_of_their_zone(endpoints_run: Run) -> None:
    run = endpoints_run
    zone_ids = {r.inputs["name"]: mock_id("aws:route53/zone:Zone", r.name)
                for r in run.of_type("aws:route53/zone:Zone")}
    records = {r.inputs["name"]: r.inputs for r in run.of_type("aws:route53/record:Record")}
    assert all(rec["allowOverwrite"] is False for rec in records.values())
    # Azure: A records to the private endpoint's address, the OCSP name in its account name's zone.
    assert (records[SF_AZURE]["type"], records[SF_AZURE]["records"]) == ("A", ["10.20.1.4"])
    assert records[SF_AZURE]["zoneId"] == zone_ids[SF_AZURE]
    assert records[f"ocsp.{SF_AZURE}"]["records"] == ["10.20.1.4"]
    assert records[f"ocsp.{SF_AZURE}"]["zoneId"] == zone_ids[SF_AZURE]
    # AWS: an alias A record at the apex (a CNAME cannot sit there), a CNAME below it.
    apex = records[SF_AWS]
    assert apex["type"] == "A" and "records" not in apex and "ttl" not in apex
    assert apex["zoneId"] == zone_ids[SF_AWS]
    alias = apex["aliases"][0]
    assert alias["name"].startswith("vpce-") and alias["zoneId"] == "Z7HUB22UULQXV"
    assert alias["evaluateTargetHealth"] is False
    ocsp = records[f"ocsp.{SF_AWS}"]
    assert ocsp["type"] == "CNAME" and ocsp["records"] == [alias["name"]] and ocsp["zoneId"] == zone_ids[SF_AWS]
    # Redshift: a CNAME in the customer's own zone.
    assert records["wh.acme.internal"]["type"] == "CNAME"
    assert records["wh.acme.internal"]["zoneId"] == zone_ids["acme.internal"]


def test_databricks_browser_authentication_endpoint(endpoints_run: Run) -> None:
    run = endpoints_run
    pes = {r.name: r for r in run.of_type("azure-native:network:PrivateEndpoint")}
    ui = pes["ep-dbx"].inputs["manualPrivateLinkServiceConnections"][0]
    auth_pe = pes["ep-dbx-auth"].inputs
    auth = auth_pe["manualPrivateLinkServiceConnections"][0]
    assert ui["groupIds"] == ["databricks_ui_api"] and auth["groupIds"] == ["browser_authentication"]
    assert auth["privateLinkServiceId"] == ui["privateLinkServiceId"], "toward the same workspace"
    assert auth_pe["privateEndpointName"] == "pe-acme-dbx-auth" and auth["name"] == "acme-dbx-auth"
    records = {r.inputs["name"]: r.inputs for r in run.of_type("aws:route53/record:Record")}
    assert records[DBX_AZURE]["records"] == ["10.20.1.5"]
    assert records[DBX_AUTH]["records"] == ["10.20.1.6"], "the region's name points at the browser-auth endpoint"


@pytest.mark.parametrize("component", ["TransitGateway", "ExpressRoute"])
def test_children_are_parented(component: str) -> None:
    build = {"TransitGateway": lambda: TransitGateway("hub", TransitGatewayArgs(64512, VPCS, ["10.20.0.0/22"], TAGS)),
             "ExpressRoute": lambda: _er(peering=True)}[component]
    run = run_components(build)
    comp = next(r for r in run.registrations if r.type.endswith(f":{component}"))
    others = [r for r in run.registrations if r is not comp]
    assert others and all(r.parent == comp.urn for r in others)


def test_direct_connect_four_byte_fcr_asn_uses_bgp_asn_long() -> None:
    def build() -> DirectConnect:
        return DirectConnect("dx", DirectConnectArgs(
            amazon_side_asn=64513, target=CloudWanTarget("core-network-1", ["us-east-1"]),
            gateway_name="t-dxgw", tags=TAGS,
            links=[TransitVifArgs("fcr-a", "dxcon-ffaaaa01", 321, 4_200_000_100, "169.254.100.1/30",
                                  "169.254.100.2/30", pulumi.Output.secret("k" * 32), "t-fcr-a")]))

    vif = run_components(build).one("aws:directconnect/transitVirtualInterface:TransitVirtualInterface")
    assert vif.inputs["bgpAsnLong"] == "4200000100" and "bgpAsn" not in vif.inputs
