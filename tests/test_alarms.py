"""The bridge's alarms (components/alarms.py) in the whole program under mocks: every metric, dimension
and threshold traced back to the plan and the stack, each routing target, and the switches that turn
them off or send them elsewhere."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridgectl.offline import offline_plan
from components.alarms import BACKUP_IN_USE_BYTES, UTILISATION_WARNING, action_group_short_name
from stacks.loader import load_stack
from stacks.plan import plan_bridge
from stacks.problems import ConfigError
from stacks.spec import BridgeSpec

ROOT = Path(__file__).resolve().parent.parent


def _project(tmp: Path, alarms: dict[str, Any] | None = None, **extra: Any) -> Path:
    for name in ("Pulumi.yaml", "__main__.py", "Pulumi.dev.yaml"):
        shutil.copy(ROOT / name, tmp / name)
    if alarms is not None or extra:
        path = tmp / "Pulumi.dev.yaml"
        data = yaml.safe_load(path.read_text())
        if alarms is not None:
            data["config"]["bridge:alarms"] = alarms
        data["config"].update(extra)
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    return tmp


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return offline_plan(_project(tmp_path_factory.mktemp("dev")), "dev")


def of_type(plan: dict[str, Any], suffix: str) -> list[dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"].endswith(suffix)]


def by_name(plan: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in plan["resources"] if r["name"] == name)


def test_cloudwatch_alarms_watch_each_hosted_connection_and_transit_vif(dev: dict[str, Any]) -> None:
    spec = load_stack(ROOT, "dev").spec
    assert isinstance(spec, BridgeSpec)
    alarms = [a for a in of_type(dev, "metricAlarm:MetricAlarm") if a["inputs"]["namespace"] == "AWS/DX"]
    assert len(alarms) == 3 * len(spec.exchange.routers)
    topic = by_name(dev, "alarms-topic")["inputs"]
    arn = dev["outputs"]["alarms"]["snsTopicArn"]
    assert arn.endswith(f":{topic['name']}")
    for router in ("fcr-a", "fcr-b"):
        hosted = dev["outputs"]["hostedConnections"][router]["connectionId"]
        vif = dev["outputs"]["transitVifIds"][router]
        down = by_name(dev, f"alarms-{router}-dx-connection-down")["inputs"]
        assert (down["namespace"], down["metricName"], down["dimensions"]) == ("AWS/DX", "ConnectionState",
                                                                              {"ConnectionId": hosted})
        assert (down["statistic"], down["comparisonOperator"], down["threshold"]) == ("Minimum", "LessThanThreshold", 1)
        assert down["period"] == 300 and down["treatMissingData"] == "breaching"
        silent = by_name(dev, f"alarms-{router}-vif-silent")["inputs"]
        assert silent["metricName"] == "VirtualInterfaceBpsIngress"
        assert silent["dimensions"] == {"ConnectionId": hosted, "VirtualInterfaceId": vif}
        busy = by_name(dev, f"alarms-{router}-vif-busy")["inputs"]
        assert busy["metricName"] == "VirtualInterfaceBpsEgress"
        assert busy["threshold"] == int(spec.exchange.bandwidth_mbps * 1_000_000 * UTILISATION_WARNING)
        for a in (down, silent, busy):
            assert a["alarmActions"] == [arn] and a["okActions"] == [arn]
            assert "docs/runbook-network.md#alarm-" in a["alarmDescription"]
    emails = sorted(r["inputs"]["endpoint"] for r in of_type(dev, "topicSubscription:TopicSubscription"))
    assert emails == sorted(spec.exchange.notification_emails)


def test_azure_alerts_watch_each_peering_and_the_gateways_learned_routes(dev: dict[str, Any]) -> None:
    spec = load_stack(ROOT, "dev").spec
    assert isinstance(spec, BridgeSpec)
    plan = plan_bridge(spec)
    group = by_name(dev, "alarms-action-group")["inputs"]
    assert group["groupShortName"] == action_group_short_name("dev") and len(group["groupShortName"]) <= 12
    assert [r["emailAddress"] for r in group["emailReceivers"]] == list(spec.exchange.notification_emails)
    circuit = dev["outputs"]["expressRouteCircuitId"]
    gateway = dev["outputs"]["expressRouteGatewayId"]
    alerts = {r["name"]: r["inputs"] for r in of_type(dev, "monitor:MetricAlert")}
    assert set(alerts) == {"alarms-er-bgp-availability", "alarms-er-arp-availability", "alarms-ergw-routes-learned",
                           "alarms-vpngw-bgp-peer-down"}
    for name, metric in (("alarms-er-bgp-availability", "BgpAvailability"),
                         ("alarms-er-arp-availability", "ArpAvailability")):
        a = alerts[name]
        assert a["scopes"] == [circuit] and a["targetResourceType"] == "Microsoft.Network/expressRouteCircuits"
        (c,) = a["criteria"]["allOf"]
        assert (c["metricName"], c["timeAggregation"], c["operator"], c["threshold"]) == (metric, "Average",
                                                                                        "LessThan", 100)
        assert {d["name"]: d["values"] for d in c["dimensions"]} == {"PeeringType": ["*"], "Peer": ["*"]}
    g = alerts["alarms-ergw-routes-learned"]
    assert g["scopes"] == [gateway]
    (c,) = g["criteria"]["allOf"]
    assert c["metricName"] == "ExpressRouteGatewayCountOfRoutesLearnedFromPeer"
    assert c["threshold"] == len(plan.aws_prefixes) and c["timeAggregation"] == "Maximum"
    assert [d["name"] for d in c["dimensions"]] == ["BgpPeerAddress"]
    for a in alerts.values():
        assert a["actions"] == [{"actionGroupId": dev["outputs"]["alarms"]["actionGroupId"]}]


def test_the_backup_vpn_is_watched_on_both_clouds(dev: dict[str, Any], tmp_path: Path) -> None:
    arn = dev["outputs"]["alarms"]["snsTopicArn"]
    vpns = dev["outputs"]["vpnBackup"]["vpnConnectionIds"]
    assert len(vpns) == 2
    for i, vpn_id in enumerate(vpns, start=1):
        down = by_name(dev, f"alarms-backup-vpn{i}-tunnel-down")["inputs"]
        assert (down["namespace"], down["metricName"], down["dimensions"]) == ("AWS/VPN", "TunnelState",
                                                                              {"VpnId": vpn_id})
        assert (down["statistic"], down["comparisonOperator"], down["threshold"]) == ("Minimum", "LessThanThreshold", 1)
        assert down["treatMissingData"] == "breaching"
        used = by_name(dev, f"alarms-backup-vpn{i}-in-use")["inputs"]
        assert (used["metricName"], used["statistic"], used["comparisonOperator"]) == ("TunnelDataOut", "Sum",
                                                                                      "GreaterThanThreshold")
        assert used["threshold"] == BACKUP_IN_USE_BYTES and used["treatMissingData"] == "notBreaching"
        for a in (down, used):
            assert a["alarmActions"] == [arn] and "docs/runbook-network.md#alarm-backup-" in a["alarmDescription"]
    gateway = by_name(dev, "backup-gateway")["inputs"]["virtualNetworkGatewayName"]
    peer = by_name(dev, "alarms-vpngw-bgp-peer-down")["inputs"]
    (scope,) = peer["scopes"]
    assert scope.endswith(f"/virtualNetworkGateways/{gateway}") and peer["severity"] == 2
    (c,) = peer["criteria"]["allOf"]
    assert (c["metricName"], c["operator"], c["threshold"]) == ("BgpPeerStatus", "LessThan", 1)
    assert [d["name"] for d in c["dimensions"]] == ["BgpPeerAddress", "Instance"]
    # Without the backup, none of its alarms.
    project = _project(tmp_path)
    path = project / "Pulumi.dev.yaml"
    data = yaml.safe_load(path.read_text())
    del data["config"]["bridge:vpnBackup"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    plain = offline_plan(project, "dev")
    names = {r["name"] for r in plain["resources"]}
    assert not {n for n in names if "backup" in n or "vpngw" in n}


def test_equinix_stream_attaches_every_router_and_connection_with_an_alert_rule_each(dev: dict[str, Any]) -> None:
    stream = by_name(dev, "alarms-stream")["inputs"]
    assert stream["type"] == "TELEMETRY_STREAM"
    assert stream["project"] == {"projectId": load_stack(ROOT, "dev").spec.exchange.project_id}  # type: ignore[union-attr]
    attached = {(r["inputs"]["asset"], r["inputs"]["assetId"])
                for r in of_type(dev, "streamAttachment:StreamAttachment")}
    routers = {("routers", i) for i in dev["outputs"]["cloudRouterIds"].values()}
    connections = {("connections", i) for i in dev["outputs"]["equinixConnectionIds"].values()}
    assert attached == routers | connections
    rules = of_type(dev, "streamAlertRule:StreamAlertRule")
    assert {r["inputs"]["resourceSelector"]["includes"][0] for r in rules} == {
        f"*/connections/{i}" for i in dev["outputs"]["equinixConnectionIds"].values()}
    for r in rules:
        assert r["inputs"]["metricSelector"] == {"includes": ["equinix.fabric.connection.bandwidth_rx.usage"]}
        assert r["inputs"]["detectionMethod"]["operand"] == "ABOVE"
        assert int(r["inputs"]["detectionMethod"]["warningThreshold"]) == 800  # 80% of 1000 Mbps
    # No sink configured: no subscription (Equinix's own e-mails to notificationEmails still go out).
    assert of_type(dev, "streamSubscription:StreamSubscription") == []


def test_alarms_can_be_turned_off(tmp_path: Path) -> None:
    plan = offline_plan(_project(tmp_path, {"enabled": False}), "dev")
    assert [r for r in plan["resources"] if r["name"].startswith("alarms")] == []
    assert "alarms" not in plan["outputs"]


def test_existing_targets_replace_the_bridges_own(tmp_path: Path) -> None:
    topic = "arn:aws:sns:us-east-1:111122223333:oncall"
    group = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-ops/providers/"
             "microsoft.insights/actionGroups/oncall")
    plan = offline_plan(_project(tmp_path, {"snsTopicArn": topic, "actionGroupId": group,
                                            "emails": ["oncall@example.com"]}), "dev")
    assert of_type(plan, "sns/topic:Topic") == [] and of_type(plan, "monitor:ActionGroup") == []
    assert {tuple(r["inputs"]["alarmActions"]) for r in of_type(plan, "metricAlarm:MetricAlarm")} == {(topic,)}
    assert {r["inputs"]["actions"][0]["actionGroupId"] for r in of_type(plan, "monitor:MetricAlert")} == {group}


def test_an_equinix_sink_gets_a_subscription_whose_uri_stays_secret(tmp_path: Path) -> None:
    plan = offline_plan(_project(tmp_path, {"equinixSink": {"type": "SLACK"}},
                                 **{"bridge:alarmSinkUri": {"secure": "v1:recorded"}}), "dev")
    (sub,) = of_type(plan, "streamSubscription:StreamSubscription")
    assert sub["inputs"]["sink"] == "[secret]"
    assert "equinix.fabric.connection_bgpipv4_session.status.*" in sub["inputs"]["eventSelector"]["includes"]


@pytest.mark.parametrize(("alarms", "extra", "message"), [
    ({"equinixSink": {"type": "SLACK"}}, {}, "bridge:alarmSinkUri: is required when bridge:alarms.equinixSink is set"),
    ({"snsTopicArn": "oncall"}, {}, 'bridge:alarms.snsTopicArn: "oncall" is not an SNS topic ARN'),
    ({"emails": ["not-an-email"]}, {}, "is not an email address"),
    ({"equinixSink": {"type": "EMAIL"}}, {"bridge:alarmSinkUri": {"secure": "x"}},
     'bridge:alarms.equinixSink.type: "EMAIL" is not one of WEBHOOK, SLACK, TEAMS'),
    ({}, {"bridge:alarmSinkUri": "https://hooks.example.com/T0/B0/x"},
     'bridge:alarmSinkUri: "[redacted]" is in clear text'),
])
def test_bad_alarm_settings_are_refused_with_the_fix(tmp_path: Path, alarms: dict[str, Any], extra: dict[str, Any],
                                                     message: str) -> None:
    project = _project(tmp_path, alarms, **extra)
    with pytest.raises(ConfigError) as err:
        load_stack(project, "dev")
    assert any(message in p.line("Pulumi.dev.yaml") for p in err.value.problems), err.value.problems


def test_the_policy_pack_refuses_a_bridge_without_its_alarms(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from bridgectl.cli import main

    on, off = tmp_path / "on", tmp_path / "off"
    on.mkdir()
    off.mkdir()
    assert main(["-C", str(_project(on)), "check", "dev"]) == 0
    assert main(["-C", str(_project(off, {"enabled": False})), "check", "dev"]) == 1
    out = capsys.readouterr().out
    assert "[bridge-watched] directconnect-fcr-a-vif: no CloudWatch alarm on this transit VIF's traffic" in out
    assert "[bridge-watched] expressroute-circuit: no Azure Monitor alert on the circuit's ArpAvailability" in out
    assert "[bridge-watched] exchange-dev-fcr-a-aws: not attached to an Equinix Fabric stream" in out


def test_a_second_circuit_is_watched_like_the_first(tmp_path: Path) -> None:
    for name in ("Pulumi.yaml", "__main__.py", "Pulumi.prod.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    prod = offline_plan(tmp_path, "prod")
    circuits = {"erc-prod": prod["outputs"]["expressRouteCircuitId"],
                "erc-prod-2": prod["outputs"]["secondExpressRouteCircuitId"]}
    assert len(set(circuits.values())) == 2
    alerts = {r["name"]: r["inputs"] for r in of_type(prod, "monitor:MetricAlert")}
    assert set(alerts) == {"alarms-er-bgp-availability", "alarms-er-arp-availability", "alarms-er2-bgp-availability",
                           "alarms-er2-arp-availability", "alarms-ergw-routes-learned"}
    for prefix, circuit in (("er", "erc-prod"), ("er2", "erc-prod-2")):
        for metric in ("bgp", "arp"):
            assert alerts[f"alarms-{prefix}-{metric}-availability"]["scopes"] == [circuits[circuit]]
    assert "second circuit" in alerts["alarms-er2-bgp-availability"]["description"]
    assert "second circuit" not in alerts["alarms-er-bgp-availability"]["description"]
