"""DirectConnect: the Direct Connect gateway, its attachment to the backbone, and one transit VIF
per hosted connection the exchange creates.

The order is the one AWS requires (aws.md §3.2, equinix.md §2a):

1. the exchange's connection creates a *hosted connection* in the SaaS account, named like the
   Equinix connection; it is looked up by that name only after the Equinix connection exists;
2. the hosted connection is confirmed (accepted) in the SaaS account;
3. only then is the transit VIF created on it, with the VLAN Equinix assigned to the connection
   (read from AWS, never chosen here), the FCR's ASN as the customer ASN, the planned /30 and the
   MD5 key the FCR uses too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ._common import PROTECT, child, merged_tags

BGP_ASN_MAX = 2_147_483_646


@dataclass(frozen=True)
class TransitGatewayTarget:
    """Associate the DX gateway with a transit gateway, advertising ``allowed_prefixes`` to the exchange."""

    transit_gateway_id: pulumi.Input[str]
    hybrid_route_table_id: pulumi.Input[str]
    saas_route_table_id: pulumi.Input[str]
    allowed_prefixes: Sequence[str]


@dataclass(frozen=True)
class CloudWanTarget:
    """Attach the DX gateway to a Cloud WAN core network at ``edge_locations``."""

    core_network_id: pulumi.Input[str]
    edge_locations: Sequence[str]


@dataclass(frozen=True)
class TransitVifArgs:
    router: str
    #: name of the exchange connection, which AWS gives the hosted connection it creates
    connection_name: str
    #: the exchange's connection resource: the hosted connection exists only after it
    exchange_connection: pulumi.Resource
    fcr_asn: pulumi.Input[int]
    amazon_address: str
    customer_address: str
    auth_key: pulumi.Input[str]
    vif_name: str


@dataclass(frozen=True)
class DirectConnectArgs:
    amazon_side_asn: int
    target: TransitGatewayTarget | CloudWanTarget
    links: Sequence[TransitVifArgs]
    gateway_name: str
    tags: Mapping[str, str] = field(default_factory=dict)


class DirectConnect(pulumi.ComponentResource):
    """DX gateway, backbone association, hosted-connection confirmations and transit VIFs."""

    dx_gateway_id: pulumi.Output[str]
    vif_ids: dict[str, pulumi.Output[str]]
    """Transit VIF id per router."""
    vlans: dict[str, pulumi.Output[int]]
    """The VLAN Equinix assigned to each router's hosted connection."""

    def __init__(self, name: str, args: DirectConnectArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bridge:aws:DirectConnect", name, None, opts)
        tags = dict(args.tags)
        self.gateway = aws.directconnect.Gateway(
            f"{name}-dxgw", name=args.gateway_name,
            # The SDK takes the ASN as a string.
            amazon_side_asn=str(args.amazon_side_asn), tags=merged_tags(tags, Name=args.gateway_name),
            opts=child(self, protect=PROTECT))
        target = args.target
        if isinstance(target, TransitGatewayTarget):
            self.association = aws.directconnect.GatewayAssociation(
                f"{name}-tgw-assoc", dx_gateway_id=self.gateway.id,
                associated_gateway_id=target.transit_gateway_id,
                # The DX gateway originates these toward the exchange exactly as listed (aws.md Q4);
                # set explicitly so drift is detected.
                allowed_prefixes=list(target.allowed_prefixes),
                opts=child(self, protect=PROTECT, custom_timeouts=pulumi.CustomTimeouts(create="30m", update="30m",
                                                                                        delete="30m")))
            # The association creates a TGW attachment of type direct-connect-gateway: segment it.
            aws.ec2transitgateway.RouteTableAssociation(
                f"{name}-dx-assoc", transit_gateway_attachment_id=self.association.transit_gateway_attachment_id,
                transit_gateway_route_table_id=target.hybrid_route_table_id, opts=child(self))
            aws.ec2transitgateway.RouteTablePropagation(
                f"{name}-dx-to-saas", transit_gateway_attachment_id=self.association.transit_gateway_attachment_id,
                transit_gateway_route_table_id=target.saas_route_table_id, opts=child(self))
        else:
            self.attachment = aws.networkmanager.DxGatewayAttachment(
                f"{name}-cloudwan", core_network_id=target.core_network_id,
                direct_connect_gateway_arn=self.gateway.arn, edge_locations=list(target.edge_locations),
                tags=merged_tags(tags, Name=f"{name}-cloudwan"), opts=child(self, protect=PROTECT))
        self.vif_ids = {}
        self.vlans = {}
        self.confirmations: dict[str, aws.directconnect.ConnectionConfirmation] = {}
        self.vifs: dict[str, aws.directconnect.TransitVirtualInterface] = {}
        for link in args.links:
            hosted = aws.directconnect.get_connection_output(
                name=link.connection_name,
                opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[link.exchange_connection]))
            confirm = aws.directconnect.ConnectionConfirmation(
                f"{name}-{link.router}-confirm", connection_id=hosted.id, opts=child(self))
            vlan = hosted.vlan_id.apply(int)
            # bgp_asn holds ASNs up to 2147483646; larger 4-byte ASNs go in bgp_asn_long (aws.md Q17).
            long_asn = isinstance(link.fcr_asn, int) and link.fcr_asn > BGP_ASN_MAX
            vif = aws.directconnect.TransitVirtualInterface(
                f"{name}-{link.router}-vif", name=link.vif_name,
                connection_id=hosted.id, dx_gateway_id=self.gateway.id, vlan=vlan, address_family="ipv4",
                bgp_asn=None if long_asn else link.fcr_asn, bgp_asn_long=str(link.fcr_asn) if long_asn else None,
                bgp_auth_key=pulumi.Output.secret(link.auth_key),
                amazon_address=link.amazon_address, customer_address=link.customer_address,
                # 1500: ExpressRoute carries at most 1,400-byte packets anyway (azure.md §3.4).
                mtu=1500, sitelink_enabled=False,
                tags=merged_tags(tags, Name=link.vif_name),
                opts=child(self, protect=PROTECT, depends_on=[confirm],
                           additional_secret_outputs=["bgpAuthKey"]))
            self.confirmations[link.router] = confirm
            self.vifs[link.router] = vif
            self.vif_ids[link.router] = vif.id
            self.vlans[link.router] = vlan
        self.dx_gateway_id = self.gateway.id
        self.register_outputs({"dxGatewayId": self.dx_gateway_id, "vifIds": self.vif_ids})
