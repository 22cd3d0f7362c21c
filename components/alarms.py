"""BridgeAlarms: the bridge watches itself, on all three clouds, with thresholds from the plan.

Past the clouds' API bubble no provider's operations centre watches the BGP sessions between AWS,
the exchange and Azure; these alarms do. Each is a metric the provider publishes itself, read with
the provider's own alerting, and routed to one place per cloud:

AWS (an SNS topic, e-mail subscriptions; or an existing topic from ``bridge:alarms.snsTopicArn``)
    * per hosted connection: ``AWS/DX`` ``ConnectionState`` (1 up, 0 down; dimension
      ``ConnectionId``; also published in a hosted connection's account), Minimum < 1;
    * per transit VIF: ``VirtualInterfaceBpsIngress`` (dimensions ``ConnectionId`` and
      ``VirtualInterfaceId``) at 0 for three periods: not even BGP keepalives arrive, so the session
      is down; and ``VirtualInterfaceBpsEgress`` above 80% of the connection's bandwidth.
      Direct Connect publishes every 5 minutes, so the period is 300 s.
      Source: AWS Direct Connect User Guide, "Monitor with Amazon CloudWatch"
      (https://docs.aws.amazon.com/directconnect/latest/UserGuide/monitoring-cloudwatch.html).

Azure (an action group with e-mail receivers; or ``bridge:alarms.actionGroupId``)
    * the circuit (``Microsoft.Network/expressRouteCircuits``): ``BgpAvailability`` and
      ``ArpAvailability`` (Percent, Average, dimensions ``PeeringType`` and ``Peer``, PT1M), below
      100% over 5 minutes, split by both dimensions (``*``) so each peering's primary and secondary
      session is its own time series and its own alert;
    * the gateway (``Microsoft.Network/virtualNetworkGateways``):
      ``ExpressRouteGatewayCountOfRoutesLearnedFromPeer`` (Count, Maximum, dimension
      ``BgpPeerAddress``, PT5M) below the plan's AWS prefix count, per BGP peer.
      Source: "Azure ExpressRoute monitoring data reference"
      (https://learn.microsoft.com/azure/expressroute/monitor-expressroute-reference).

The IPsec backup (``bridge:vpnBackup``), when the bridge has one:
    * AWS, per VPN connection: ``AWS/VPN`` ``TunnelState`` (dimension ``VpnId``; 1 when every tunnel's
      BGP session is established, "values between 0 and 1 indicate at least one tunnel is not UP"),
      Minimum < 1 for 5 minutes: the backup is degraded while nothing needs it yet; and
      ``TunnelDataOut`` (bytes sent through the tunnels, Sum per 5 minutes) above
      ``BACKUP_IN_USE_BYTES``: the backup carries traffic, so every private path is down or withdrawn.
      Source: "Monitor your Site-to-Site VPN tunnels using Amazon CloudWatch"
      (https://docs.aws.amazon.com/vpn/latest/s2svpn/monitoring-cloudwatch-vpn.html).
    * Azure, the VPN gateway: ``BgpPeerStatus`` (Count, Average, dimensions ``BgpPeerAddress`` and
      ``Instance``, PT5M) below 1, split per peer: a tunnel's BGP session is down. Source: Azure Monitor
      "Supported metrics for microsoft.network/virtualnetworkgateways"
      (https://learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-network-virtualnetworkgateways-metrics).

Equinix (a Fabric stream with every router and connection attached; a subscription when
``bridge:alarms.equinixSink`` names one)
    * per connection: a stream alert rule on ``equinix.fabric.connection.bandwidth_rx.usage``
      (warning at 80%, critical at 95% of the connection's bandwidth, in Mbps);
    * the subscription carries the connections' status events, the BGP session events
      (``equinix.fabric.connection_bgpipv4_session.status.*``), the routing protocols' state events
      and the routers' state events. Event and metric names: equinix/equinix-cloudevents README;
      the alert rule's metric names and operands: equinix/equinix-sdk-python
      ``services/fabricv4/docs/StreamAlertRuleMetricName.md`` and ``AlertRulePostRequestOperand.md``.
      Fabric has no e-mail sink; without a configured sink Equinix's own e-mails to
      ``bridge:exchange.notificationEmails`` (set on every router and connection) still go out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure_native
from pulumi_equinix import fabric

from ._common import child, merged_tags

# AWS/DX metrics arrive every 5 minutes (monitoring-cloudwatch.html).
DX_PERIOD_S = 300
# Silence on a transit VIF for this many periods means not even keepalives cross it.
DX_SILENT_PERIODS = 3
# Share of a connection's bandwidth above which its traffic raises an alarm (AWS and Equinix alike).
UTILISATION_WARNING = 0.80
UTILISATION_CRITICAL = 0.95
# Azure: circuit availability below this over the window is a session or ARP loss.
AZURE_AVAILABILITY_PERCENT = 100
AZURE_CIRCUIT_WINDOW = "PT5M"
AZURE_CIRCUIT_FREQUENCY = "PT1M"
# The gateway metric's finest time grain is PT5M.
AZURE_GATEWAY_WINDOW = "PT5M"
AZURE_GATEWAY_FREQUENCY = "PT5M"
EQUINIX_WINDOW = "PT15M"

# The backup VPN: BGP keepalives every 10 s and their ESP overhead stay far below this per 5 minutes, any
# real traffic far above it. Above it the backup is carrying traffic.
BACKUP_IN_USE_BYTES = 1_000_000
VPN_PERIOD_S = 300

CIRCUIT_NAMESPACE = "Microsoft.Network/expressRouteCircuits"
GATEWAY_NAMESPACE = "Microsoft.Network/virtualNetworkGateways"
LEARNED_ROUTES_METRIC = "ExpressRouteGatewayCountOfRoutesLearnedFromPeer"
CONNECTION_RX_METRIC = "equinix.fabric.connection.bandwidth_rx.usage"
EQUINIX_EVENTS = (
    "equinix.fabric.connection.status.*",
    "equinix.fabric.connection.state.*",
    "equinix.fabric.connection_bgpipv4_session.status.*",
    "equinix.fabric.connection_routing_protocol.state.*",
    "equinix.fabric.router.state.*",
)
EQUINIX_METRICS = ("equinix.fabric.connection.*",)
EQUINIX_SINK_TYPES = ("WEBHOOK", "SLACK", "TEAMS")


@dataclass(frozen=True)
class AwsLinkWatch:
    """One router's AWS side: the hosted connection and the transit VIF on it."""

    router: str
    connection_id: pulumi.Input[str]
    vif_id: pulumi.Input[str]


@dataclass(frozen=True)
class EquinixSink:
    """Where the Fabric stream delivers: a sink type and its URI (a secret: webhook URIs carry tokens)."""

    type: str
    uri: pulumi.Input[str]


@dataclass(frozen=True)
class AlarmsArgs:
    stack: str
    emails: Sequence[str]
    bandwidth_mbps: int
    aws_links: Sequence[AwsLinkWatch]
    resource_group: pulumi.Input[str]
    circuit_id: pulumi.Input[str]
    gateway_id: pulumi.Input[str]
    #: the planned number of AWS prefixes the ExpressRoute gateway learns from each peer
    expected_learned_routes: int
    equinix_project_id: str
    equinix_routers: Mapping[str, pulumi.Input[str]]
    equinix_connections: Mapping[str, pulumi.Input[str]]
    sns_topic_arn: str | None = None
    action_group_id: str | None = None
    equinix_sink: EquinixSink | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    #: bridge:azure.secondCircuit: watched like the first, under rules named ``er2-*``
    second_circuit_id: pulumi.Input[str] | None = None
    #: bridge:vpnBackup: the AWS VPN connection ids (by name, ``vpn1``, ``vpn2``) and the Azure VPN gateway
    vpn_connections: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    vpn_gateway_id: pulumi.Input[str] | None = None


def action_group_short_name(stack: str) -> str:
    """Azure's short name of an action group: at most 12 characters (shown in e-mails and SMS)."""
    return f"br-{stack}"[:12]


class BridgeAlarms(pulumi.ComponentResource):
    """CloudWatch alarms with an SNS topic, Azure Monitor metric alerts with an action group, and an
    Equinix Fabric stream with attachments, alert rules and (optionally) a subscription."""

    topic_arn: pulumi.Output[str]
    action_group_id: pulumi.Output[str]
    stream_id: pulumi.Output[str]
    alarm_names: list[str]

    def __init__(self, name: str, args: AlarmsArgs, *, aws_provider: pulumi.ProviderResource,
                 azure_provider: pulumi.ProviderResource, equinix_provider: pulumi.ProviderResource,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bridge:monitoring:BridgeAlarms", name, None, opts)
        self.alarm_names = []
        self._aws(name, args, aws_provider)
        self._azure(name, args, azure_provider)
        self._equinix(name, args, equinix_provider)
        self.register_outputs({"topicArn": self.topic_arn, "actionGroupId": self.action_group_id,
                               "streamId": self.stream_id})

    # --- AWS ----------------------------------------------------------------------------------------

    def _aws(self, name: str, args: AlarmsArgs, provider: pulumi.ProviderResource) -> None:
        opts = child(self, provider=provider)
        tags = dict(args.tags)
        if args.sns_topic_arn:
            self.topic_arn = pulumi.Output.from_input(args.sns_topic_arn)
        else:
            topic_name = f"{args.stack}-bridge-alarms"
            topic = aws.sns.Topic(f"{name}-topic", name=topic_name, tags=merged_tags(tags, Name=topic_name),
                                  opts=opts)
            self.topic_arn = topic.arn
            for i, email in enumerate(args.emails):
                # E-mail subscriptions stay pending until the recipient confirms (SNS sends the link).
                aws.sns.TopicSubscription(f"{name}-email-{i}", topic=topic.arn, protocol="email",
                                          endpoint=email, opts=opts)
        actions = [self.topic_arn]
        bandwidth_bps = args.bandwidth_mbps * 1_000_000
        for link in args.aws_links:
            base = f"{args.stack}-{link.router}"
            alarms = [
                (f"{base}-dx-connection-down", "ConnectionState", {"ConnectionId": link.connection_id},
                 "Minimum", "LessThanThreshold", 1, 1, "breaching",
                 f"Hosted connection of {link.router} is down (AWS/DX ConnectionState 0). Runbook: "
                 "docs/runbook-network.md#alarm-dx-connection-down"),
                (f"{base}-vif-silent", "VirtualInterfaceBpsIngress",
                 {"ConnectionId": link.connection_id, "VirtualInterfaceId": link.vif_id},
                 "Maximum", "LessThanOrEqualToThreshold", 0, DX_SILENT_PERIODS, "breaching",
                 f"Transit VIF of {link.router} carried nothing into AWS for {DX_SILENT_PERIODS * DX_PERIOD_S // 60} "
                 "minutes, not even BGP keepalives: its session is down. Runbook: "
                 "docs/runbook-network.md#alarm-vif-silent"),
                (f"{base}-vif-busy", "VirtualInterfaceBpsEgress",
                 {"ConnectionId": link.connection_id, "VirtualInterfaceId": link.vif_id},
                 "Average", "GreaterThanThreshold", int(bandwidth_bps * UTILISATION_WARNING), 3, "notBreaching",
                 f"Transit VIF of {link.router} sends more than {UTILISATION_WARNING:.0%} of "
                 f"{args.bandwidth_mbps} Mbps toward the exchange: one router down would not carry it. Runbook: "
                 "docs/runbook-network.md#alarm-vif-busy"),
            ]
            for alarm_name, metric, dims, stat, op, threshold, periods, missing, text in alarms:
                aws.cloudwatch.MetricAlarm(
                    f"{name}-{alarm_name.removeprefix(args.stack + '-')}", name=alarm_name, namespace="AWS/DX",
                    metric_name=metric, dimensions=dims, statistic=stat, period=DX_PERIOD_S,
                    evaluation_periods=periods, datapoints_to_alarm=periods, comparison_operator=op,
                    threshold=threshold, treat_missing_data=missing, alarm_description=text,
                    alarm_actions=actions, ok_actions=actions, tags=tags, opts=opts)
                self.alarm_names.append(alarm_name)
        for key, vpn_id in args.vpn_connections.items():
            base = f"{args.stack}-backup-{key}"
            for alarm_name, metric, stat, op, threshold, missing, text in (
                (f"{base}-tunnel-down", "TunnelState", "Minimum", "LessThanThreshold", 1, "breaching",
                 f"A tunnel of backup VPN connection {key} is down (AWS/VPN TunnelState below 1): the IPsec backup "
                 "is degraded. Runbook: docs/runbook-network.md#alarm-backup-tunnel-down"),
                (f"{base}-in-use", "TunnelDataOut", "Sum", "GreaterThanThreshold", BACKUP_IN_USE_BYTES,
                 "notBreaching",
                 f"Backup VPN connection {key} carries traffic toward Azure: the private paths are down or "
                 "withdrawn. Runbook: docs/runbook-network.md#alarm-backup-in-use"),
            ):
                aws.cloudwatch.MetricAlarm(
                    f"{name}-{alarm_name.removeprefix(args.stack + '-')}", name=alarm_name, namespace="AWS/VPN",
                    metric_name=metric, dimensions={"VpnId": vpn_id}, statistic=stat, period=VPN_PERIOD_S,
                    evaluation_periods=1, datapoints_to_alarm=1, comparison_operator=op, threshold=threshold,
                    treat_missing_data=missing, alarm_description=text, alarm_actions=actions, ok_actions=actions,
                    tags=tags, opts=opts)
                self.alarm_names.append(alarm_name)

    # --- Azure --------------------------------------------------------------------------------------

    def _azure(self, name: str, args: AlarmsArgs, provider: pulumi.ProviderResource) -> None:
        opts = child(self, provider=provider)
        tags = dict(args.tags)
        if args.action_group_id:
            self.action_group_id = pulumi.Output.from_input(args.action_group_id)
        else:
            group = azure_native.monitor.ActionGroup(
                f"{name}-action-group", action_group_name=f"ag-bridge-{args.stack}",
                resource_group_name=args.resource_group, location="Global", enabled=True,
                group_short_name=action_group_short_name(args.stack),
                email_receivers=[azure_native.monitor.MicrosoftCommonEmailReceiverArgs(
                    name=f"email-{i}", email_address=email, use_common_alert_schema=True)
                    for i, email in enumerate(args.emails)],
                tags=tags, opts=opts)
            self.action_group_id = group.id
        actions = [azure_native.monitor.MetricAlertActionArgs(action_group_id=self.action_group_id)]
        every_value = ["*"]  # one time series (and one alert) per dimension value

        def alert(rule: str, scope: pulumi.Input[str], namespace: str, metric: str, aggregation: str,
                  threshold: float, dims: Sequence[str], window: str, frequency: str, text: str,
                  severity: int = 1) -> None:
            azure_native.monitor.MetricAlert(
                f"{name}-{rule}", rule_name=f"{args.stack}-{rule}", resource_group_name=args.resource_group,
                location="global", enabled=True, severity=severity, scopes=[scope], evaluation_frequency=frequency,
                window_size=window, auto_mitigate=True, description=text, target_resource_type=namespace,
                criteria=azure_native.monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                    odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                    all_of=[azure_native.monitor.MetricCriteriaArgs(
                        criterion_type="StaticThresholdCriterion", name=metric, metric_name=metric,
                        metric_namespace=namespace, operator="LessThan", threshold=threshold,
                        time_aggregation=aggregation,
                        dimensions=[azure_native.monitor.MetricDimensionArgs(name=d, operator="Include",
                                                                             values=every_value) for d in dims])]),
                actions=actions, tags=tags, opts=opts)
            self.alarm_names.append(f"{args.stack}-{rule}")

        circuits = [("er", args.circuit_id, "")]
        if args.second_circuit_id is not None:
            circuits.append(("er2", args.second_circuit_id, " of the second circuit"))
        for prefix, circuit_id, which in circuits:
            alert(f"{prefix}-bgp-availability", circuit_id, CIRCUIT_NAMESPACE, "BgpAvailability", "Average",
                  AZURE_AVAILABILITY_PERCENT, ("PeeringType", "Peer"), AZURE_CIRCUIT_WINDOW, AZURE_CIRCUIT_FREQUENCY,
                  f"A BGP session between the Microsoft edge{which} and the exchange was down (per peering and "
                  "peer). Runbook: docs/runbook-network.md#alarm-er-bgp-availability")
            alert(f"{prefix}-arp-availability", circuit_id, CIRCUIT_NAMESPACE, "ArpAvailability", "Average",
                  AZURE_AVAILABILITY_PERCENT, ("PeeringType", "Peer"), AZURE_CIRCUIT_WINDOW, AZURE_CIRCUIT_FREQUENCY,
                  f"The Microsoft edge{which} lost ARP toward the exchange (layer 2 of a link). "
                  "Runbook: docs/runbook-network.md#alarm-er-arp-availability")
        alert("ergw-routes-learned", args.gateway_id, GATEWAY_NAMESPACE, LEARNED_ROUTES_METRIC, "Maximum",
              args.expected_learned_routes, ("BgpPeerAddress",), AZURE_GATEWAY_WINDOW, AZURE_GATEWAY_FREQUENCY,
              f"The ExpressRoute gateway learns fewer than the {args.expected_learned_routes} planned AWS "
              "prefixes from a peer. Runbook: docs/runbook-network.md#alarm-ergw-routes-learned")
        if args.vpn_gateway_id is not None:
            # Severity 2: the backup is degraded, nothing is cut yet.
            alert("vpngw-bgp-peer-down", args.vpn_gateway_id, GATEWAY_NAMESPACE, "BgpPeerStatus", "Average", 1,
                  ("BgpPeerAddress", "Instance"), AZURE_GATEWAY_WINDOW, AZURE_GATEWAY_FREQUENCY,
                  "A BGP session of the backup VPN gateway to an AWS tunnel is down (per peer and instance). "
                  "Runbook: docs/runbook-network.md#alarm-backup-tunnel-down", severity=2)

    # --- Equinix ------------------------------------------------------------------------------------

    def _equinix(self, name: str, args: AlarmsArgs, provider: pulumi.ProviderResource) -> None:
        opts = child(self, provider=provider)
        stream = fabric.Stream(
            f"{name}-stream", type="TELEMETRY_STREAM", name=f"{args.stack}-bridge",
            description=f"Events and metrics of the {args.stack} bridge's cloud routers and connections",
            project=fabric.StreamProjectArgs(project_id=args.equinix_project_id), opts=opts)
        self.stream_id = stream.id
        attachments: list[pulumi.Resource] = []
        for asset, ids in (("routers", args.equinix_routers), ("connections", args.equinix_connections)):
            for key, asset_id in ids.items():
                attachments.append(fabric.StreamAttachment(
                    f"{name}-attach-{key}", stream_id=stream.id, asset=asset, asset_id=asset_id,
                    metrics_enabled=True, opts=opts))
        warning = round(args.bandwidth_mbps * UTILISATION_WARNING)
        critical = round(args.bandwidth_mbps * UTILISATION_CRITICAL)
        for key, uuid in args.equinix_connections.items():
            rule = f"{key}-rx"
            fabric.StreamAlertRule(
                f"{name}-rule-{key}", stream_id=stream.id, name=rule[:50], type="METRIC_ALERT", enabled=True,
                description=f"Traffic into the exchange on {key} above {UTILISATION_WARNING:.0%} / "
                            f"{UTILISATION_CRITICAL:.0%} of {args.bandwidth_mbps} Mbps",
                metric_selector=fabric.StreamAlertRuleMetricSelectorArgs(includes=[CONNECTION_RX_METRIC]),
                detection_method=fabric.StreamAlertRuleDetectionMethodArgs(
                    type="THRESHOLD", operand="ABOVE", window_size=EQUINIX_WINDOW,
                    warning_threshold=str(warning), critical_threshold=str(critical)),
                resource_selector=fabric.StreamAlertRuleResourceSelectorArgs(
                    includes=[pulumi.Output.from_input(uuid).apply(lambda u: f"*/connections/{u}")]),
                opts=child(self, provider=provider, depends_on=attachments))
            self.alarm_names.append(rule)
        if args.equinix_sink is not None:
            sink = args.equinix_sink
            if sink.type == "WEBHOOK":
                sink_args = fabric.StreamSubscriptionSinkArgs(
                    # The payload format is left to Equinix's default.
                    type="WEBHOOK", settings=fabric.StreamSubscriptionSinkSettingsArgs(
                        event_uri=sink.uri, metric_uri=sink.uri))
            else:
                sink_args = fabric.StreamSubscriptionSinkArgs(type=sink.type, uri=sink.uri)
            fabric.StreamSubscription(
                f"{name}-subscription", type="STREAM_SUBSCRIPTION", name=f"{args.stack}-bridge-alarms",
                description=f"The {args.stack} bridge's Fabric events to the on-call channel", enabled=True,
                stream_id=stream.id, sink=sink_args,
                event_selector=fabric.StreamSubscriptionEventSelectorArgs(includes=list(EQUINIX_EVENTS)),
                metric_selector=fabric.StreamSubscriptionMetricSelectorArgs(includes=list(EQUINIX_METRICS)),
                opts=child(self, provider=provider, depends_on=attachments))
