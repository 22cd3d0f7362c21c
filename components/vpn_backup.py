"""VpnBackup: the IPsec backup path between the transit gateway and an active-active Azure VPN gateway.

Four tunnels with BGP, up all the time, carrying the same prefixes as the private path; each cloud prefers
the private path for the same prefix, so the backup carries traffic only once the private path's routes are
withdrawn (stacks/vpn.py has the preference and its sources). The shape is Microsoft's "How to connect AWS and
Azure using a BGP-enabled VPN gateway" (https://learn.microsoft.com/en-us/azure/vpn-gateway/vpn-gateway-howto-aws-bgp):

1. Azure: two Standard, zone-redundant public IPs and the VPN gateway (RouteBased, active-active, BGP at ASN
   65515, one custom APIPA BGP address per tunnel on its instance's IP configuration) in the hub's GatewaySubnet,
   after the ExpressRoute gateway (MicrosoftDocs expressroute-howto-coexist-resource-manager.md: the gateways
   share the subnet; older versions required the ExpressRoute gateway first, so it always comes first here);
2. AWS, once the public IPs exist (it does not wait for the 30-45 minute gateway): one customer gateway per
   public IP (ASN 65515) and one VPN connection per customer gateway on the transit gateway, dynamic routing,
   the planned inside CIDRs, generated pre-shared keys and the planned DPD timeout on both tunnels; its
   transit-gateway attachment is associated with a ``vpn`` route table that holds exactly the Direct Connect
   gateway's allowed prefixes (static routes to the VPC attachments: what the transit gateway advertises over
   the VPN is the associated table, docs.aws.amazon.com/vpn/latest/s2svpn/vpn-limits.html "Routes"), and
   propagates the Azure prefixes into the ``saas`` table next to the Direct Connect gateway's (which wins);
3. Azure again: one local network gateway per AWS tunnel (its outside address, AWS's ASN and inside address,
   no address space: BGP only, VPN Gateway FAQ) and one IPsec connection per local network gateway (IKEv2,
   BGP, the tunnel's key, the custom BGP address of each gateway instance).

Pre-shared keys are generated secrets, letters and digits, 32 characters, never starting with 0: valid on
AWS (8-64 characters, letters, digits, ``.`` and ``_``, not starting with 0: VpnTunnelOptionsSpecification)
and Azure. Neither key nor the AWS customer gateway configuration (which holds the keys) leaves as plain text.

On a Cloud WAN backbone the VPN connections have no gateway: a site-to-site VPN attachment each puts them in the
core network's ``backup`` segment, and their routing-policy label associates the inbound routing policy that
prepends the VPN gateway's ASN (components/cloud_wan.py): Cloud WAN compares AS-path length before the attachment
type, so the VPN's lengthened path stays the standby (stacks/vpn.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random
from pulumi_azure_native import network

from stacks import limits as L
from stacks.vpn import VpnBackupPlan, VpnTunnel

from ._common import PROTECT, child, merged_tags, strip_prefix

GATEWAY_TIMEOUTS = pulumi.CustomTimeouts(create="75m", update="75m", delete="75m")
CONNECTION_TIMEOUTS = pulumi.CustomTimeouts(create="30m", update="30m", delete="30m")

#: The AWS customer gateway configuration holds the pre-shared keys in clear: it stays a secret too.
AWS_SECRET_OUTPUTS = ["tunnel1PresharedKey", "tunnel2PresharedKey", "customerGatewayConfiguration"]


@dataclass(frozen=True)
class VpnBackupArgs:
    stack: str
    plan: VpnBackupPlan
    subscription_id: str
    resource_group: pulumi.Input[str]
    location: str
    #: the hub's GatewaySubnet (the ExpressRoute gateway's too)
    gateway_subnet_id: pulumi.Input[str]
    #: the ExpressRoute gateway: the VPN gateway is built after it
    expressroute_gateway: pulumi.Resource
    #: a transit gateway backbone: the gateway, the route table of the VPC attachments (the VPN attachment
    #: propagates the Azure prefixes into it), and each prefix AWS advertises (the DX gateway's allowed prefixes)
    #: with the VPC attachment that holds it
    transit_gateway_id: pulumi.Input[str] | None = None
    saas_route_table_id: pulumi.Input[str] | None = None
    advertised: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    #: a Cloud WAN backbone instead: the core network the VPN connections attach to (components/cloud_wan.py
    #: puts them in the backup segment and lengthens their AS path by their routing-policy label)
    core_network_id: pulumi.Input[str] | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


def azure_vpn_names(stack: str) -> dict[str, str]:
    """Fixed Azure names (the diff and the runbook refer to them)."""
    return {"gateway": f"vpngw-{stack}", "pip0": f"pip-vpngw-{stack}-0", "pip1": f"pip-vpngw-{stack}-1",
            "ipconfig0": "vpn-instance-0", "ipconfig1": "vpn-instance-1"}


def connection_name(stack: str, tunnel_id: str) -> str:
    """The Azure IPsec connection of a tunnel (bridgectl health reads it by this name)."""
    return f"conn-vpn-{stack}-{tunnel_id}"


def psk(name: str, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
    """A generated pre-shared key valid on both clouds (see the module docstring), as a secret."""
    password = random.RandomPassword(name, length=L.VPN_PSK_GENERATED_LEN, special=False, opts=opts)
    return pulumi.Output.secret(password.result.apply(no_leading_zero))


def no_leading_zero(key: str) -> str:
    """AWS refuses a pre-shared key that starts with 0: that one character becomes a letter (same length)."""
    return f"k{key[1:]}" if key.startswith("0") else key


class VpnBackup(pulumi.ComponentResource):
    """The backup VPN: Azure VPN gateway, AWS customer gateways and VPN connections, local network gateways and
    IPsec connections, in the order the clouds need."""

    public_ips: dict[int, pulumi.Output[str]]
    """The Azure gateway's public IP per instance (the AWS customer gateways' addresses)."""
    aws_outside_ips: dict[str, pulumi.Output[str]]
    """The AWS outside address per tunnel id."""
    vpn_connection_ids: dict[int, pulumi.Output[str]]
    gateway_id: pulumi.Output[str]

    def __init__(self, name: str, args: VpnBackupArgs, *, aws_provider: pulumi.ProviderResource,
                 azure_provider: pulumi.ProviderResource, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bridge:backup:VpnBackup", name, None, opts)
        plan, tags = args.plan, dict(args.tags)
        n = azure_vpn_names(args.stack)

        def azure_child(**kw: Any) -> pulumi.ResourceOptions:
            return child(self, provider=azure_provider, **kw)

        def aws_child(**kw: Any) -> pulumi.ResourceOptions:
            return child(self, provider=aws_provider, **kw)

        # 1. Azure: public IPs, then the gateway (after the ExpressRoute gateway, in the same GatewaySubnet).
        self.pips = {i: network.PublicIPAddress(
            f"{name}-ip-{i}", resource_group_name=args.resource_group, location=args.location,
            public_ip_address_name=n[f"pip{i}"],
            # The AZ SKUs take Standard, static, zone-redundant public IPs.
            sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"),
            public_ip_allocation_method=network.IPAllocationMethod.STATIC, zones=["1", "2", "3"], tags=tags,
            opts=azure_child(protect=PROTECT)) for i in (0, 1)}
        ipconfig_id = {i: pulumi.Output.concat(
            "/subscriptions/", args.subscription_id, "/resourceGroups/", args.resource_group,
            "/providers/Microsoft.Network/virtualNetworkGateways/", n["gateway"], "/ipConfigurations/",
            n[f"ipconfig{i}"]) for i in (0, 1)}
        self.gateway = network.VirtualNetworkGateway(
            f"{name}-gateway", resource_group_name=args.resource_group, location=args.location,
            virtual_network_gateway_name=n["gateway"],
            gateway_type=network.VirtualNetworkGatewayType.VPN, vpn_type=network.VpnType.ROUTE_BASED,
            # VpnGw1AZ exists only as Generation1, VpnGw4AZ and VpnGw5AZ only as Generation2; VpnGw2AZ and
            # VpnGw3AZ as both, Generation2 the faster (https://learn.microsoft.com/en-us/azure/vpn-gateway/about-gateway-skus).
            vpn_gateway_generation=network.VpnGatewayGeneration.GENERATION1 if plan.gateway_sku == "VpnGw1AZ"
            else network.VpnGatewayGeneration.GENERATION2,
            sku=network.VirtualNetworkGatewaySkuArgs(name=plan.gateway_sku, tier=plan.gateway_sku),
            active_active=True, enable_bgp=True,
            ip_configurations=[network.VirtualNetworkGatewayIPConfigurationArgs(
                name=n[f"ipconfig{i}"], subnet=network.SubResourceArgs(id=args.gateway_subnet_id),
                public_ip_address=network.SubResourceArgs(id=self.pips[i].id),
                private_ip_allocation_method=network.IPAllocationMethod.DYNAMIC) for i in (0, 1)],
            # ASN 65515: kept when coexisting with ExpressRoute (L.COEXIST_URL). One APIPA address per tunnel of
            # the instance (L.AWS_AZURE_VPN_URL).
            bgp_settings=network.BgpSettingsArgs(asn=float(plan.azure_asn), bgp_peering_addresses=[
                network.IPConfigurationBgpPeeringAddressArgs(
                    ipconfiguration_id=ipconfig_id[i],
                    custom_bgp_ip_addresses=[str(t.azure.ip) for t in plan.of_instance(i)]) for i in (0, 1)]),
            tags=tags,
            opts=azure_child(protect=PROTECT, custom_timeouts=GATEWAY_TIMEOUTS,
                             depends_on=[args.expressroute_gateway]))

        # 2. AWS: customer gateways at the public IPs, VPN connections on the transit gateway.
        self.customer_gateways: dict[int, aws.ec2.CustomerGateway] = {}
        self.vpn_connections: dict[int, aws.ec2.VpnConnection] = {}
        self.keys: dict[str, pulumi.Output[str]] = {}
        for i in (0, 1):
            cgw_name = f"{args.stack}-azure-vpngw-{i}"
            cgw = aws.ec2.CustomerGateway(
                f"{name}-cgw-{i}", bgp_asn=str(plan.azure_asn),
                ip_address=self.pips[i].ip_address.apply(lambda ip: ip or ""), type="ipsec.1",
                device_name=cgw_name, tags=merged_tags(tags, Name=cgw_name), opts=aws_child())
            t1, t2 = plan.of_instance(i)
            for t in (t1, t2):
                self.keys[t.id] = psk(f"{name}-psk-{t.id}", pulumi.ResourceOptions(parent=self))
            conn_name = f"{args.stack}-backup-vpn{i + 1}"
            conn = aws.ec2.VpnConnection(
                # On Cloud WAN the connection has no gateway: the site-to-site VPN attachment below attaches it.
                f"{name}-vpn{i + 1}", customer_gateway_id=cgw.id, transit_gateway_id=args.transit_gateway_id,
                type="ipsec.1", static_routes_only=False,
                **_tunnel_args(1, t1, self.keys[t1.id]), **_tunnel_args(2, t2, self.keys[t2.id]),
                tags=merged_tags(tags, Name=conn_name),
                opts=aws_child(protect=PROTECT, additional_secret_outputs=AWS_SECRET_OUTPUTS))
            self.customer_gateways[i] = cgw
            self.vpn_connections[i] = conn

        self.attachments: dict[int, aws.networkmanager.SiteToSiteVpnAttachment] = {}
        if args.core_network_id is not None:
            from .cloud_wan import BACKUP_LABEL

            for i, conn in self.vpn_connections.items():
                # Into the backup segment by attachment type; the label associates the routing policy that
                # prepends the VPN gateway's ASN (components/cloud_wan.py).
                self.attachments[i] = aws.networkmanager.SiteToSiteVpnAttachment(
                    f"{name}-vpn{i + 1}-attachment", core_network_id=args.core_network_id,
                    vpn_connection_arn=conn.arn, routing_policy_label=BACKUP_LABEL,
                    tags=merged_tags(tags, Name=f"{args.stack}-backup-vpn{i + 1}"), opts=aws_child())
        else:
            assert args.transit_gateway_id is not None and args.saas_route_table_id is not None, "a backbone"
            # The transit gateway advertises to the VPN exactly its associated table: the allowed prefixes.
            self.route_table = aws.ec2transitgateway.RouteTable(
                f"{name}-rt-vpn", transit_gateway_id=args.transit_gateway_id,
                tags=merged_tags(tags, Name=f"{name}-rt-vpn"), opts=aws_child())
            self.routes = [aws.ec2transitgateway.Route(
                f"{name}-rt-vpn-{prefix.replace('/', '_')}", destination_cidr_block=prefix,
                transit_gateway_attachment_id=attachment, transit_gateway_route_table_id=self.route_table.id,
                opts=aws_child()) for prefix, attachment in args.advertised.items()]
            for i, conn in self.vpn_connections.items():
                attachment = conn.transit_gateway_attachment_id.apply(lambda a: a or "")
                aws.ec2transitgateway.RouteTableAssociation(
                    f"{name}-vpn{i + 1}-assoc", transit_gateway_attachment_id=attachment,
                    transit_gateway_route_table_id=self.route_table.id, opts=aws_child(depends_on=self.routes))
                # Next to the Direct Connect gateway's propagation: for the same prefix the transit gateway prefers
                # the Direct Connect gateway's route (route evaluation order), so this one is the standby.
                aws.ec2transitgateway.RouteTablePropagation(
                    f"{name}-vpn{i + 1}-to-saas", transit_gateway_attachment_id=attachment,
                    transit_gateway_route_table_id=args.saas_route_table_id, opts=aws_child())

        # 3. Azure: one local network gateway and one IPsec connection per AWS tunnel.
        self.aws_outside_ips: dict[str, pulumi.Output[str]] = {}
        self.local_gateways: dict[str, network.LocalNetworkGateway] = {}
        self.connections: dict[str, network.VirtualNetworkGatewayConnection] = {}
        for t in plan.tunnels:
            conn = self.vpn_connections[t.instance]
            outside = (conn.tunnel1_address if t.tunnel == 1 else conn.tunnel2_address).apply(lambda a: a or "")
            self.aws_outside_ips[t.id] = outside
            lng = network.LocalNetworkGateway(
                f"{name}-lng-{t.id}", resource_group_name=args.resource_group, location=args.location,
                local_network_gateway_name=f"lng-aws-{args.stack}-{t.id}", gateway_ip_address=outside,
                # BGP only: no address space (VPN Gateway FAQ, BGP; L.AZURE_VPN_LIMITS_URL).
                bgp_settings=network.BgpSettingsArgs(asn=float(t.aws.asn), bgp_peering_address=str(t.aws.ip)),
                tags=tags, opts=azure_child())
            # Each connection names a custom BGP address for both instances: its own tunnel's on its instance,
            # the same-numbered tunnel's on the other (L.AWS_AZURE_VPN_URL).
            other = next(o for o in plan.tunnels if o.instance != t.instance and o.tunnel == t.tunnel)
            by_instance = {t.instance: t, other.instance: other}
            self.connections[t.id] = network.VirtualNetworkGatewayConnection(
                f"{name}-conn-{t.id}", resource_group_name=args.resource_group, location=args.location,
                virtual_network_gateway_connection_name=connection_name(args.stack, t.id),
                connection_type=network.VirtualNetworkGatewayConnectionType.IPSEC,
                connection_protocol=network.VirtualNetworkGatewayConnectionProtocol.IK_EV2,
                virtual_network_gateway1=network.VirtualNetworkGatewayArgs(id=self.gateway.id),
                local_network_gateway2=network.LocalNetworkGatewayArgs(id=lng.id),
                enable_bgp=True, shared_key=self.keys[t.id], dpd_timeout_seconds=t.dpd_timeout_s,
                gateway_custom_bgp_ip_addresses=[network.GatewayCustomBgpIpAddressIpConfigurationArgs(
                    ip_configuration_id=ipconfig_id[i], custom_bgp_ip_address=str(by_instance[i].azure.ip))
                    for i in (0, 1)],
                routing_weight=0, tags=tags,
                # Protected like every gateway connection (policy stateful-resources-protected).
                opts=azure_child(protect=PROTECT, custom_timeouts=CONNECTION_TIMEOUTS,
                                 additional_secret_outputs=["sharedKey"]))
            self.local_gateways[t.id] = lng

        self.public_ips = {i: p.ip_address.apply(lambda ip: ip or "") for i, p in self.pips.items()}
        self.vpn_connection_ids = {i: c.id for i, c in self.vpn_connections.items()}
        self.gateway_id = self.gateway.id
        self.register_outputs({"gatewayId": self.gateway_id})


def _tunnel_args(n: int, t: VpnTunnel, key: pulumi.Output[str]) -> dict[str, Any]:
    """The options of tunnel ``n`` (1 or 2) of an AWS VPN connection."""
    return {
        f"tunnel{n}_inside_cidr": str(t.inside),
        f"tunnel{n}_preshared_key": key,
        f"tunnel{n}_dpd_timeout_seconds": t.dpd_timeout_s,
        # Azure's connections are IKEv2 (connection_protocol); AWS offers both unless told.
        f"tunnel{n}_ike_versions": ["ikev2"],
        # AWS starts IKE too, so a tunnel comes back without waiting for Azure to retry.
        f"tunnel{n}_startup_action": "start",
    }


def tunnel_outputs(backup: VpnBackup, plan: VpnBackupPlan) -> list[dict[str, Any]]:
    """Non-secret facts of each tunnel, for the stack outputs (never the keys)."""
    return [{"id": t.id, "insideCidr": str(t.inside), "dpdTimeoutSeconds": t.dpd_timeout_s,
             "aws": {"asn": t.aws.asn, "address": strip_prefix(str(t.aws.address)),
                     "outsideIp": backup.aws_outside_ips[t.id]},
             "azure": {"asn": t.azure.asn, "address": strip_prefix(str(t.azure.address)),
                       "publicIp": backup.public_ips[t.instance]}}
            for t in plan.tunnels]


def advertised_prefixes(vpcs: Sequence[tuple[str, str]], attachments: Mapping[str, pulumi.Input[str]]
                        ) -> dict[str, pulumi.Input[str]]:
    """Each VPC CIDR (name, cidr) and the attachment of its VPC."""
    return {cidr: attachments[name] for name, cidr in vpcs}
