"""Endpoint spokes (bridge:azure.endpointSpokes): more VNets for private endpoints than one hub holds.

Each rule has a case where it says yes and one where it says no: spoke names, the spoke's endpoint
subnet, overlaps, the hub's peerings per VNet, the prefix budget the spokes join, a customer's spoke,
and the room of each VNet (subnet addresses, private endpoints per VNet, the early warning). Then the
program: what a spoke creates, in which order, what a customer on a spoke gets, that adding a spoke
changes nothing that exists, where `bridgectl customer add` places a customer, and what the pull-request
gate says when a customer moves.
"""

from __future__ import annotations

import copy
import ipaddress
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridgectl import diff as d
from bridgectl.cli import main
from bridgectl.offline import offline_plan
from bridgectl.placement import choose, rooms, sibling_index
from bridgectl.render import bridge_plan_text, customer_plan_text
from stacks import limits as L
from stacks.loader import load_stack
from stacks.plan import plan_bridge, plan_customer
from stacks.problems import ConfigError
from stacks.spec import BridgeSpec, CustomerSpec, parse_config, spoke_subnet

ROOT = Path(__file__).resolve().parent.parent
DEV: dict[str, Any] = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
SPOKES = [{"name": "spoke-1", "cidr": "10.21.0.0/24"}, {"name": "spoke-2", "cidr": "10.22.0.0/22"}]


def bridge_config(spokes: list[dict[str, Any]] | None = None, **azure: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(DEV)
    cfg["bridge:azure"]["endpointSpokes"] = copy.deepcopy(SPOKES if spokes is None else spokes)
    cfg["bridge:azure"].update(azure)
    return cfg


def problems(cfg: dict[str, Any]) -> list[str]:
    """Every error and warning of a bridge config, as validate prints them."""
    try:
        _, warnings = parse_config("dev", cfg)
    except ConfigError as exc:
        return [p.line() for p in exc.problems]
    return [w.line() for w in warnings]


def spoke_lines(cfg: dict[str, Any]) -> list[str]:
    return [p for p in problems(cfg) if "endpointSpokes" in p or "spoke" in p]


def parsed(cfg: dict[str, Any]) -> BridgeSpec:
    spec, _ = parse_config("dev", cfg)
    assert isinstance(spec, BridgeSpec)
    return spec


# --- bridge rules -----------------------------------------------------------------------------------


def test_spokes_are_accepted_and_join_the_advertised_prefixes() -> None:
    assert spoke_lines(bridge_config()) == []
    plan = plan_bridge(parsed(bridge_config()))
    assert [(s.name, str(s.cidr), str(s.endpoint_subnet)) for s in plan.spokes] == [
        ("spoke-1", "10.21.0.0/24", "10.21.0.0/24"),   # the hub's /24 is the whole spoke
        ("spoke-2", "10.22.0.0/22", "10.22.0.0/24")]   # the hub's /24 at the start of a /22
    assert [str(p) for p in plan.azure_prefixes] == ["10.20.0.0/22", "10.21.0.0/24", "10.22.0.0/22"]
    # Every route AWS and the FCR take from Azure carries them, and the budgets count them.
    assert all(s.fcr_advertises == plan.azure_prefixes for s in plan.sessions if s.kind == "aws")
    assert all(s.cloud_advertises == plan.azure_prefixes for s in plan.sessions if s.kind == "azure")
    assert {b.name: b.count for b in plan.budgets}["azure-to-aws"] == 3
    assert {str(r.destination) for r in plan.vpc_routes} == {"10.20.0.0/22", "10.21.0.0/24", "10.22.0.0/22"}
    # Without spokes, nothing changes.
    assert [str(p) for p in plan_bridge(parsed(bridge_config([]))).azure_prefixes] == ["10.20.0.0/22"]


def test_spoke_subnet_length() -> None:
    spec = parsed(bridge_config([{"name": "s", "cidr": "10.21.0.0/22", "endpointSubnetPrefixLength": 26}]))
    assert str(spoke_subnet(spec.azure.endpoint_spokes[0], 24)) == "10.21.0.0/26"
    small = parsed(bridge_config([{"name": "s", "cidr": "10.21.0.0/26"}]))
    assert str(spoke_subnet(small.azure.endpoint_spokes[0], 24)) == "10.21.0.0/26"  # the whole spoke
    assert spoke_lines(bridge_config([{"name": "s", "cidr": "10.21.0.0/24", "endpointSubnetPrefixLength": 24}])) == []
    assert spoke_lines(bridge_config([{"name": "s", "cidr": "10.21.0.0/24", "endpointSubnetPrefixLength": 23}])) == [
        "error: bridge:azure.endpointSpokes[0].endpointSubnetPrefixLength: 23 is shorter than the spoke's cidr "
        "10.21.0.0/24: the endpoint subnet is carved from the spoke (fix: use 24 or longer, or a larger cidr)"]


def test_spoke_names_are_unique() -> None:
    same = [{"name": "a", "cidr": "10.21.0.0/24"}, {"name": "a", "cidr": "10.22.0.0/24"}]
    assert spoke_lines(bridge_config(same)) == [
        'error: bridge:azure.endpointSpokes[1].name: "a" repeats bridge:azure.endpointSpokes[0].name '
        "(fix: give each a different name)"]
    apart = [{"name": "a", "cidr": "10.21.0.0/24"}, {"name": "b", "cidr": "10.22.0.0/24"}]
    assert spoke_lines(bridge_config(apart)) == []


@pytest.mark.parametrize(("cidr", "overlapped"), [
    ("10.20.2.0/24", "bridge:azure.hubCidr (10.20.0.0/22)"),
    ("10.22.1.0/24", "bridge:azure.endpointSpokes[1].cidr (10.22.0.0/22)"),
    ("10.10.5.0/24", "bridge:aws.vpcs[0].cidr (10.10.0.0/16)"),
    ("10.30.0.0/24", "bridge:azure.extraPrefixes[0] (10.30.0.0/16)"),
    ("169.254.100.0/28", "bridge:addressing.awsLinkPool (169.254.100.0/24)"),
    ("192.168.100.0/28", "bridge:addressing.azureLinkPool (192.168.100.0/24)"),
])
def test_spokes_overlap_nothing(cidr: str, overlapped: str) -> None:
    spokes = [*SPOKES, {"name": "spoke-3", "cidr": cidr}]
    lines = [p for p in problems(bridge_config(spokes, extraPrefixes=["10.30.0.0/16"])) if "overlaps" in p]
    # Reported on the spoke, the key being added.
    assert lines == [f'error: bridge:azure.endpointSpokes[2].cidr: "{cidr}" overlaps {overlapped} '
                     "(fix: use non-overlapping address space)"]
    clear = [*SPOKES, {"name": "spoke-3", "cidr": "10.23.0.0/24"}]
    assert [p for p in problems(bridge_config(clear, extraPrefixes=["10.30.0.0/16"])) if "overlaps" in p] == []


def test_hub_peerings_per_vnet(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub takes one peering per spoke; Azure allows 500 per VNet (a smaller limit stands in here)."""
    monkeypatch.setattr(L, "AZURE_VNET_PEERINGS_PER_VNET", 10)

    def spokes(n: int) -> list[dict[str, Any]]:
        return [{"name": f"s{i}", "cidr": f"10.{21 + i}.0.0/24"} for i in range(n)]
    assert spoke_lines(bridge_config(spokes(8))) == []  # 8 of 10: not over 80%
    assert spoke_lines(bridge_config(spokes(9))) == [
        'warning: bridge:azure.endpointSpokes: "9 spokes" use over 80% of the 10 virtual network peerings Azure '
        f"allows per VNet: the hub takes one per spoke ({L.AZURE_NETWORKING_LIMITS_URL}) (fix: plan another bridge "
        "before the hub runs out of peerings)"]
    assert spoke_lines(bridge_config(spokes(10))) != [] and not any(
        p.startswith("error") for p in spoke_lines(bridge_config(spokes(10))))
    assert [p for p in spoke_lines(bridge_config(spokes(11))) if p.startswith("error")] == [
        'error: bridge:azure.endpointSpokes: "11 spokes" exceed the 10 virtual network peerings Azure allows per '
        f"VNet: the hub takes one per spoke ({L.AZURE_NETWORKING_LIMITS_URL}) (fix: put further customers on "
        "another bridge)"]
    assert L.AZURE_NETWORKING_LIMITS_URL.endswith("#networking-limits")


def test_spokes_count_in_the_routes_aws_accepts() -> None:
    """The hub's gateway advertises every spoke toward AWS, which takes 100 routes per transit VIF."""
    def spokes(n: int) -> list[dict[str, Any]]:
        return [{"name": f"s{i}", "cidr": str(ipaddress.IPv4Network((int(ipaddress.IPv4Address("10.100.0.0")) + 256 * i,
                                                                   24)))} for i in range(n)]
    assert [p for p in problems(bridge_config(spokes(79))) if "transit VIF" in p] == []  # 80 routes: 80%
    assert next(p for p in problems(bridge_config(spokes(80))) if "transit VIF" in p).startswith(
        'warning: bridge:azure.endpointSpokes: "81 prefixes" uses over 80% of the limit of 100 Azure prefixes')
    over = [p for p in problems(bridge_config(spokes(100))) if "transit VIF" in p]
    assert over[0].startswith('error: bridge:azure.endpointSpokes: "101 prefixes" exceeds the limit of 100 Azure '
                              "prefixes AWS accepts per transit VIF session (the hub, its endpoint spokes and "
                              "extraPrefixes)")


# --- customers on spokes -------------------------------------------------------------------------------


def _azure(i: int) -> dict[str, Any]:
    return {"name": f"sf{i}", "platform": "snowflake", "cloud": "azure",
            "service": f"sf-pvlinksvc-eastus2.{uuid.UUID(int=i)}.eastus2.azure.privatelinkservice",
            "hostnames": [f"acct{i}-xy{i:05d}.east-us-2.privatelink.snowflakecomputing.com"]}


def _customer(project: Path, cid: str, endpoints: list[dict[str, Any]], spoke: str | None = None) -> None:
    body: dict[str, Any] = {"id": cid, "bridgeStack": "dev", "endpoints": endpoints}
    if spoke is not None:
        body["endpointSpoke"] = spoke
    (project / f"Pulumi.dev.{cid}.yaml").write_text(yaml.safe_dump({"config": {"bridge:customer": body}},
                                                                   sort_keys=False))


def _bridge(project: Path, spokes: list[dict[str, Any]]) -> None:
    path = project / "Pulumi.dev.yaml"
    data = yaml.safe_load(path.read_text())
    data["config"]["bridge:azure"]["endpointSpokes"] = spokes
    data["config"]["bridge:aws"]["route53HostedZoneQuota"] = 100_000  # only the rule under test speaks
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _lines(project: Path, stack: str) -> list[str]:
    try:
        return [w.line() for w in load_stack(project, stack).warnings]
    except ConfigError as exc:
        return [p.line() for p in exc.problems]


def test_a_customer_names_a_spoke_of_its_bridge(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _bridge(project, SPOKES)
    _customer(project, "globex", [_azure(1)], spoke="spoke-2")
    assert _lines(project, "dev.globex") == []
    _customer(project, "globex", [_azure(1)], spoke="spoke-9")
    assert _lines(project, "dev.globex") == [
        'error: bridge:customer.endpointSpoke: "spoke-9" is not an endpoint spoke of bridge dev '
        "(bridge:azure.endpointSpokes in Pulumi.dev.yaml) (fix: use one of spoke-1, spoke-2, or add the spoke to "
        "bridge:azure.endpointSpokes first)"]
    # Bad input: exit 2, the key path, no traceback.
    assert main(["-C", str(project), "validate", "dev.globex"]) == 2
    err = capsys.readouterr().err
    assert "bridge:customer.endpointSpoke" in err and "Traceback" not in err
    # A bridge without spokes says where the endpoints go instead.
    _bridge(project, [])
    assert "(fix: remove it (the endpoints then go in the hub)" in _lines(project, "dev.globex")[0]


def test_each_spoke_counts_its_own_room(project: Path) -> None:
    """A /28 spoke holds 11 private endpoints; the hub's and the other spoke's customers do not count."""
    _bridge(project, [{"name": "small", "cidr": "10.21.0.0/28"}, {"name": "big", "cidr": "10.22.0.0/24"}])
    _customer(project, "one", [_azure(i) for i in range(6)], spoke="small")
    _customer(project, "two", [_azure(i) for i in range(100, 105)], spoke="small")   # 11 in all: full, no error
    _customer(project, "hub", [_azure(i) for i in range(200, 240)])                    # in the hub
    _customer(project, "other", [_azure(i) for i in range(300, 340)], spoke="big")
    errors = [p for p in _lines(project, "dev.two") if p.startswith("error")]
    assert errors == []
    _customer(project, "two", [_azure(i) for i in range(100, 106)], spoke="small")   # 12
    errors = [p for p in _lines(project, "dev.two") if p.startswith("error")]
    assert len(errors) == 1
    assert errors[0].startswith(
        'error: bridge:customer.endpoints: "12 Azure private endpoints" do not fit the endpoint subnet 10.21.0.0/28 '
        "of endpoint spoke small of bridge dev: it holds 11 (16 addresses less the 5 Azure keeps; ")
    assert "shared by its 2 customer stack(s), 6 of them this one's" in errors[0]
    assert "(fix: add a spoke to bridge:azure.endpointSpokes in Pulumi.dev.yaml, then put new customers on it" \
        in errors[0]
    # The hub and the big spoke have room: their customers are fine.
    assert [p for p in _lines(project, "dev.hub") if p.startswith("error")] == []
    assert [p for p in _lines(project, "dev.other") if p.startswith("error")] == []


def test_a_spoke_warns_before_it_fills(project: Path) -> None:
    _bridge(project, [{"name": "small", "cidr": "10.21.0.0/28"}])  # 11 endpoints; 80% is 8.8
    _customer(project, "one", [_azure(i) for i in range(8)], spoke="small")
    assert _lines(project, "dev.one") == []
    _customer(project, "one", [_azure(i) for i in range(9)], spoke="small")
    assert _lines(project, "dev.one") == [
        'warning: bridge:customer.endpoints: "9 Azure private endpoints" use over 80% of the 11 the endpoint subnet '
        f"10.21.0.0/28 of endpoint spoke small of bridge dev holds ({L.AZURE_SUBNET_FAQ_URL}) (fix: before it "
        "fills, add a spoke to bridge:azure.endpointSpokes in Pulumi.dev.yaml, then put new customers on it "
        "(bridge:customer.endpointSpoke; `bridgectl customer add` picks the emptiest))"]


def test_private_endpoints_per_spoke_vnet(project: Path) -> None:
    _bridge(project, [{"name": "wide", "cidr": "10.24.0.0/21", "endpointSubnetPrefixLength": 21}])  # 2,043 addresses
    _customer(project, "many", [_azure(i) for i in range(1000)], spoke="wide")
    assert [p for p in _lines(project, "dev.many") if p.startswith("error")] == []
    _customer(project, "many", [_azure(i) for i in range(1001)], spoke="wide")
    errors = [p for p in _lines(project, "dev.many") if p.startswith("error")]
    assert len(errors) == 1
    assert ('"1001 Azure private endpoints" exceed the 1000 private endpoints Azure allows in one virtual network, '
            "endpoint spoke wide of bridge dev") in errors[0]
    assert L.AZURE_PRIVATE_LINK_LIMITS_URL in errors[0] and "add a spoke to bridge:azure.endpointSpokes" in errors[0]


# --- placement ---------------------------------------------------------------------------------------


def test_placement_picks_the_most_free_room(project: Path) -> None:
    _bridge(project, [])
    bridge = load_stack(project, "dev").spec
    assert isinstance(bridge, BridgeSpec)
    assert choose(bridge, sibling_index(project, bridge)) is None  # no spokes: the hub, as before
    _bridge(project, [{"name": "a", "cidr": "10.21.0.0/26"}, {"name": "b", "cidr": "10.22.0.0/26"}])
    _customer(project, "one", [_azure(i) for i in range(10)], spoke="a")
    _customer(project, "two", [_azure(i) for i in range(100, 105)], spoke="b")
    bridge = load_stack(project, "dev").spec
    assert isinstance(bridge, BridgeSpec)
    index = sibling_index(project, bridge)
    # Room once over the customers: the hub's /24 (251 less acme's 2), a (59 less 10), b (59 less 5).
    assert [(r.spoke, r.free) for r in rooms(bridge, index)] == [(None, 249), ("a", 49), ("b", 54)]
    assert choose(bridge, index) is None
    _customer(project, "three", [_azure(i) for i in range(200, 430)])  # the hub now has 19 free
    index = sibling_index(project, bridge)
    assert choose(bridge, index) == "b"


def test_customer_add_writes_the_spoke(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(ROOT / "__main__.py", project / "__main__.py")
    _bridge(project, [{"name": "spoke-1", "cidr": "10.21.0.0/24"}])
    _customer(project, "big", [_azure(i) for i in range(100)])  # the hub: 149 free, the spoke 251
    code = main(["-C", str(project), "customer", "add", "dev", "globex", "--platform", "snowflake", "--cloud",
                 "azure", "--service", _azure(999)["service"], "--hostname",
                 "globex-ab12345.east-us-2.privatelink.snowflakecomputing.com", "--yes", "--no-plan"])
    _, err = capsys.readouterr()
    assert code == 0, err
    assert "goes in endpoint spoke spoke-1" in err
    written = yaml.safe_load((project / "Pulumi.dev.globex.yaml").read_text())["config"]["bridge:customer"]
    assert written["endpointSpoke"] == "spoke-1"
    # Later growth never moves it: the file says where it is, whatever has room now.
    _bridge(project, [{"name": "spoke-0", "cidr": "10.23.0.0/22", "endpointSubnetPrefixLength": 22},
                      {"name": "spoke-1", "cidr": "10.21.0.0/24"}])
    spec = load_stack(project, "dev.globex").spec
    assert getattr(spec, "endpoint_spoke", None) == "spoke-1"


# --- the program ---------------------------------------------------------------------------------------


def _by_name(plan: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in plan["resources"] if r["name"] == name)


def _depends(plan: dict[str, Any], dependent: str, dependency: str) -> bool:
    return _by_name(plan, dependency)["urn"] in _by_name(plan, dependent)["dependsOn"]


@pytest.fixture(scope="module")
def spoke_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    proj = tmp_path_factory.mktemp("spokes")
    for name in ("Pulumi.yaml", "__main__.py", "Pulumi.dev.yaml", "Pulumi.dev.acme.yaml"):
        shutil.copy(ROOT / name, proj / name)
    _bridge(proj, SPOKES)
    acme = yaml.safe_load((proj / "Pulumi.dev.acme.yaml").read_text())
    acme["config"]["bridge:customer"]["endpointSpoke"] = "spoke-2"
    (proj / "Pulumi.dev.acme.yaml").write_text(yaml.safe_dump(acme, sort_keys=False))
    return proj


@pytest.fixture(scope="module")
def bridge_run(spoke_project: Path) -> dict[str, Any]:
    return offline_plan(spoke_project, "dev")


def test_spoke_resources_and_arguments(bridge_run: dict[str, Any]) -> None:
    plan = bridge_run
    vnet = _by_name(plan, "spoke-spoke-2-vnet")["inputs"]
    assert vnet["virtualNetworkName"] == "vnet-spoke-2-dev"
    assert vnet["addressSpace"] == {"addressPrefixes": ["10.22.0.0/22"]}
    assert _by_name(plan, "spoke-spoke-2-vnet")["protect"] is True
    subnet = _by_name(plan, "spoke-spoke-2-endpoint-subnet")["inputs"]
    assert subnet["addressPrefix"] == "10.22.0.0/24" and subnet["virtualNetworkName"] == "vnet-spoke-2-dev"
    assert subnet["privateEndpointNetworkPolicies"] == "Enabled"
    nsg = _by_name(plan, "spoke-spoke-2-nsg")["inputs"]
    assert nsg["networkSecurityGroupName"] == "nsg-endpoints-spoke-2-dev"
    assert subnet["networkSecurityGroup"]["id"].endswith("/networkSecurityGroups/nsg-endpoints-spoke-2-dev")
    # The hub's endpoint subnet rules, aimed at the spoke's subnet.
    hub_rules = _by_name(plan, "expressroute-nsg")["inputs"]["securityRules"]
    spoke_rules = nsg["securityRules"]
    assert [{**r, "destinationAddressPrefix": "-"} for r in spoke_rules] == [
        {**r, "destinationAddressPrefix": "-"} for r in hub_rules]
    assert spoke_rules[0]["destinationAddressPrefix"] == "10.22.0.0/24"
    hub_side = _by_name(plan, "spoke-spoke-2-hub-peering")["inputs"]
    assert hub_side["virtualNetworkName"] == "vnet-hub-dev"
    assert hub_side["remoteVirtualNetwork"]["id"].endswith("/virtualNetworks/vnet-spoke-2-dev")
    assert (hub_side["allowGatewayTransit"], hub_side["useRemoteGateways"]) == (True, False)
    spoke_side = _by_name(plan, "spoke-spoke-2-peering")["inputs"]
    assert spoke_side["virtualNetworkName"] == "vnet-spoke-2-dev"
    assert spoke_side["remoteVirtualNetwork"]["id"].endswith("/virtualNetworks/vnet-hub-dev")
    assert (spoke_side["allowGatewayTransit"], spoke_side["useRemoteGateways"]) == (False, True)
    assert hub_side["allowVirtualNetworkAccess"] is True and spoke_side["allowVirtualNetworkAccess"] is True


def test_spoke_order_the_clouds_need(bridge_run: dict[str, Any]) -> None:
    plan = bridge_run
    for spoke in ("spoke-1", "spoke-2"):
        p = f"spoke-{spoke}"
        # useRemoteGateways needs the hub's gateway and the hub side allowing transit.
        assert _depends(plan, f"{p}-peering", "expressroute-gateway")
        assert _depends(plan, f"{p}-peering", f"{p}-hub-peering")
        # No peering while a subnet operation updates either VNet.
        assert _depends(plan, f"{p}-hub-peering", f"{p}-endpoint-subnet")
        assert _depends(plan, f"{p}-peering", f"{p}-endpoint-subnet")
        assert _depends(plan, f"{p}-hub-peering", "expressroute-gateway")
        assert not _depends(plan, "expressroute-gateway", f"{p}-peering")
    # Peerings of the hub one after another.
    assert _depends(plan, "spoke-spoke-2-hub-peering", "spoke-spoke-1-hub-peering")
    assert not _depends(plan, "spoke-spoke-1-hub-peering", "spoke-spoke-2-hub-peering")


def test_spoke_prefixes_reach_aws(bridge_run: dict[str, Any]) -> None:
    """The FCR's route filters, the TGW and the VPC routes take the spokes like the hub."""
    names = {r["name"] for r in bridge_run["resources"]}
    for prefix in ("10.21.0.0_24", "10.22.0.0_22"):
        assert f"exchange-filter-azure-{prefix}" in names
        assert any(n.endswith(f"-{prefix}") and n.startswith("backbone-saas-") for n in names)
    spokes = bridge_run["outputs"]["customerAttachment"]["azure"]["endpointSpokes"]
    assert set(spokes) == {"spoke-1", "spoke-2"}
    assert spokes["spoke-2"]["endpointSubnetId"].endswith("/virtualNetworks/vnet-spoke-2-dev/subnets/"
                                                          "snet-private-endpoints")
    assert bridge_run["outputs"]["customerAttachment"]["azure"]["endpointSubnetId"].endswith(
        "/virtualNetworks/vnet-hub-dev/subnets/snet-private-endpoints")


def test_a_customer_on_a_spoke_gets_its_endpoints_there(spoke_project: Path) -> None:
    plan = offline_plan(spoke_project, "dev.acme")
    pes = [r for r in plan["resources"] if r["type"] == "azure-native:network:PrivateEndpoint"]
    assert pes and all(r["inputs"]["subnet"]["id"].endswith("/virtualNetworks/vnet-spoke-2-dev/subnets/"
                                                             "snet-private-endpoints") for r in pes)
    addresses = [v["address"] for v in plan["outputs"]["endpoints"].values()
                 if str(v["address"]).count(".") == 3 and str(v["address"])[0].isdigit()]
    assert addresses and all(ipaddress.IPv4Address(a) in ipaddress.IPv4Network("10.22.0.0/24") for a in addresses)


def test_adding_a_spoke_changes_nothing_that_exists(tmp_path: Path) -> None:
    """A spoke added in the middle of the list: every existing resource keeps its URN and inputs, in the
    bridge and in a customer on another spoke."""
    for name in ("Pulumi.yaml", "__main__.py", "Pulumi.dev.yaml", "Pulumi.dev.acme.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    acme = yaml.safe_load((tmp_path / "Pulumi.dev.acme.yaml").read_text())
    acme["config"]["bridge:customer"]["endpointSpoke"] = "spoke-2"
    (tmp_path / "Pulumi.dev.acme.yaml").write_text(yaml.safe_dump(acme, sort_keys=False))
    _bridge(tmp_path, SPOKES)
    before = {r["urn"]: r["inputs"] for r in offline_plan(tmp_path, "dev")["resources"]}
    customer_before = {r["urn"]: r["inputs"] for r in offline_plan(tmp_path, "dev.acme")["resources"]}
    _bridge(tmp_path, [SPOKES[0], {"name": "spoke-15", "cidr": "10.15.0.0/24"}, SPOKES[1]])
    after = {r["urn"]: r["inputs"] for r in offline_plan(tmp_path, "dev")["resources"]}
    customer_after = {r["urn"]: r["inputs"] for r in offline_plan(tmp_path, "dev.acme")["resources"]}
    assert set(before) < set(after)
    changed = [urn for urn in before if before[urn] != after[urn]]
    # The FCR's Azure route filter describes the planned prefixes; only the lists of prefixes grow.
    assert changed == [], changed
    added = {urn.rsplit("::", 1)[1] for urn in set(after) - set(before)}
    assert {"spoke-spoke-15", "spoke-spoke-15-vnet", "spoke-spoke-15-hub-peering", "spoke-spoke-15-peering",
            "exchange-filter-azure-10.15.0.0_24"} <= added
    assert customer_before == customer_after


# --- the gate and the tables ----------------------------------------------------------------------------


def test_moving_a_customer_between_spokes_is_flagged(tmp_path: Path) -> None:
    def tree(where: Path, spoke: str | None) -> Path:
        where.mkdir()
        for name in ("Pulumi.yaml", "__main__.py", "Pulumi.dev.yaml", "Pulumi.dev.acme.yaml"):
            shutil.copy(ROOT / name, where / name)
        _bridge(where, SPOKES)
        acme = yaml.safe_load((where / "Pulumi.dev.acme.yaml").read_text())
        if spoke is not None:
            acme["config"]["bridge:customer"]["endpointSpoke"] = spoke
        (where / "Pulumi.dev.acme.yaml").write_text(yaml.safe_dump(acme, sort_keys=False))
        return where

    def report(base: Path, head: Path) -> d.DiffReport:
        stacks = ["dev.acme"]
        diffs = d.compare(stacks, d.local_snapshot(base, stacks), d.local_snapshot(head, stacks),
                          {s: d.read_config(base, s) for s in stacks}, {s: d.read_config(head, s) for s in stacks},
                          d.local_replanner(head), d.customers_of(["dev", *stacks]))
        return d.DiffReport("main", "0" * 40, diffs, [], {})

    one = tree(tmp_path / "one", "spoke-1")
    moved = report(one, tree(tmp_path / "two", "spoke-2"))
    kinds = {r.kind for r in moved.all_risks}
    text = d.render_text(moved)
    assert "replace" in kinds, text
    assert "endpoints-snowflake is deleted and created again (subnet.id: a private endpoint stays in the subnet" \
        in text
    assert "must approve the new private endpoint connection" in text and d.verdict(moved) == 1
    assert 'records: ["10.21.0.5"] -> ["10.22.0.5"]' in text  # new addresses, and the names follow
    # From the hub to a spoke: the same.
    from_hub = report(tree(tmp_path / "hub", None), tree(tmp_path / "to-spoke", "spoke-1"))
    assert {r.kind for r in from_hub.all_risks} == {"replace"}
    # Staying put (and the bridge gaining spokes meanwhile) changes nothing.
    same = report(one, tree(tmp_path / "three", "spoke-1"))
    assert not same.all_risks and d.verdict(same) == 0


def test_plan_tables_show_the_spokes(spoke_project: Path) -> None:
    text = bridge_plan_text(plan_bridge(parsed(bridge_config())))
    assert "endpoint spoke spoke-2" in text and "10.22.0.0/22 (endpoint subnet 10.22.0.0/24" in text
    assert "endpoint spoke" not in bridge_plan_text(plan_bridge(parsed(bridge_config([]))))
    acme = load_stack(spoke_project, "dev.acme").spec
    bridge = load_stack(spoke_project, "dev").spec
    assert isinstance(acme, CustomerSpec) and isinstance(bridge, BridgeSpec)
    assert "endpoint subnet of spoke spoke-2" in customer_plan_text(plan_customer(acme, bridge))
    hub = CustomerSpec(**{**acme.__dict__, "endpoint_spoke": None})
    assert "hub endpoint subnet" in customer_plan_text(plan_customer(hub, bridge))


def test_the_twin_carries_the_spokes() -> None:
    """The twin's ExpressRoute gateway originates each spoke's prefix, and the AWS side must learn it
    (the twin's expectations; the FRR run itself is tests/test_twin.py's)."""
    from twin.render import build_lab, expected_routes

    lab = build_lab(plan_bridge(parsed(bridge_config())))
    assert lab.azure_prefixes == ("10.20.0.0/22", "10.21.0.0/24", "10.22.0.0/22")
    assert {"10.21.0.0/24", "10.22.0.0/22"} <= set(expected_routes(lab)["tgw"])
    without = build_lab(plan_bridge(parsed(bridge_config([]))))
    assert "10.21.0.0/24" not in set(expected_routes(without)["tgw"])


def test_the_vnet_limit_warns_when_the_subnet_is_larger(project: Path) -> None:
    _bridge(project, [{"name": "wide", "cidr": "10.24.0.0/21", "endpointSubnetPrefixLength": 21}])  # 2,043 addresses
    _customer(project, "many", [_azure(i) for i in range(800)], spoke="wide")
    assert _lines(project, "dev.many") == []
    _customer(project, "many", [_azure(i) for i in range(801)], spoke="wide")
    assert _lines(project, "dev.many") == [
        'warning: bridge:customer.endpoints: "801 Azure private endpoints" use over 80% of the 1000 private endpoints '
        f"Azure allows in one virtual network, endpoint spoke wide of bridge dev ({L.AZURE_PRIVATE_LINK_LIMITS_URL}) "
        "(fix: before it fills, add a spoke to bridge:azure.endpointSpokes in Pulumi.dev.yaml, then put new customers "
        "on it (bridge:customer.endpointSpoke; `bridgectl customer add` picks the emptiest))"]


def test_adding_a_spoke_passes_the_gate(tmp_path: Path) -> None:
    """The pull request that adds a spoke: only additions, no risk, and the customers unchanged."""
    def tree(where: Path, spokes: list[dict[str, Any]]) -> Path:
        where.mkdir()
        for name in ("Pulumi.yaml", "__main__.py", "Pulumi.dev.yaml", "Pulumi.dev.acme.yaml"):
            shutil.copy(ROOT / name, where / name)
        _bridge(where, spokes)
        return where

    base, head = tree(tmp_path / "base", []), tree(tmp_path / "head", SPOKES[:1])
    stacks = ["dev", "dev.acme"]
    diffs = d.compare(stacks, d.local_snapshot(base, stacks), d.local_snapshot(head, stacks),
                      {s: d.read_config(base, s) for s in stacks}, {s: d.read_config(head, s) for s in stacks},
                      d.local_replanner(head), d.customers_of(stacks))
    report = d.DiffReport("main", "0" * 40, diffs, [], {})
    text = d.render_text(report)
    assert not report.all_risks and d.verdict(report) == 0, text
    assert "== dev (bridge, changed): 7 to add, 0 to change, 0 to replace, 0 to delete; 0 risks" in text, text
    for added in ("azure-native:network:VirtualNetwork  spoke-spoke-1-vnet",
                  "azure-native:network:VirtualNetworkPeering  spoke-spoke-1-hub-peering",
                  "azure-native:network:VirtualNetworkPeering  spoke-spoke-1-peering",
                  "equinix:fabric/routeFilterRule:RouteFilterRule  exchange-filter-azure-10.21.0.0_24"):
        assert f"+ {added}" in text, text
    assert "== dev.acme (customer, unchanged): 0 to add, 0 to change, 0 to replace, 0 to delete" in text


def test_the_diagram_draws_the_spokes(spoke_project: Path) -> None:
    from bridgectl.diagram import stack_dot

    bridge = stack_dot(spoke_project, "dev")
    assert "Endpoint spoke spoke-2 10.22.0.0/22" in bridge and "peering, gateway transit" in bridge
    assert "endpoint subnet of spoke spoke-2\\n10.22.0.0/24" in stack_dot(spoke_project, "dev.acme")
