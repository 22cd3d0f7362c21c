"""DirectConnect: the Direct Connect gateway, its attachment to the backbone, and one transit VIF
per hosted connection the exchange creates.

The order is the one AWS requires:

1. the exchange's connection creates a *hosted connection* in the SaaS account; its id
   (``dxcon-...``) and VLAN come from the Equinix connection itself (its z-side access point), so
   nothing is looked up by name: AWS keeps deleted and rejected connections listed under their
   names, and the ``aws_dx_connection`` data source fails when a name matches more than one;
2. the hosted connection is confirmed (accepted) in the SaaS account
   (``aws.directconnect.ConnectionConfirmation``);
3. only then is the transit VIF created on it, with the VLAN Equinix assigned (never chosen here),
   the FCR's ASN as the customer ASN, the planned /30 and the MD5 key the FCR uses too. AWS reports
   the Direct Connect device the VIF terminates on (``aws_device``): two VIFs on one device are not
   redundant, and the policy pack says so in a live preview.
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
    #: the AWS hosted connection the exchange created (``dxcon-...``), an output of the exchange's
    #: connection, so the AWS side waits for it
    hosted_connection_id: pulumi.Input[str]
    #: the VLAN the exchange assigned to that hosted connection
    vlan: pulumi.Input[int]
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
    aws_devices: dict[str, pulumi.Output[str]]
    """The AWS Direct Connect device each router's transit VIF terminates on, as AWS reports it."""

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
                # The DX gateway originates these toward the exchange exactly as listed (docs/sources.md#aws-q4);
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
        self.aws_devices = {}
        self.confirmations: dict[str, aws.directconnect.ConnectionConfirmation] = {}
        self.vifs: dict[str, aws.directconnect.TransitVirtualInterface] = {}
        for link in args.links:
            confirm = aws.directconnect.ConnectionConfirmation(
                f"{name}-{link.router}-confirm", connection_id=link.hosted_connection_id, opts=child(self))
            vlan = pulumi.Output.from_input(link.vlan).apply(int)
            # bgp_asn holds ASNs up to 2147483646; larger 4-byte ASNs go in bgp_asn_long (docs/sources.md#aws-q17).
            long_asn = isinstance(link.fcr_asn, int) and link.fcr_asn > BGP_ASN_MAX
            vif = aws.directconnect.TransitVirtualInterface(
                f"{name}-{link.router}-vif", name=link.vif_name,
                connection_id=confirm.connection_id, dx_gateway_id=self.gateway.id, vlan=vlan,
                address_family="ipv4",
                bgp_asn=None if long_asn else link.fcr_asn, bgp_asn_long=str(link.fcr_asn) if long_asn else None,
                bgp_auth_key=pulumi.Output.secret(link.auth_key),
                amazon_address=link.amazon_address, customer_address=link.customer_address,
                # 1500: ExpressRoute carries at most 1,400-byte packets anyway (docs/sources.md#azure-3-4).
                mtu=1500, sitelink_enabled=False,
                tags=merged_tags(tags, Name=link.vif_name),
                opts=child(self, protect=PROTECT, depends_on=[confirm],
                           additional_secret_outputs=["bgpAuthKey"]))
            self.confirmations[link.router] = confirm
            self.vifs[link.router] = vif
            self.vif_ids[link.router] = vif.id
            self.vlans[link.router] = vlan
            self.aws_devices[link.router] = vif.aws_device
        self.dx_gateway_id = self.gateway.id
        self.register_outputs({"dxGatewayId": self.dx_gateway_id, "vifIds": self.vif_ids,
                               "awsDevices": self.aws_devices})
