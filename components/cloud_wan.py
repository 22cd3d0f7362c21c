"""CloudWan: the alternative backbone, an AWS Cloud WAN core network the SaaS VPCs attach to.

Two segments: ``saas`` (the VPC attachments, chosen by tag) and ``hybrid`` (the Direct Connect
gateway attachment, chosen by attachment type), shared with each other so the VPCs learn the Azure
prefixes and the DX gateway advertises the VPC CIDRs. The policy document is built here as data,
so the offline plan shows it in full. The core network is created with a base policy first
(the pattern of aws-ia/terraform-aws-cloudwan, docs/sources.md#aws-2) so attachments can exist before the
full policy that names them is live.

Order of edge-location changes: the attachments read the core network id from the policy
attachment, so a new edge location is in the policy before an attachment uses it. A location is
removed in two deployments (AWS refuses a policy that would orphan an attachment,
ORPHANED_ATTACHMENT): the stack's ``retiringEdgeLocations`` stay in the policy (``edge_locations``
here) while the Direct Connect gateway attachment moves off them, then leave it
(docs/equinix-changes.md, "AWS Cloud WAN: edge locations").
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from ._common import PROTECT, child, merged_tags
from .transit_gateway import VpcAttachmentArgs

SAAS_SEGMENT = "saas"
HYBRID_SEGMENT = "hybrid"
#: bridge:vpnBackup: the site-to-site VPN attachments, shared with the SaaS segment like the hybrid one
BACKUP_SEGMENT = "backup"
SEGMENT_TAG = "bridge-segment"
#: the routing-policy label of the backup's VPN attachments, and the policy that label associates
BACKUP_LABEL = "bridgeBackupVpn"
BACKUP_POLICY = "depreferBackupVpn"


@dataclass(frozen=True)
class CloudWanArgs:
    asn_ranges: Sequence[str]
    edge_locations: Sequence[str]
    region: str
    account_id: str
    vpcs: Sequence[VpcAttachmentArgs]
    azure_prefixes: Sequence[str]
    tags: Mapping[str, str] = field(default_factory=dict)
    #: bridge:vpnBackup: the ASNs to prepend on routes from the backup's VPN attachments (empty: no backup)
    backup_prepend: Sequence[int] = ()


def policy_document(asn_ranges: Sequence[str], edge_locations: Sequence[str], *, full: bool = True,
                    backup_prepend: Sequence[int] = ()) -> dict[str, Any]:
    """The core network policy (version 2021.12; 2025.11 with the backup VPN, whose routing policies need it).
    ``full=False`` gives the base policy subset."""
    doc: dict[str, Any] = {
        "version": "2025.11" if full and backup_prepend else "2021.12",
        "core-network-configuration": {
            "asn-ranges": list(asn_ranges),
            "edge-locations": [{"location": loc} for loc in edge_locations],
            "vpn-ecmp-support": False,
        },
        # Segment names may contain only a-z and 0-9 (docs/sources.md#aws-2).
        "segments": [
            {"name": SAAS_SEGMENT, "require-attachment-acceptance": False,
             "description": "SaaS VPCs that reach Azure"},
            {"name": HYBRID_SEGMENT, "require-attachment-acceptance": False,
             "description": "Direct Connect gateway toward the exchange"},
        ],
    }
    if not full:
        return doc
    doc["segment-actions"] = [
        {"action": "share", "mode": "attachment-route", "segment": HYBRID_SEGMENT, "share-with": [SAAS_SEGMENT]},
    ]
    if backup_prepend:
        _backup_policy(doc, backup_prepend)
    doc["attachment-policies"] = [
        {"rule-number": 100, "condition-logic": "or",
         "conditions": [{"type": "attachment-type", "operator": "equals", "value": "direct-connect-gateway"}],
         "action": {"association-method": "constant", "segment": HYBRID_SEGMENT}},
        *([{"rule-number": 150, "condition-logic": "or",
            "conditions": [{"type": "attachment-type", "operator": "equals", "value": "site-to-site-vpn"}],
            "action": {"association-method": "constant", "segment": BACKUP_SEGMENT}}] if backup_prepend else []),
        {"rule-number": 200, "condition-logic": "or",
         "conditions": [{"type": "tag-value", "operator": "equals", "key": SEGMENT_TAG, "value": SAAS_SEGMENT}],
         "action": {"association-method": "constant", "segment": SAAS_SEGMENT}},
    ]
    return doc


def _backup_policy(doc: dict[str, Any], prepend: Sequence[int]) -> None:
    """The backup VPN (bridge:vpnBackup) in the policy: its own segment, shared with the SaaS VPCs like the hybrid
    one, every site-to-site VPN attachment in it, and an inbound routing policy, associated by the attachments'
    routing-policy label, that prepends ``prepend`` to every route they bring in. Cloud WAN compares AS-path
    length before the attachment type (cloudwan-route-evaluation.html), so the longer VPN path stays the standby
    while the Direct Connect gateway's path is up. JSON names: AWS Cloud WAN policy reference
    (cloudwan-route-policy.html, cloudwan-policy-attachments.html) and aws-samples/aws-cloud-wan-blueprints
    "Routing policies"; the ASN list is an array of integers (hashicorp/terraform-provider-aws
    coreNetworkPolicyRoutingPolicyRuleAction.MarshalJSON)."""
    doc["segments"].append({"name": BACKUP_SEGMENT, "require-attachment-acceptance": False,
                            "description": "Site-to-site VPN backup toward Azure"})
    doc["segment-actions"].append(
        {"action": "share", "mode": "attachment-route", "segment": BACKUP_SEGMENT, "share-with": [SAAS_SEGMENT]})
    doc["attachment-routing-policy-rules"] = [
        {"rule-number": 100, "description": "Backup VPN attachments",
         "conditions": [{"type": "routing-policy-label", "value": BACKUP_LABEL}],
         "action": {"associate-routing-policies": [BACKUP_POLICY]}}]
    doc["routing-policies"] = [
        {"routing-policy-name": BACKUP_POLICY, "routing-policy-number": 100, "routing-policy-direction": "inbound",
         "routing-policy-description": "Lengthen the backup VPN's AS path so the private path wins",
         "routing-policy-rules": [{"rule-number": 100, "rule-definition": {
             # prefix-in-cidr does not match the containing prefix itself: both conditions cover everything.
             "match-conditions": [{"type": "prefix-in-cidr", "value": "0.0.0.0/0"},
                                  {"type": "prefix-equals", "value": "0.0.0.0/0"}],
             "condition-logic": "or",
             "action": {"type": "prepend-asn-list", "value": list(prepend)}}}]}]


class CloudWan(pulumi.ComponentResource):
    """Global network, core network with its policy, VPC attachments and VPC routes toward Azure."""

    core_network_id: pulumi.Output[str]
    """Core network id, taken from the live policy attachment so dependents wait for the policy."""
    core_network_arn: pulumi.Output[str]

    def __init__(self, name: str, args: CloudWanArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bridge:aws:CloudWan", name, None, opts)
        tags = dict(args.tags)
        self.global_network = aws.networkmanager.GlobalNetwork(
            f"{name}-global", description="AWS-to-Azure private bridge",
            tags=merged_tags(tags, Name=f"{name}-global"), opts=child(self, protect=PROTECT))
        self.core_network = aws.networkmanager.CoreNetwork(
            f"{name}-core", global_network_id=self.global_network.id,
            create_base_policy=True,
            base_policy_document=json.dumps(policy_document(args.asn_ranges, args.edge_locations, full=False)),
            description="AWS-to-Azure private bridge",
            tags=merged_tags(tags, Name=f"{name}-core"),
            # The base policy matters only when the core network is created; the live policy is the
            # policy attachment's. Later edge-location changes go there alone.
            opts=child(self, protect=PROTECT, ignore_changes=["basePolicyDocument"]))
        self.policy = aws.networkmanager.CoreNetworkPolicyAttachment(
            f"{name}-policy", core_network_id=self.core_network.id,
            policy_document=json.dumps(policy_document(args.asn_ranges, args.edge_locations,
                                                       backup_prepend=args.backup_prepend)),
            opts=child(self))
        self.core_network_id = self.policy.core_network_id
        self.core_network_arn = self.core_network.arn
        self.attachments: dict[str, aws.networkmanager.VpcAttachment] = {}
        for vpc in args.vpcs:
            vpc_arn = pulumi.Output.concat("arn:aws:ec2:", args.region, ":", args.account_id, ":vpc/", vpc.vpc_id)
            subnet_arns = [pulumi.Output.concat("arn:aws:ec2:", args.region, ":", args.account_id, ":subnet/", s)
                           for s in vpc.subnet_ids]
            att = aws.networkmanager.VpcAttachment(
                f"{name}-{vpc.name}", core_network_id=self.core_network_id, vpc_arn=vpc_arn,
                subnet_arns=subnet_arns,
                options=aws.networkmanager.VpcAttachmentOptionsArgs(dns_support=True, appliance_mode_support=False),
                # The attachment policy puts VPCs tagged with this segment into it.
                tags=merged_tags(tags, Name=f"{name}-{vpc.name}", **{SEGMENT_TAG: SAAS_SEGMENT}),
                opts=child(self))
            self.attachments[vpc.name] = att
            for rt in vpc.route_table_ids:
                for prefix in args.azure_prefixes:
                    aws.ec2.Route(
                        f"{name}-{vpc.name}-{rt}-{prefix.replace('/', '_')}",
                        route_table_id=rt, destination_cidr_block=prefix, core_network_arn=self.core_network_arn,
                        opts=child(self, depends_on=[att]))
        self.register_outputs({"coreNetworkId": self.core_network_id, "coreNetworkArn": self.core_network_arn,
                               "globalNetworkId": self.global_network.id})
