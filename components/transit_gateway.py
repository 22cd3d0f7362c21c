"""TransitGateway: the AWS backbone the SaaS VPCs attach to, and their routes toward Azure.

Segmentation follows AWS's pattern for hybrid transit (docs/sources.md#aws-1): the default route table
association and propagation are off, and two route tables decide who learns what:

* ``saas``: associated with every VPC attachment; learns the Azure prefixes from the Direct
  Connect gateway attachment (propagated there by :class:`components.direct_connect.DirectConnect`);
* ``hybrid``: associated with the Direct Connect gateway attachment; learns the VPC CIDRs.

VPCs reach only Azure through the bridge, and Azure reaches only the listed VPCs: a VPC attached to
the same TGW for other reasons never leaks into the bridge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ._common import PROTECT, child, merged_tags


@dataclass(frozen=True)
class VpcAttachmentArgs:
    name: str
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    route_table_ids: Sequence[str] = ()


@dataclass(frozen=True)
class TransitGatewayArgs:
    amazon_side_asn: int
    vpcs: Sequence[VpcAttachmentArgs]
    #: prefixes reachable through the bridge (hub VNet, spokes): each VPC route table gets a route
    azure_prefixes: Sequence[str]
    tags: Mapping[str, str] = field(default_factory=dict)
    description: str = "AWS-to-Azure private bridge"


class TransitGateway(pulumi.ComponentResource):
    """A transit gateway with VPC attachments, segment route tables and VPC routes toward Azure."""

    transit_gateway_id: pulumi.Output[str]
    """The TGW id; the Direct Connect gateway associates with it."""
    saas_route_table_id: pulumi.Output[str]
    """Route table of the VPC attachments; the DX attachment propagates Azure prefixes into it."""
    hybrid_route_table_id: pulumi.Output[str]
    """Route table of the DX attachment; the VPC attachments propagate their CIDRs into it."""
    attachment_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: TransitGatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bridge:aws:TransitGateway", name, None, opts)
        tags = dict(args.tags)
        self.tgw = aws.ec2transitgateway.TransitGateway(
            f"{name}-tgw",
            amazon_side_asn=args.amazon_side_asn,
            description=args.description,
            # Explicit route tables instead of the default one: see the module docstring.
            default_route_table_association="disable",
            default_route_table_propagation="disable",
            auto_accept_shared_attachments="disable",
            dns_support="enable",
            vpn_ecmp_support="enable",
            tags=merged_tags(tags, Name=f"{name}-tgw"),
            opts=child(self, protect=PROTECT))
        self.saas_rt = aws.ec2transitgateway.RouteTable(
            f"{name}-rt-saas", transit_gateway_id=self.tgw.id,
            tags=merged_tags(tags, Name=f"{name}-rt-saas"), opts=child(self))
        self.hybrid_rt = aws.ec2transitgateway.RouteTable(
            f"{name}-rt-hybrid", transit_gateway_id=self.tgw.id,
            tags=merged_tags(tags, Name=f"{name}-rt-hybrid"), opts=child(self))
        self.attachments: dict[str, aws.ec2transitgateway.VpcAttachment] = {}
        self.routes: list[aws.ec2.Route] = []
        for vpc in args.vpcs:
            att = aws.ec2transitgateway.VpcAttachment(
                f"{name}-{vpc.name}",
                transit_gateway_id=self.tgw.id, vpc_id=vpc.vpc_id, subnet_ids=list(vpc.subnet_ids),
                dns_support="enable",
                # Managed by the explicit association and propagation below; leaving these on as
                # well makes a perpetual diff (docs/sources.md#aws-1).
                transit_gateway_default_route_table_association=False,
                transit_gateway_default_route_table_propagation=False,
                tags=merged_tags(tags, Name=f"{name}-{vpc.name}"), opts=child(self))
            self.attachments[vpc.name] = att
            aws.ec2transitgateway.RouteTableAssociation(
                f"{name}-{vpc.name}-assoc", transit_gateway_attachment_id=att.id,
                transit_gateway_route_table_id=self.saas_rt.id, opts=child(self))
            aws.ec2transitgateway.RouteTablePropagation(
                f"{name}-{vpc.name}-to-hybrid", transit_gateway_attachment_id=att.id,
                transit_gateway_route_table_id=self.hybrid_rt.id, opts=child(self))
            for rt in vpc.route_table_ids:
                for prefix in args.azure_prefixes:
                    # A route to a TGW is accepted only once the VPC has an attachment to it.
                    self.routes.append(aws.ec2.Route(
                        f"{name}-{vpc.name}-{rt}-{prefix.replace('/', '_')}",
                        route_table_id=rt, destination_cidr_block=prefix, transit_gateway_id=self.tgw.id,
                        opts=child(self, depends_on=[att])))
        self.transit_gateway_id = self.tgw.id
        self.saas_route_table_id = self.saas_rt.id
        self.hybrid_route_table_id = self.hybrid_rt.id
        self.attachment_ids = {k: v.id for k, v in self.attachments.items()}
        self.register_outputs({
            "transitGatewayId": self.transit_gateway_id,
            "saasRouteTableId": self.saas_route_table_id,
            "hybridRouteTableId": self.hybrid_route_table_id,
        })
