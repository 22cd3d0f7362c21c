"""Endpoint spokes: VNets peered to the hub that hold private endpoints once the hub cannot.

Azure caps private endpoints per virtual network (1,000) and a subnet holds its addresses less five
(stacks/limits.py), so one hub VNet cannot hold the private endpoints of a thousand customers. An
endpoint spoke (``bridge:azure.endpointSpokes``) is one more VNet for them, reached over the same
ExpressRoute circuit through the hub's gateway (gateway transit). Per spoke, named after the spoke and
never after its place in the list, so adding one anywhere renames nothing:

* a VNet ``vnet-<spoke>-<stack>`` with the spoke's address space;
* an NSG ``nsg-endpoints-<spoke>-<stack>`` with the rules of the hub's endpoint subnet: the SaaS VPC
  CIDRs on the platforms' ports, everything else denied;
* the endpoint subnet ``snet-private-endpoints``, with that NSG and private endpoint network policies
  on (NSG rules apply to private endpoints only then; docs/sources.md#azure-6);
* two peerings, both needed (a peering is one-way; L.AZURE_PEERING_OVERVIEW_URL):
  hub to spoke with ``allowGatewayTransit`` (the hub lends its ExpressRoute gateway), and spoke to hub
  with ``useRemoteGateways`` (the spoke uses it). The gateway then advertises the spoke's address space
  over the circuit, toward the FCR and AWS (L.AZURE_GATEWAY_TRANSIT_URL).

Order the clouds require, stated as dependencies:

* ``useRemoteGateways`` is refused while the remote VNet has no gateway, or while the remote peering
  does not allow gateway transit (VirtualNetworkPeering.useRemoteGateways in the Network REST API:
  "If the flag is set to true, and allowGatewayTransit on remote peering is also true, virtual network
  will use gateways of remote virtual network for transit"), so the spoke-side peering comes after the
  hub's gateway and after the hub-side peering;
* a peering is refused while either VNet is still being updated by a subnet operation
  (ReferencedResourceNotProvisioned; hashicorp/terraform-provider-azurerm#2605), so both peerings come
  after the spoke's subnet, and the hub-side one after the hub's gateway (the last hub update);
* peerings of one VNet are not created concurrently (the azurerm provider serializes them; see
  https://www.pulumi.com/registry/packages/azure-native/api-docs/network/virtualnetworkpeering/):
  each hub-side peering waits for the previous spoke's.

``allowForwardedTraffic`` is on for both sides, as in Microsoft's hub-and-spoke reference: the docs
differ on whether gateway transit needs it (MicrosoftDocs/architecture-center#1051), and the spoke's
NSG admits only the SaaS VPCs whatever the peering lets through.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import network

from ._common import PROTECT, child
from .expressroute import endpoint_rules


@dataclass(frozen=True)
class SpokeArgs:
    name: str
    cidr: str
    endpoint_subnet: str


@dataclass(frozen=True)
class EndpointSpokesArgs:
    stack: str
    resource_group: pulumi.Input[str]
    location: str
    hub_vnet_name: pulumi.Input[str]
    hub_vnet_id: pulumi.Input[str]
    #: the hub's ExpressRoute gateway: the spoke-side peering waits for it
    hub_gateway: pulumi.Resource
    spokes: Sequence[SpokeArgs]
    #: SaaS VPC CIDRs: the only sources the endpoint subnets admit
    saas_cidrs: Sequence[str]
    endpoint_ports: Sequence[int]
    tags: Mapping[str, str] = field(default_factory=dict)


def spoke_names(stack: str, spoke: str) -> dict[str, str]:
    """Azure names of a spoke's resources: from the spoke's name and the stack, never a position."""
    return {"vnet": f"vnet-{spoke}-{stack}", "nsg": f"nsg-endpoints-{spoke}-{stack}",
            "endpointSubnet": "snet-private-endpoints", "hubPeering": f"peer-hub-to-{spoke}",
            "spokePeering": "peer-to-hub"}


class EndpointSpoke(pulumi.ComponentResource):
    """One endpoint spoke: VNet, NSG, endpoint subnet and the two peerings with the hub."""

    endpoint_subnet_id: pulumi.Output[str]
    vnet_id: pulumi.Output[str]

    def __init__(self, name: str, args: EndpointSpokesArgs, spoke: SpokeArgs, after: Sequence[pulumi.Resource],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bridge:azure:EndpointSpoke", name, None, opts)
        tags = dict(args.tags)
        n = spoke_names(args.stack, spoke.name)
        rg = args.resource_group
        # Protected like the hub: it holds the customers' private endpoints.
        self.vnet = network.VirtualNetwork(
            f"{name}-vnet", resource_group_name=rg, location=args.location, virtual_network_name=n["vnet"],
            address_space=network.AddressSpaceArgs(address_prefixes=[spoke.cidr]), tags=tags,
            opts=child(self, protect=PROTECT))
        self.nsg = network.NetworkSecurityGroup(
            f"{name}-nsg", resource_group_name=rg, location=args.location, network_security_group_name=n["nsg"],
            security_rules=endpoint_rules(args.saas_cidrs, args.endpoint_ports, spoke.endpoint_subnet), tags=tags,
            opts=child(self))
        self.endpoint_subnet = network.Subnet(
            f"{name}-endpoint-subnet", resource_group_name=rg, virtual_network_name=self.vnet.name,
            subnet_name=n["endpointSubnet"], address_prefix=spoke.endpoint_subnet,
            network_security_group=network.NetworkSecurityGroupArgs(id=self.nsg.id),
            private_endpoint_network_policies=network.VirtualNetworkPrivateEndpointNetworkPolicies.ENABLED,
            opts=child(self, delete_before_replace=True))
        # Hub to spoke, on the hub VNet: lends the hub's gateway.
        self.hub_peering = network.VirtualNetworkPeering(
            f"{name}-hub-peering", resource_group_name=rg, virtual_network_name=args.hub_vnet_name,
            virtual_network_peering_name=n["hubPeering"],
            remote_virtual_network=network.SubResourceArgs(id=self.vnet.id),
            allow_virtual_network_access=True, allow_forwarded_traffic=True, allow_gateway_transit=True,
            use_remote_gateways=False,
            opts=child(self, depends_on=[args.hub_gateway, self.endpoint_subnet, *after]))
        # Spoke to hub, on the spoke VNet: uses the hub's gateway, so only once the gateway exists and the
        # hub side allows transit.
        self.spoke_peering = network.VirtualNetworkPeering(
            f"{name}-peering", resource_group_name=rg, virtual_network_name=self.vnet.name,
            virtual_network_peering_name=n["spokePeering"],
            remote_virtual_network=network.SubResourceArgs(id=args.hub_vnet_id),
            allow_virtual_network_access=True, allow_forwarded_traffic=True, allow_gateway_transit=False,
            use_remote_gateways=True,
            opts=child(self, depends_on=[args.hub_gateway, self.hub_peering, self.endpoint_subnet]))
        self.vnet_id = self.vnet.id
        self.endpoint_subnet_id = self.endpoint_subnet.id
        self.register_outputs({"vnetId": self.vnet_id, "endpointSubnetId": self.endpoint_subnet_id})


def build_spokes(args: EndpointSpokesArgs, opts: pulumi.ResourceOptions | None = None) -> dict[str, EndpointSpoke]:
    """Every endpoint spoke of the bridge, by name; each hub-side peering after the previous spoke's."""
    built: dict[str, EndpointSpoke] = {}
    previous: list[pulumi.Resource] = []
    for spoke in args.spokes:
        sp = EndpointSpoke(f"spoke-{spoke.name}", args, spoke, previous, opts)
        built[spoke.name] = sp
        previous = [sp.hub_peering]
    return built
