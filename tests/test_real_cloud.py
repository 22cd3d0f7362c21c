"""What the real clouds would refuse, checked over the whole program under mocks: the hosted
connection taken from the exchange (never looked up by name), providers pinned to the SaaS account
and the bridge's subscription, route filters attached after their rules, diverse AWS connections,
the AWS service profile, and the SaaS VPCs read before anything is registered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_program import _project, by_name, depends, of_type

from bridgectl.offline import MockContext, offline_plan, run_program
from stacks.loader import load_stack
from stacks.plan import plan_bridge
from stacks.problems import ConfigError
from stacks.spec import BridgeSpec


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _project(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def plans(project: Path) -> dict[str, dict[str, Any]]:
    return {s: offline_plan(project, s) for s in ("dev", "dev.acme", "solo")}


def run_bridge(project: Path, stack: str = "dev", **ctx: Any) -> list[dict[str, str]]:
    """Run the bridge program with a mock context changed as given; return its messages."""
    loaded = load_stack(project, stack)
    spec = loaded.spec
    assert isinstance(spec, BridgeSpec)
    context = MockContext(stack=stack, subscription=spec.azure_subscription_id, account=spec.aws.account_id,
                          region=spec.aws_region, fcr_asn=plan_bridge(spec).fcr_asn, **ctx)
    return run_program(project, stack, dict(loaded.config), context).messages


# --- 1. hosted-connection identity ---------------------------------------------------------------


def test_hosted_connection_comes_from_the_equinix_connection(plans: dict[str, dict[str, Any]]) -> None:
    dev = plans["dev"]
    hosted = dev["outputs"]["hostedConnections"]
    assert set(hosted) == {"fcr-a", "fcr-b"}
    for router, out in hosted.items():
        conn = f"exchange-dev-{router}-aws"
        confirm = by_name(dev, f"directconnect-{router}-confirm")
        vif = by_name(dev, f"directconnect-{router}-vif")
        assert out["equinixConnection"] == f"dev-{router}-aws"
        assert confirm["inputs"]["connectionId"] == out["connectionId"] and out["connectionId"].startswith("dxcon-")
        assert vif["inputs"]["connectionId"] == out["connectionId"] and vif["inputs"]["vlan"] == out["vlan"]
        # The dependency is on the Equinix connection itself: no lookup that could run before it exists.
        assert depends(dev, f"directconnect-{router}-confirm", conn)
        assert depends(dev, f"directconnect-{router}-vif", f"directconnect-{router}-confirm")
    # Each session's VLAN in the table is the one the VIF uses.
    vlans = {s["router"]: s["vlan"] for s in dev["outputs"]["bgpSessions"] if s["id"].endswith("/aws")}
    assert vlans == {r: h["vlan"] for r, h in hosted.items()}


def test_nothing_is_looked_up_by_name(project: Path) -> None:
    calls: list[str] = []
    from bridgectl import offline

    original = offline.fake_call

    def recording(ctx: MockContext, token: str, args: dict[str, Any]) -> Any:
        calls.append(token)
        return original(ctx, token, args)

    offline.fake_call = recording
    try:
        run_bridge(project)
    finally:
        offline.fake_call = original
    assert "aws:directconnect/getConnection:getConnection" not in calls
    assert "aws:index/getCallerIdentity:getCallerIdentity" in calls and "aws:ec2/getVpc:getVpc" in calls


# --- 2. pinned accounts --------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "dev.acme"])
def test_providers_are_pinned(plans: dict[str, dict[str, Any]], stack: str) -> None:
    providers = {r["name"]: r["inputs"] for r in of_type(plans[stack], "") if r["type"].startswith("pulumi:providers:")}
    assert providers["aws"]["allowedAccountIds"] in ('["111122223333"]', ["111122223333"])
    assert providers["azure-native"]["subscriptionId"] == "00000000-0000-0000-0000-000000000000"


def test_credentials_for_another_account_stop_before_anything_is_created(project: Path) -> None:
    with pytest.raises(ConfigError) as info:
        run_bridge(project, credentials_account="999988887777")
    text = " ".join(p.line() for p in info.value.problems)
    assert "999988887777" in text and "111122223333" in text and "bridge:aws.accountId" in text


def circuit_read_fails(monkeypatch: pytest.MonkeyPatch, error: str) -> None:
    from bridgectl import offline

    original = offline.fake_call

    def failing(ctx: MockContext, token: str, args: dict[str, Any]) -> Any:
        if token == "azure-native:network:getExpressRouteCircuit":
            return {}, [("circuitName", error)]  # how the engine reports a failed invoke
        return original(ctx, token, args)

    monkeypatch.setattr(offline, "fake_call", failing)


def test_azure_credentials_without_the_subscription_stop_the_run(project: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    circuit_read_fails(monkeypatch, "AuthorizationFailed: the client does not have authorization to perform action")
    with pytest.raises(ConfigError) as info:
        run_bridge(project)
    text = " ".join(p.line() for p in info.value.problems)
    assert "do not reach subscription 00000000-0000-0000-0000-000000000000" in text and "rg-bridge-dev" in text


def test_missing_resource_group_is_a_first_run(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The bridge creates its resource group: not finding it is not a credentials problem.
    circuit_read_fails(monkeypatch, "ResourceGroupNotFound: Resource group 'rg-bridge-dev' could not be found.")
    messages = run_bridge(project)
    assert not [m for m in messages if m["severity"] == "error"]
    assert any("not created yet" in m["message"] for m in messages)


def test_customer_stack_checks_the_account_too(project: Path) -> None:
    bridge = load_stack(project, "dev")
    assert isinstance(bridge.spec, BridgeSpec)
    bridge_run = run_program(project, "dev", dict(bridge.config), MockContext(
        stack="dev", account="111122223333", fcr_asn=plan_bridge(bridge.spec).fcr_asn))
    customer = load_stack(project, "dev.acme")
    ctx = MockContext(stack="dev.acme", account="111122223333", credentials_account="999988887777")
    ctx.stack_references["organization/bridge/dev"] = bridge_run.raw_outputs
    with pytest.raises(ConfigError) as info:
        run_program(project, "dev.acme", dict(customer.config), ctx)
    assert "not 111122223333" in " ".join(p.line() for p in info.value.problems)


# --- 3. route filters in the order Equinix needs --------------------------------------------------


def test_filter_attachments_wait_for_every_rule(plans: dict[str, dict[str, Any]]) -> None:
    dev = plans["dev"]
    rules = of_type(dev, "routeFilterRule:RouteFilterRule")
    filters = {r["urn"]: r["inputs"]["name"] for r in of_type(dev, "routeFilter:RouteFilter")}
    assert rules and all(r["inputs"]["name"] == f"{r['inputs']['name'].split('-')[0]}-"
                         f"{r['inputs']['prefix'].replace('/', '-')}" for r in rules)
    for attachment in of_type(dev, "connectionRouteFilter:ConnectionRouteFilter"):
        filter_urn = next(u for u in attachment["dependsOn"] if u in filters)
        mine = [r for r in rules if filter_urn in r["dependsOn"]]
        assert mine and all(r["urn"] in attachment["dependsOn"] for r in mine), attachment["name"]
    for bgp in (r for r in of_type(dev, "routingProtocol:RoutingProtocol") if r["inputs"]["type"] == "BGP"):
        conn = bgp["name"].removeprefix("exchange-").removesuffix("-bgp")
        for direction in ("inbound", "outbound"):
            assert depends(dev, bgp["name"], f"exchange-{conn}-{direction}")


# --- 4. diverse AWS connections --------------------------------------------------------------------


def test_second_aws_connection_is_the_secondary(plans: dict[str, dict[str, Any]]) -> None:
    dev = plans["dev"]
    primary = by_name(dev, "exchange-dev-fcr-a-aws")["inputs"]["redundancy"]
    secondary = by_name(dev, "exchange-dev-fcr-b-aws")["inputs"]["redundancy"]
    assert primary == {"priority": "PRIMARY"}
    assert secondary["priority"] == "SECONDARY" and secondary["group"]
    assert depends(dev, "exchange-dev-fcr-b-aws", "exchange-dev-fcr-a-aws")
    devices = [h["awsDevice"] for h in dev["outputs"]["hostedConnections"].values()]
    assert all(devices) and len(set(devices)) == 2
    # One router: one AWS connection, the primary.
    solo = [r for r in of_type(plans["solo"], "fabric/connection:Connection") if r["name"].endswith("-aws")]
    assert [r["inputs"]["redundancy"] for r in solo] == [{"priority": "PRIMARY"}]


# --- 5. the AWS service profile ---------------------------------------------------------------------


def test_aws_profile_at_one_gbps_is_the_fcr_profile(project: Path, plans: dict[str, dict[str, Any]]) -> None:
    loaded = load_stack(project, "dev")
    assert isinstance(loaded.spec, BridgeSpec) and loaded.spec.exchange.bandwidth_mbps >= 1000
    from bridgectl.offline import _uuid

    aws_conn = by_name(plans["dev"], "exchange-dev-fcr-a-aws")["inputs"]["zSide"]["accessPoint"]
    assert aws_conn["profile"]["uuid"] == _uuid("profile", "AWS Direct Connect")


def test_empty_profile_lookup_names_profile_and_metro(project: Path) -> None:
    with pytest.raises(ConfigError) as info:
        run_bridge(project, service_profiles={"AWS Direct Connect": []})
    text = " ".join(p.line() for p in info.value.problems)
    assert 'no service profile named "AWS Direct Connect"' in text and "metro DC" in text


def test_profile_without_the_bandwidth_is_refused(project: Path) -> None:
    profile = {"uuid": "p-1", "name": "AWS Direct Connect", "metros": [{"code": "DC"}],
               "accessPointTypeConfigs": [{"type": "COLO", "uuid": "x", "supportedBandwidths": [50, 100, 500]}]}
    with pytest.raises(ConfigError) as info:
        run_bridge(project, service_profiles={"AWS Direct Connect": [profile]})
    assert "does not offer 1000 Mbps" in " ".join(p.line() for p in info.value.problems)


# --- 7. VPC prerequisites ----------------------------------------------------------------------------


@pytest.mark.parametrize(("attribute", "named"), [("enableDnsSupport", "DNS support"),
                                                  ("enableDnsHostnames", "DNS hostnames")])
def test_vpc_without_dns_stops_the_program(project: Path, attribute: str, named: str) -> None:
    with pytest.raises(ConfigError) as info:
        run_bridge(project, vpc_attributes={"vpc-0a1b2c3d4e5f60718": {attribute: False}})
    text = " ".join(p.line() for p in info.value.problems)
    assert "vpc-0a1b2c3d4e5f60718" in text and f"{named} off" in text and "bridge:aws.vpcs[0].vpcId" in text
    assert "modify-vpc-attribute" in text


def test_ready_vpcs_pass(project: Path) -> None:
    messages = run_bridge(project, vpc_attributes={"vpc-0a1b2c3d4e5f60718": {"enableDnsSupport": True}})
    assert not [m for m in messages if m["severity"] == "error"]
