"""Compose a bridge stack from its spec and plan: the components, wired in the order the clouds need.

    ExpressRoute (hub, gateway, circuit -> service key)
      -> CloudRouter (FCRs; connections to AWS and, with the service key, to Azure)
        -> backbone (TransitGateway or CloudWan) and DirectConnect (DX gateway; per AWS connection:
           confirm the hosted connection, then the transit VIF)
          -> CloudRouter.add_routing (DIRECT then BGP on every connection, after its cloud side)

No DNS: the bridge owns no private zone. Each customer stack owns one Route 53 private zone per name
it publishes (docs/dns.md), so no name of a platform's domain is shadowed for the SaaS.

The readiness gate: Azure accepts the private peering only once the provider has provisioned the
circuit. :func:`circuit_state` reads the circuit's state before anything is registered; until it
says ``Provisioned`` the peering, the gateway connection and the FCR's Azure routing protocols are
left out and the run says so. The first ``pulumi up`` creates the rest (the Equinix connections
make Equinix provision the circuit); the second adds the peering. No waiting, no sleeping.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_azure_native as azure_native
import pulumi_equinix as equinix
import pulumi_random as random

from components.alarms import AlarmsArgs, AwsLinkWatch, BridgeAlarms, EquinixSink
from components.cloud_router import (
    AwsConnectionArgs,
    AzureConnectionArgs,
    CloudRouter,
    CloudRouterArgs,
    RouterArgs,
    SessionRoutingArgs,
)
from components.cloud_wan import CloudWan, CloudWanArgs
from components.direct_connect import (
    CloudWanTarget,
    DirectConnect,
    DirectConnectArgs,
    TransitGatewayTarget,
    TransitVifArgs,
)
from components.endpoint_spokes import EndpointSpokesArgs, SpokeArgs, build_spokes
from components.expressroute import ExpressRoute, ExpressRouteArgs, PrivatePeeringArgs, SecondCircuitArgs
from components.transit_gateway import TransitGateway, TransitGatewayArgs, VpcAttachmentArgs
from components.vpn_backup import VpnBackup, VpnBackupArgs, advertised_prefixes, azure_vpn_names, tunnel_outputs

from . import preflight
from .plan import BgpSession, BridgePlan, KeyRef, plan_bridge, short_name
from .spec import ALARM_SINK_KEY, AZURE_SESSION_KEY_ID, BGP_KEYS_KEY, PLATFORM_PROFILES, PROJECT, BridgeSpec

PROVISIONED = "Provisioned"


def base_tags(stack: str, user: dict[str, str] | Any) -> dict[str, str]:
    """Tags on every taggable resource: which project and stack own it (required by the policy pack)."""
    return {"project": PROJECT, "stack": stack, "managed-by": "pulumi", **dict(user)}


def azure_names(stack: str) -> dict[str, str]:
    """Azure resource names: fixed (not autonamed), so the readiness gate can look the circuit up."""
    return {"vnet": f"vnet-hub-{stack}", "gateway": f"ergw-{stack}", "pip": f"pip-ergw-{stack}",
            "circuit": f"erc-{stack}", "nsg": f"nsg-endpoints-{stack}", "endpointSubnet": "snet-private-endpoints",
            "connection": f"conn-ergw-{stack}", "circuit2": f"erc-{stack}-2", "connection2": f"conn-ergw-{stack}-2"}


def circuit_state(spec: BridgeSpec, provider: pulumi.ProviderResource, which: str = "circuit") -> str:
    """A circuit's provider provisioning state as Azure reports it now; "" when it does not exist yet.
    ``which`` is ``circuit`` (bridge:azure.circuit) or ``circuit2`` (secondCircuit)."""
    try:
        found = azure_native.network.get_express_route_circuit(
            circuit_name=azure_names(spec.stack)[which], resource_group_name=spec.azure.resource_group,
            opts=pulumi.InvokeOptions(provider=provider))
    except Exception as exc:
        text = str(exc)
        # The bridge creates its resource group, so ResourceGroupNotFound is a first run, not an error.
        denied = ("SubscriptionNotFound", "AuthorizationFailed", "InvalidAuthenticationToken",
                  "does not have authorization")
        if any(marker in text for marker in denied):
            preflight.stop([f"azure-native:subscriptionId: the Azure credentials do not reach subscription "
                            f"{spec.azure_subscription_id} and resource group {spec.azure.resource_group} "
                            f"(bridge:azure.resourceGroup): {text.strip()} (fix: sign in with an identity that has "
                            "rights on that subscription and resource group)"])
        if any(marker in text for marker in ("NotFound", "not found", "could not be found", "404")):
            return ""
        raise pulumi.RunError(f"could not read the state of ExpressRoute circuit "
                              f"{azure_names(spec.stack)[which]}: {text}") from None
    return found.service_provider_provisioning_state or ""


def session_key(spec: BridgeSpec, ref: KeyRef, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
    """A session's MD5 key as a secret: from ``bridge:bgpAuthKeys`` or generated within the
    provider's rules (letters and digits only, so it is valid on every side of the session)."""
    if ref.source == "config":
        supplied = pulumi.Config(PROJECT).require_secret_object("bgpAuthKeys")

        def check(keys: dict[str, str]) -> str:
            value = str(keys[ref.id])
            if not ref.min_len <= len(value) <= ref.max_len or (ref.alphanumeric and not value.isalnum()):
                rule = f"{ref.min_len}-{ref.max_len} characters" + (", letters and digits only"
                                                                     if ref.alphanumeric else "")
                raise pulumi.RunError(f"{BGP_KEYS_KEY}.{ref.id}: the key breaks the provider rules ({rule}); "
                                      f"set a new one with `pulumi config set --secret --path "
                                      f"'{BGP_KEYS_KEY}.{ref.id}' <key>`")
            return value

        return pulumi.Output.secret(supplied.apply(check))
    length = min(32, ref.max_len)
    password = random.RandomPassword(f"bgp-md5-{ref.id}", length=length, special=False, opts=opts)
    return pulumi.Output.secret(password.result)


def _session_out(s: BgpSession, vlan: Any) -> dict[str, Any]:
    return {
        "id": s.id, "router": s.router, "link": str(s.link),
        "fcr": {"asn": s.fcr.asn, "address": str(s.fcr.address)},
        "cloud": {"name": s.cloud.name, "asn": s.cloud.asn, "address": str(s.cloud.address)},
        "vlan": vlan, "bfd": f"{s.bfd.interval_ms} ms x {s.bfd.multiplier}" if s.bfd.enabled else "off",
        "keepaliveHold": f"{s.timers.keepalive_s}/{s.timers.hold_s} s", "md5": s.key.source,
        "maxPrefixesFromFcr": s.max_prefixes_from_fcr,
    }


def build_alarms(spec: BridgeSpec, plan: BridgePlan, dx: DirectConnect, cr: CloudRouter, er: ExpressRoute,
                 tags: dict[str, str], aws_provider: pulumi.ProviderResource,
                 azure_provider: pulumi.ProviderResource,
                 equinix_provider: pulumi.ProviderResource, backup: VpnBackup | None = None) -> BridgeAlarms | None:
    """The bridge's alarms (bridge:alarms, on by default): thresholds from the plan; the backup VPN's too."""
    cfg = spec.alarms
    if not cfg.enabled:
        return None
    sink = None
    if cfg.equinix_sink is not None:
        uri = pulumi.Config(PROJECT).require_secret(ALARM_SINK_KEY.split(":", 1)[1])
        sink = EquinixSink(cfg.equinix_sink.type, uri)
    return BridgeAlarms("alarms", AlarmsArgs(
        stack=spec.stack, emails=list(cfg.emails or spec.exchange.notification_emails),
        bandwidth_mbps=spec.exchange.bandwidth_mbps,
        aws_links=[AwsLinkWatch(link.router, cr.hosted_connections[link.equinix_connection][0],
                                dx.vif_ids[link.router]) for link in plan.aws_links],
        resource_group=er.resource_group_name, circuit_id=er.circuit_id, gateway_id=er.gateway_id,
        expected_learned_routes=len(plan.aws_prefixes), equinix_project_id=spec.exchange.project_id,
        equinix_routers=cr.router_ids, equinix_connections=cr.connection_ids,
        sns_topic_arn=cfg.sns_topic_arn, action_group_id=cfg.action_group_id, equinix_sink=sink, tags=tags,
        second_circuit_id=er.second_circuit_id,
        vpn_connections={f"vpn{i + 1}": c for i, c in backup.vpn_connection_ids.items()} if backup else {},
        vpn_gateway_id=backup.gateway_id if backup else None),
        aws_provider=aws_provider, azure_provider=azure_provider, equinix_provider=equinix_provider)


def build_bridge(spec: BridgeSpec, plan: BridgePlan | None = None) -> dict[str, Any]:
    """Register the bridge's resources and export its outputs; returns the outputs too (for tests)."""
    plan = plan or plan_bridge(spec)
    tags = base_tags(spec.stack, spec.tags)
    # Pinned: Equinix creates the hosted connections in bridge:aws.accountId, and the bridge's Azure
    # side lives in the stack's subscription; credentials for anything else fail.
    aws_provider = preflight.aws_provider("aws", spec.aws_region, spec.aws.account_id)
    azure_provider = azure_native.Provider("azure-native", location=spec.azure_location,
                                           subscription_id=spec.azure_subscription_id)
    eq_config = pulumi.Config("equinix")
    equinix_provider = equinix.Provider("equinix", client_id=eq_config.get("clientId"),
                                        client_secret=eq_config.get_secret("clientSecret"))
    # Read before anything is registered: who the AWS credentials are, and the SaaS VPCs.
    preflight.check_aws_account(spec.aws.account_id, aws_provider)
    preflight.check_vpcs(spec.aws.vpcs, aws_provider)
    state = circuit_state(spec, azure_provider)
    second_state = circuit_state(spec, azure_provider, "circuit2") if spec.azure.second_circuit is not None else ""
    key_opts = pulumi.ResourceOptions()
    keys = {}
    for s in plan.sessions:
        if s.key.id not in keys:
            keys[s.key.id] = session_key(spec, s.key, key_opts)

    if plan.fcr_asn_source == "config":
        fcr_asn: pulumi.Input[int] = plan.fcr_asn
    else:
        metro = equinix.fabric.get_metro_output(metro_code=plan.routers[0].metro,
                                                opts=pulumi.InvokeOutputOptions(provider=equinix_provider))
        fcr_asn = metro.equinix_asn
    # The FCR ASN is per metro: the second circuit's metro has its own (docs/sources.md#equinix-1).
    second = plan.circuits[1] if len(plan.circuits) > 1 else None
    second_asn: pulumi.Input[int] | None = None
    if second is not None:
        if spec.exchange.second_equinix_asn is not None:
            second_asn = second.peer_asn
        else:
            second_asn = equinix.fabric.get_metro_output(
                metro_code=second.metro, opts=pulumi.InvokeOutputOptions(provider=equinix_provider)).equinix_asn
    asn_of_router: dict[str, pulumi.Input[int]] = {}
    for r in plan.routers:
        asn_of_router[r.name] = second_asn if second_asn is not None and second is not None and \
            r.name in second.routers else fcr_asn

    provisioned = state == PROVISIONED
    second_provisioned = second is not None and second_state == PROVISIONED
    next_steps: list[str] = []
    for which, current, ready in (("circuit", state, provisioned),
                                  *((("circuit2", second_state, second_provisioned),) if second else ())):
        if ready:
            continue
        name = azure_names(spec.stack)[which]
        message = (f"ExpressRoute circuit {name} is "
                   f"{current or 'not created yet'}, not Provisioned: this run creates the circuit, the hub, the "
                   "gateway and the Equinix connections (which make Equinix provision the circuit) but not the "
                   "private peering, the gateway connection or the FCR's Azure BGP sessions. Run `pulumi up` "
                   "again once the circuit shows Provisioned (`az network express-route show -g "
                   f"{spec.azure.resource_group} -n {name} --query "
                   "serviceProviderProvisioningState`).")
        pulumi.log.warn(message)
        next_steps.append(message)

    az = spec.azure
    endpoint_ports = sorted({p for prof in PLATFORM_PROFILES.values() for p in prof.ports})
    azure_key = keys[AZURE_SESSION_KEY_ID]
    er = ExpressRoute("expressroute", ExpressRouteArgs(
        resource_group=az.resource_group, location=spec.azure_location, names=azure_names(spec.stack),
        hub_cidr=str(plan.hub.cidr), gateway_subnet=str(plan.hub.gateway_subnet),
        endpoint_subnet=str(plan.hub.endpoint_subnet), saas_cidrs=[str(c) for c in plan.aws_prefixes],
        endpoint_ports=endpoint_ports, peering_location=az.circuit.peering_location, tier=az.circuit.tier,
        family=az.circuit.family, bandwidth_mbps=spec.exchange.bandwidth_mbps, gateway_sku=az.gateway_sku,
        gateway_public_ip=az.gateway_public_ip,
        peering=PrivatePeeringArgs(
            primary_prefix=str(plan.azure.primary), secondary_prefix=str(plan.azure.secondary),
            vlan=plan.azure.vlan, peer_asn=fcr_asn, shared_key=azure_key) if provisioned else None,
        tags=tags, second_circuit=None if second is None or az.second_circuit is None else SecondCircuitArgs(
            circuit_name=azure_names(spec.stack)["circuit2"], connection_name=azure_names(spec.stack)["connection2"],
            peering_location=az.second_circuit.peering_location, tier=az.second_circuit.tier,
            family=az.second_circuit.family,
            peering=PrivatePeeringArgs(
                primary_prefix=str(second.primary), secondary_prefix=str(second.secondary), vlan=second.vlan,
                peer_asn=second_asn if second_asn is not None else second.peer_asn,
                shared_key=keys[second.key_id]) if second_provisioned else None)),
        opts=pulumi.ResourceOptions(provider=azure_provider))
    # Endpoint spokes (bridge:azure.endpointSpokes): more VNets for private endpoints, peered to the hub and
    # using its gateway (components/endpoint_spokes.py).
    spokes = build_spokes(EndpointSpokesArgs(
        stack=spec.stack, resource_group=er.resource_group_name, location=spec.azure_location,
        hub_vnet_name=er.vnet.name, hub_vnet_id=er.hub_vnet_id, hub_gateway=er.gateway,
        spokes=[SpokeArgs(sp.name, str(sp.cidr), str(sp.endpoint_subnet)) for sp in plan.spokes],
        saas_cidrs=[str(c) for c in plan.aws_prefixes], endpoint_ports=endpoint_ports, tags=tags),
        opts=pulumi.ResourceOptions(provider=azure_provider))

    ex = spec.exchange
    cr = CloudRouter("exchange", CloudRouterArgs(
        project_id=ex.project_id, account_number=ex.account_number, notification_emails=ex.notification_emails,
        package=ex.package, bandwidth_mbps=ex.bandwidth_mbps,
        routers=[RouterArgs(r.name, r.metro) for r in plan.routers],
        aws_account_id=spec.aws.account_id, aws_seller_region=spec.aws_region,
        # By router name, like the ExpressRoute pair: the first is the PRIMARY of the AWS redundancy
        # group, so reordering the routers in the stack file never swaps the pair's roles.
        aws_connections=[AwsConnectionArgs(r.name, r.aws_connection)
                         for r in sorted(plan.routers, key=lambda r: r.name)],
        azure_service_key=er.service_key,
        azure_connections=[AzureConnectionArgs(plan.azure.primary_router, plan.azure.primary_connection, "PRIMARY"),
                           AzureConnectionArgs(plan.azure.secondary_router, plan.azure.secondary_connection,
                                               "SECONDARY"),
                           *(AzureConnectionArgs(c.primary_router, c.primary_connection, "PRIMARY", c.circuit)
                             for c in plan.circuits[1:]),
                           *(AzureConnectionArgs(c.secondary_router, c.secondary_connection, "SECONDARY", c.circuit)
                             for c in plan.circuits[1:])],
        second_azure_service_key=er.second_service_key,
        aws_prefixes=[str(p) for p in plan.aws_prefixes], azure_prefixes=[str(p) for p in plan.azure_prefixes],
        filter_prefix=spec.stack),
        opts=pulumi.ResourceOptions(provider=equinix_provider))

    aws_opts = pulumi.ResourceOptions(provider=aws_provider)
    vpcs = [VpcAttachmentArgs(v.name, v.vpc_id, list(v.subnet_ids), list(v.route_table_ids))
            for v in spec.aws.vpcs]
    azure_prefixes = [str(p) for p in plan.azure_prefixes]
    target: TransitGatewayTarget | CloudWanTarget
    backbone_out: dict[str, Any] = {}
    if plan.backbone == "transit-gateway":
        assert plan.tgw_asn is not None
        tgw = TransitGateway("backbone", TransitGatewayArgs(plan.tgw_asn, vpcs, azure_prefixes, tags), opts=aws_opts)
        target = TransitGatewayTarget(tgw.transit_gateway_id, tgw.hybrid_route_table_id, tgw.saas_route_table_id,
                                      [str(p) for p in plan.aws_prefixes])
        backbone_out["transitGatewayId"] = tgw.transit_gateway_id
    else:
        cn = spec.aws.core_network
        assert cn is not None
        # A retiring location stays in the policy while the attachment moves off it (two runs; the
        # core network refuses a policy that would orphan an attachment: docs/runbook-network.md).
        wan = CloudWan("backbone", CloudWanArgs(list(cn.asn_ranges), [*cn.edge_locations, *cn.retiring_edge_locations],
                                                spec.aws_region, spec.aws.account_id, vpcs, azure_prefixes, tags,
                                                backup_prepend=plan.backup.prepend if plan.backup else ()),
                       opts=aws_opts)
        target = CloudWanTarget(wan.core_network_id, list(cn.edge_locations))
        backbone_out["coreNetworkId"] = wan.core_network_id
    dx = DirectConnect("directconnect", DirectConnectArgs(
        amazon_side_asn=plan.dxgw_asn, target=target,
        gateway_name=short_name(f"{spec.stack}-bridge-dxgw", 100),
        links=[TransitVifArgs(
            router=link.router, hosted_connection_id=cr.hosted_connections[link.equinix_connection][0],
            vlan=cr.hosted_connections[link.equinix_connection][1], fcr_asn=asn_of_router[link.router],
            amazon_address=str(link.amazon_address), customer_address=str(link.customer_address),
            auth_key=keys[plan.session(f"{link.router}/aws").key.id], vif_name=link.vif_name)
            for link in plan.aws_links],
        tags=tags), opts=aws_opts)

    routing = []
    for s in plan.sessions:
        peering = (er.second_peering if second is not None and s.router in second.routers else er.peering)
        if s.kind == "azure" and peering is None:
            continue  # the readiness gate: after the private peering, next run
        cloud_side: list[pulumi.Resource] = [dx.vifs[s.router]] if s.kind == "aws" else [peering]  # type: ignore[list-item]
        suffix = "aws" if s.kind == "aws" else ("er-pri" if s.priority == "primary" else "er-sec")
        routing.append(SessionRoutingArgs(
            connection=s.equinix_connection,
            direct_name=short_name(f"{spec.stack}-{s.router}-{suffix}-direct"),
            bgp_name=short_name(f"{spec.stack}-{s.router}-{suffix}-bgp"),
            equinix_address=str(s.fcr.address), peer_address=str(s.cloud.ip), peer_asn=s.cloud.asn,
            auth_key=keys[s.key.id], bfd_enabled=s.bfd.enabled, bfd_interval_ms=s.bfd.interval_ms,
            depends_on=cloud_side))
    cr.add_routing(routing)

    # The IPsec backup path (bridge:vpnBackup): after the hub's ExpressRoute gateway and the backbone
    # (components/vpn_backup.py; on Cloud WAN the core network's policy keeps it the standby, stacks/vpn.py).
    backup_out: dict[str, Any] = {}
    backup: VpnBackup | None = None
    if plan.backup is not None:
        backbone_args: dict[str, Any] = (
            {"transit_gateway_id": tgw.transit_gateway_id, "saas_route_table_id": tgw.saas_route_table_id,
             "advertised": advertised_prefixes([(v.name, str(v.cidr)) for v in spec.aws.vpcs], tgw.attachment_ids)}
            if plan.backbone == "transit-gateway" else {"core_network_id": wan.core_network_id})
        backup = VpnBackup("backup", VpnBackupArgs(
            stack=spec.stack, plan=plan.backup, subscription_id=spec.azure_subscription_id,
            resource_group=er.resource_group_name, location=spec.azure_location,
            gateway_subnet_id=er.gateway_subnet.id, expressroute_gateway=er.gateway, tags=tags, **backbone_args),
            aws_provider=aws_provider, azure_provider=azure_provider)
        # Non-secret facts only: the keys stay in the state, as secrets.
        backup_out["vpnBackup"] = {
            "gatewayName": azure_vpn_names(spec.stack)["gateway"], "gatewaySku": plan.backup.gateway_sku,
            "publicIps": [backup.public_ips[0], backup.public_ips[1]],
            "vpnConnectionIds": [backup.vpn_connection_ids[0], backup.vpn_connection_ids[1]],
            "tunnels": tunnel_outputs(backup, plan.backup)}

    alarms = build_alarms(spec, plan, dx, cr, er, tags, aws_provider, azure_provider, equinix_provider,
                          backup=backup)
    sessions = [_session_out(s, dx.vlans.get(s.router) if s.kind == "aws" else s.vlan) for s in plan.sessions]
    outputs: dict[str, Any] = {
        "kind": "bridge",
        **backbone_out,
        "directConnectGatewayId": dx.dx_gateway_id,
        "transitVifIds": dx.vif_ids,
        "cloudRouterIds": cr.router_ids,
        "equinixConnectionIds": cr.connection_ids,
        # Per router: the AWS hosted connection Equinix created, its VLAN and the AWS device it lands on.
        "hostedConnections": {link.router: {
            "equinixConnection": link.equinix_connection,
            "connectionId": cr.hosted_connections[link.equinix_connection][0],
            "vlan": dx.vlans[link.router], "awsDevice": dx.aws_devices[link.router]} for link in plan.aws_links},
        "fcrAsn": fcr_asn,
        "expressRouteCircuitId": er.circuit_id,
        "expressRouteServiceKey": er.service_key,
        "circuitProvisioned": provisioned,
        "expressRouteGatewayId": er.gateway_id,
        "hubVnetId": er.hub_vnet_id,
        "bgpSessions": sessions,
        "customerAttachment": {
            "awsRegion": spec.aws_region, "awsAccountId": spec.aws.account_id,
            "vpcs": {v.name: {"vpcId": v.vpc_id, "subnetIds": list(v.subnet_ids), "cidr": str(v.cidr)}
                     for v in spec.aws.vpcs},
            "saasCidrs": [str(c) for c in plan.aws_prefixes],
            "azure": {"resourceGroupName": er.resource_group_name, "location": spec.azure_location,
                      "endpointSubnetId": er.endpoint_subnet_id,
                      # Per endpoint spoke: customers with bridge:customer.endpointSpoke read theirs.
                      **({"endpointSpokes": {name: {"endpointSubnetId": sp.endpoint_subnet_id}
                                             for name, sp in spokes.items()}} if spokes else {})},
        },
        "nextSteps": next_steps,
    }
    if second is not None:
        outputs.update(secondExpressRouteCircuitId=er.second_circuit_id,
                       secondExpressRouteServiceKey=er.second_service_key,
                       secondCircuitProvisioned=second_provisioned, secondFcrAsn=second_asn)
    outputs.update(backup_out)
    if alarms is not None:
        outputs["alarms"] = {"snsTopicArn": alarms.topic_arn, "actionGroupId": alarms.action_group_id,
                             "equinixStreamId": alarms.stream_id, "names": alarms.alarm_names}
    for key, value in outputs.items():
        pulumi.export(key, value)
    return outputs
