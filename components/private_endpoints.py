"""Private endpoints toward the customers' data platforms, and the DNS that makes their names private.

* :class:`PrivateDnsZones` (bridge stack): Route 53 private hosted zones for the platforms' private
  zones (``privatelink.snowflakecomputing.com``, ...), associated with every SaaS VPC. The SaaS runs
  in AWS, so its resolver is Route 53; the bridge owns the zones and customer stacks add records.
* :class:`PrivateEndpoints` (customer stack), per endpoint:

  - ``cloud: azure``: an Azure private endpoint in the hub's endpoint subnet with a *manual*
    connection request (the platform owner approves it, azure.md §5.1), and an A record from each
    hostname to the endpoint's private address, which the SaaS reaches over the bridge;
  - ``cloud: aws``: an interface VPC endpoint in a SaaS VPC whose security group admits only the SaaS
    VPC CIDRs on the platform's ports, private DNS off (the platform's zone lives in the bridge), and
    a CNAME from each hostname to the endpoint's DNS name (aws.md §5.1-5.2);
  - Redshift by cluster: a Redshift-managed VPC endpoint (aws.md §5.4), same security group rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
from pulumi_azure_native import network

from ._common import PROTECT, child, merged_tags

RECORD_TTL = 300


@dataclass(frozen=True)
class PrivateDnsZonesArgs:
    zones: Sequence[str]
    vpc_ids: Sequence[pulumi.Input[str]]
    region: str
    tags: Mapping[str, str] = field(default_factory=dict)


class PrivateDnsZones(pulumi.ComponentResource):
    """Route 53 private hosted zones on the SaaS VPCs; customer stacks add records to them."""

    zone_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: PrivateDnsZonesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bridge:aws:PrivateDnsZones", name, None, opts)
        self.zones: dict[str, aws.route53.Zone] = {}
        for zone in args.zones:
            self.zones[zone] = aws.route53.Zone(
                f"{name}-{zone}", name=zone, comment="Private names of customer data platforms (bridge)",
                vpcs=[aws.route53.ZoneVpcArgs(vpc_id=v, vpc_region=args.region) for v in args.vpc_ids],
                tags=merged_tags(args.tags, Name=zone),
                # Holds every customer's records: removing it would cut them all.
                opts=child(self, protect=PROTECT))
        self.zone_ids = {k: v.zone_id for k, v in self.zones.items()}
        self.register_outputs({"zoneIds": self.zone_ids})


@dataclass(frozen=True)
class EndpointArgs:
    name: str
    platform: str
    kind: str  # azure-private-endpoint | aws-interface-endpoint | redshift-endpoint
    service: str | None
    hostnames: Sequence[str]
    zone: str | None
    ports: Sequence[int]
    group_ids: Sequence[str]
    request_message: str
    allowed_cidrs: Sequence[str]
    vpc_id: pulumi.Input[str] | None = None
    subnet_ids: Sequence[pulumi.Input[str]] = ()
    cluster: str | None = None
    owner_account: str | None = None


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
    #: the bridge's Route 53 zones, by zone name
    zone_ids: Mapping[str, pulumi.Input[str]]
    #: zones this customer owns (platforms without a private zone of their own)
    customer_zones: Sequence[str] = ()
    vpc_ids: Sequence[pulumi.Input[str]] = ()
    region: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass
class EndpointOutputs:
    endpoint_id: pulumi.Output[str]
    address: pulumi.Output[str]
    """Private IP (Azure) or DNS name (AWS) the hostnames point at."""
    connection_name: str


class PrivateEndpoints(pulumi.ComponentResource):
    """One customer's endpoints, their security rules and their DNS records."""

    endpoints: dict[str, EndpointOutputs]

    def __init__(self, name: str, args: PrivateEndpointsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bridge:endpoints:PrivateEndpoints", name, None, opts)
        self.component_name = name
        tags = merged_tags(args.tags, customer=args.customer)
        zone_ids: dict[str, pulumi.Input[str]] = dict(args.zone_ids)
        for zone in args.customer_zones:
            owned = aws.route53.Zone(
                f"{name}-{zone}", name=zone, comment=f"Private names of customer {args.customer}",
                vpcs=[aws.route53.ZoneVpcArgs(vpc_id=v, vpc_region=args.region) for v in args.vpc_ids],
                tags=merged_tags(tags, Name=zone), opts=child(self))
            zone_ids[zone] = owned.zone_id
        self.endpoints = {}
        for ep in args.endpoints:
            if ep.kind == "azure-private-endpoint":
                assert args.azure is not None, "azure endpoints need the hub's endpoint subnet"
                out = self._azure(ep, args.customer, args.azure, tags)
                record_type = "A"
            else:
                out = self._aws(ep, args.customer, tags)
                record_type = "CNAME"
            self.endpoints[ep.name] = out
            if ep.zone is None:
                continue
            for host in ep.hostnames:
                aws.route53.Record(
                    f"{name}-{ep.name}-{host}", zone_id=zone_ids[ep.zone], name=host, type=record_type,
                    ttl=RECORD_TTL, records=[out.address],
                    # A second customer claiming the name must fail, not take it over.
                    allow_overwrite=False, opts=child(self))
        self.register_outputs({"endpoints": {k: {"id": v.endpoint_id, "address": v.address}
                                             for k, v in self.endpoints.items()}})

    def _azure(self, ep: EndpointArgs, customer: str, target: AzureTarget, tags: dict[str, str]) -> EndpointOutputs:
        pe_name = f"pe-{customer}-{ep.name}"
        nic_name = f"nic-{pe_name}"
        connection_name = f"{customer}-{ep.name}"
        pe = network.PrivateEndpoint(
            f"{self.component_name}-{ep.name}", private_endpoint_name=pe_name,
            resource_group_name=target.resource_group_name, location=target.location,
            subnet=network.SubnetArgs(id=target.subnet_id),
            # A fixed NIC name, so the endpoint's address can be read back (below).
            custom_network_interface_name=nic_name,
            # Manual: the platform is another tenant; its owner approves the request.
            manual_private_link_service_connections=[network.PrivateLinkServiceConnectionArgs(
                name=connection_name, private_link_service_id=ep.service,
                group_ids=list(ep.group_ids) or None, request_message=ep.request_message)],
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
            # Endpoint names: 1-30 characters, starting with a letter (aws.md §5.4).
            endpoint_name = f"r{customer}-{ep.name}"[:30].rstrip("-")
            access = aws.redshift.EndpointAccess(
                f"{self.component_name}-{ep.name}", endpoint_name=endpoint_name, cluster_identifier=ep.cluster,
                resource_owner=ep.owner_account, subnet_group_name=group.name, vpc_security_group_ids=[sg.id],
                opts=child(self))
            return EndpointOutputs(access.id, access.address, endpoint_name)
        vpce = aws.ec2.VpcEndpoint(
            f"{self.component_name}-{ep.name}", vpc_id=ep.vpc_id, service_name=ep.service,
            vpc_endpoint_type="Interface", subnet_ids=list(ep.subnet_ids), security_group_ids=[sg.id],
            # The platform's private zone is the bridge's; the endpoint must not claim it.
            private_dns_enabled=False, tags=merged_tags(tags, Name=f"{customer}-{ep.name}"), opts=child(self))
        dns = vpce.dns_entries.apply(lambda entries: entries[0].dns_name if entries else "")
        return EndpointOutputs(vpce.id, dns, f"{customer}-{ep.name}")
