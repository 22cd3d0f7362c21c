"""Private endpoints toward the customers' data platforms, and the DNS that makes their names private.

:class:`PrivateEndpoints` (customer stack), per endpoint:

* ``cloud: azure``: an Azure private endpoint in the hub's endpoint subnet with a *manual* connection
  request (the platform owner approves it, docs/sources.md#azure-5-1); with ``browser_auth`` (Azure Databricks
  single sign-on) a second one to the workspace's ``browser_authentication`` sub-resource;
* ``cloud: aws``: an interface VPC endpoint in a SaaS VPC whose security group admits only the SaaS
  VPC CIDRs on the platform's ports, private DNS off (the endpoint must not claim the platform's
  domain in the SaaS VPC; docs/sources.md#aws-5-1, #aws-5-2);
* Redshift by cluster: a Redshift-managed VPC endpoint (docs/sources.md#aws-5-4), same security group rules.

And the DNS, in Route 53 private hosted zones associated with every SaaS VPC (the SaaS runs in AWS,
so Route 53 is its resolver). A zone answers every name under it, so the stack never creates one for
a platform's whole domain: each name it publishes in a platform's domain gets a zone of its own,
named like it, with the record at the zone apex (stacks/dns.py, docs/dns.md). Derived names (a
Snowflake account's ``ocsp.`` name) sit in their account name's zone. Starburst and Redshift names go
in the zone the stack file names. Records:

* toward an Azure private endpoint: an A record to its private address, which the SaaS reaches over
  the bridge;
* toward an interface VPC endpoint: at a zone apex, an alias A record to the endpoint's DNS name (a
  CNAME cannot sit at an apex; Route 53 aliases interface endpoints); below it, a CNAME;
* toward a Redshift-managed endpoint: a CNAME to its address (always below the apex of the
  customer's zone).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
from pulumi_azure_native import network

from ._common import child, merged_tags

RECORD_TTL = 300
#: The Azure Databricks sub-resource for single sign-on callbacks (docs/sources.md#azure-5-3).
BROWSER_AUTH_GROUP = "browser_authentication"


@dataclass(frozen=True)
class RecordArgs:
    """One name to answer privately: its zone (created by this component) and which address it gets."""

    name: str
    zone: str
    target: str = "endpoint"  # endpoint | browser-auth


@dataclass(frozen=True)
class EndpointArgs:
    name: str
    platform: str
    kind: str  # azure-private-endpoint | aws-interface-endpoint | redshift-endpoint
    service: str | None
    records: Sequence[RecordArgs]
    ports: Sequence[int]
    group_ids: Sequence[str]
    request_message: str
    allowed_cidrs: Sequence[str]
    vpc_id: pulumi.Input[str] | None = None
    subnet_ids: Sequence[pulumi.Input[str]] = ()
    cluster: str | None = None
    owner_account: str | None = None
    #: Azure Databricks: also a private endpoint to the workspace's browser_authentication sub-resource
    browser_auth: bool = False


@dataclass(frozen=True)
class AzureTarget:
    resource_group_name: pulumi.Input[str]
    location: str
    subnet_id: pulumi.Input[str]


@dataclass(frozen=True)
class PrivateEndpointsArgs:
    customer: str
    endpoints: Sequence[EndpointArgs]
    azure: AzureTarget | None
    #: every Route 53 private hosted zone this customer stack owns (records name theirs)
    zones: Sequence[str] = ()
    #: the SaaS VPCs each zone is associated with
    vpc_ids: Sequence[pulumi.Input[str]] = ()
    region: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass
class EndpointOutputs:
    endpoint_id: pulumi.Output[str]
    address: pulumi.Output[str]
    """Private IP (Azure) or DNS name (AWS) the hostnames point at."""
    connection_name: str
    #: an interface VPC endpoint's hosted zone id (the target of alias records); None otherwise
    alias_zone_id: pulumi.Output[str] | None = None
    #: Azure Databricks: the browser-authentication private endpoint
    browser_auth: EndpointOutputs | None = None


class PrivateEndpoints(pulumi.ComponentResource):
    """One customer's endpoints, their security rules, their private zones and their DNS records."""

    endpoints: dict[str, EndpointOutputs]
    zone_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: PrivateEndpointsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bridge:endpoints:PrivateEndpoints", name, None, opts)
        self.component_name = name
        tags = merged_tags(args.tags, customer=args.customer)
        self.zone_ids = {}
        for zone in args.zones:
            # Tagged with the customer: it goes with this customer's `pulumi destroy` (policy pack).
            owned = aws.route53.Zone(
                f"{name}-{zone}", name=zone, comment=f"Private names of customer {args.customer}",
                vpcs=[aws.route53.ZoneVpcArgs(vpc_id=v, vpc_region=args.region) for v in args.vpc_ids],
                tags=merged_tags(tags, Name=zone), opts=child(self))
            self.zone_ids[zone] = owned.zone_id
        self.endpoints = {}
        for ep in args.endpoints:
            if ep.kind == "azure-private-endpoint":
                assert args.azure is not None, "azure endpoints need the hub's endpoint subnet"
                out = self._azure(ep, args.customer, args.azure, tags)
            else:
                out = self._aws(ep, args.customer, tags)
            self.endpoints[ep.name] = out
            for rec in ep.records:
                self._record(ep, rec, out)
        self.register_outputs({"endpoints": {k: {"id": v.endpoint_id, "address": v.address}
                                             for k, v in self.endpoints.items()},
                               "zoneIds": self.zone_ids})

    def _record(self, ep: EndpointArgs, rec: RecordArgs, out: EndpointOutputs) -> None:
        target = out.browser_auth if rec.target == "browser-auth" else out
        assert target is not None, f"{ep.name}: {rec.name} needs the browser-authentication endpoint"
        common = dict(zone_id=self.zone_ids[rec.zone], name=rec.name,
                      # A second claim on the name must fail, not take it over.
                      allow_overwrite=False, opts=child(self))
        resource = f"{self.component_name}-{ep.name}-{rec.name}"
        if ep.kind == "azure-private-endpoint":
            aws.route53.Record(resource, type="A", ttl=RECORD_TTL, records=[target.address], **common)
        elif target.alias_zone_id is not None and rec.name == rec.zone:
            # A CNAME cannot sit at a zone apex; an alias A record to the interface endpoint can.
            aws.route53.Record(resource, type="A", aliases=[aws.route53.RecordAliasArgs(
                name=target.address, zone_id=target.alias_zone_id, evaluate_target_health=False)], **common)
        else:
            aws.route53.Record(resource, type="CNAME", ttl=RECORD_TTL, records=[target.address], **common)

    def _azure(self, ep: EndpointArgs, customer: str, target: AzureTarget, tags: dict[str, str]) -> EndpointOutputs:
        out = self._private_endpoint(ep, f"{customer}-{ep.name}", list(ep.group_ids), target, tags,
                                     f"{self.component_name}-{ep.name}")
        if ep.browser_auth:
            # Single sign-on callbacks: the workspace's browser_authentication sub-resource, one per region
            # (docs/sources.md#azure-5-3); its owner approves it like the first.
            out.browser_auth = self._private_endpoint(ep, f"{customer}-{ep.name}-auth", [BROWSER_AUTH_GROUP],
                                                      target, tags, f"{self.component_name}-{ep.name}-auth")
        return out

    def _private_endpoint(self, ep: EndpointArgs, connection_name: str, group_ids: list[str], target: AzureTarget,
                          tags: dict[str, str], resource: str) -> EndpointOutputs:
        pe_name = f"pe-{connection_name}"
        nic_name = f"nic-{pe_name}"
        pe = network.PrivateEndpoint(
            resource, private_endpoint_name=pe_name,
            resource_group_name=target.resource_group_name, location=target.location,
            subnet=network.SubnetArgs(id=target.subnet_id),
            # A fixed NIC name, so the endpoint's address can be read back (below).
            custom_network_interface_name=nic_name,
            # Manual: the platform is another tenant; its owner approves the request.
            manual_private_link_service_connections=[network.PrivateLinkServiceConnectionArgs(
                name=connection_name, private_link_service_id=ep.service,
                group_ids=group_ids or None, request_message=ep.request_message)],
            tags=tags, opts=child(self))
        # Alias-based (third-party) targets leave custom_dns_configs empty; the NIC always has the IP.
        nic = network.get_network_interface_output(
            resource_group_name=target.resource_group_name, network_interface_name=nic_name,
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[pe]))
        ip = nic.ip_configurations.apply(lambda cfgs: cfgs[0].private_ip_address if cfgs else "")
        return EndpointOutputs(pe.id, ip, connection_name)

    def _security_group(self, ep: EndpointArgs, customer: str, tags: dict[str, str]) -> aws.ec2.SecurityGroup:
        return aws.ec2.SecurityGroup(
            f"{self.component_name}-{ep.name}-sg", name=f"{customer}-{ep.name}-endpoint",
            description=f"{ep.platform} endpoint of {customer}: SaaS VPCs only", vpc_id=ep.vpc_id,
            ingress=[aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp", from_port=port, to_port=port, cidr_blocks=list(ep.allowed_cidrs),
                description=f"SaaS VPCs to {ep.platform} on {port}") for port in ep.ports],
            # No egress rules: the endpoint only answers; security groups are stateful.
            egress=[], tags=merged_tags(tags, Name=f"{customer}-{ep.name}-endpoint"), opts=child(self))

    def _aws(self, ep: EndpointArgs, customer: str, tags: dict[str, str]) -> EndpointOutputs:
        sg = self._security_group(ep, customer, tags)
        if ep.kind == "redshift-endpoint":
            group = aws.redshift.SubnetGroup(
                f"{self.component_name}-{ep.name}-subnets", name=f"{customer}-{ep.name}".lower()[:255],
                description=f"Redshift endpoint of {customer}", subnet_ids=list(ep.subnet_ids), tags=tags,
                opts=child(self))
            # Endpoint names: 1-30 characters, starting with a letter (docs/sources.md#aws-5-4).
            endpoint_name = f"r{customer}-{ep.name}"[:30].rstrip("-")
            access = aws.redshift.EndpointAccess(
                f"{self.component_name}-{ep.name}", endpoint_name=endpoint_name, cluster_identifier=ep.cluster,
                resource_owner=ep.owner_account, subnet_group_name=group.name, vpc_security_group_ids=[sg.id],
                opts=child(self))
            return EndpointOutputs(access.id, access.address, endpoint_name)
        vpce = aws.ec2.VpcEndpoint(
            f"{self.component_name}-{ep.name}", vpc_id=ep.vpc_id, service_name=ep.service,
            vpc_endpoint_type="Interface", subnet_ids=list(ep.subnet_ids), security_group_ids=[sg.id],
            # Private DNS would claim the platform's whole domain in the VPC; the names are published one
            # by one, in zones of their own (above).
            private_dns_enabled=False, tags=merged_tags(tags, Name=f"{customer}-{ep.name}"), opts=child(self))
        dns = vpce.dns_entries.apply(lambda entries: entries[0].dns_name if entries else "")
        zone_id = vpce.dns_entries.apply(lambda entries: entries[0].hosted_zone_id if entries else "")
        return EndpointOutputs(vpce.id, dns, f"{customer}-{ep.name}", alias_zone_id=zone_id)
