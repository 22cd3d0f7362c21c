"""ExpressRoute: the Azure side. Resource group, hub VNet (GatewaySubnet and the private endpoint
subnet), the circuit with Equinix as provider, its private peering, the ExpressRoute gateway and the
gateway's connection to the circuit.

Ordering the clouds require (docs/sources.md#azure-1, #azure-2, #azure-3-5):

* the circuit issues a service key; the exchange's connections use it (caller's concern);
* the private peering can be configured only once the circuit is *Provisioned* by the provider.
  The caller passes ``peering`` only when it has seen that state (a readiness gate, see
  :mod:`stacks.bridge`); the first ``pulumi up`` then builds everything else and the second adds
  the peering;
* the gateway connection only after the peering, else Azure creates it in a failed state
  (Azure/terraform-azurerm-avm-res-network-expressroutecircuit, main.tf);
* the gateway takes up to 45 minutes to build, so it has long custom timeouts, and it does not
  depend on the circuit: it builds while the provider provisions.

With a second circuit (another peering location), the same gateway gets a second connection: one
virtual network can be linked to several circuits, and two circuits at two peering locations leave
no single point of failure on the Microsoft path (docs/sources.md#azure-7).

Everything here is created with standalone child resources (subnets, peering), never the inline
lists of the parent, which would conflict (docs/sources.md#azure-0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import network, resources

from ._common import PROTECT, child

GATEWAY_TIMEOUTS = pulumi.CustomTimeouts(create="75m", update="75m", delete="75m")
CONNECTION_TIMEOUTS = pulumi.CustomTimeouts(create="30m", update="30m", delete="30m")


@dataclass(frozen=True)
class PrivatePeeringArgs:
    primary_prefix: str
    secondary_prefix: str
    vlan: int
    #: the FCR's ASN (Equinix-assigned per metro)
    peer_asn: pulumi.Input[int]
    #: MD5 key, also set on the FCR's BGP sessions
    shared_key: pulumi.Input[str]


@dataclass(frozen=True)
class ExpressRouteArgs:
    resource_group: str
    location: str
    names: Mapping[str, str]  # vnet, gateway, pip, circuit, nsg, endpointSubnet, connection
    hub_cidr: str
    gateway_subnet: str
    endpoint_subnet: str
    #: SaaS VPC CIDRs: the only sources the endpoint subnet admits
    saas_cidrs: Sequence[str]
    endpoint_ports: Sequence[int]
    peering_location: str
    tier: str
    family: str
    bandwidth_mbps: int
    gateway_sku: str
    gateway_public_ip: bool
    peering: PrivatePeeringArgs | None
    tags: Mapping[str, str] = field(default_factory=dict)
    #: a second circuit at another peering location, on the same gateway (Microsoft's maximum
    #: resiliency: docs/sources.md#azure-7)
    second_circuit: SecondCircuitArgs | None = None


@dataclass(frozen=True)
class SecondCircuitArgs:
    """A second circuit: its own names, peering location, SKU and (once provisioned) private peering."""

    circuit_name: str
    connection_name: str
    peering_location: str
    tier: str
    family: str
    peering: PrivatePeeringArgs | None


def endpoint_rules(saas_cidrs: Sequence[str], ports: Sequence[int], destination: str) -> list[network.SecurityRuleArgs]:
    """The NSG rules of an endpoint subnet (the hub's, and each endpoint spoke's): each SaaS VPC CIDR on the
    platforms' ports, then deny every other inbound flow."""
    rules = [network.SecurityRuleArgs(
        name=f"allow-saas-{i}", priority=100 + i, direction="Inbound", access="Allow", protocol="Tcp",
        source_address_prefix=cidr, source_port_range="*", destination_address_prefix=destination,
        destination_port_ranges=[str(p) for p in ports], description="SaaS VPC to the private endpoints")
        for i, cidr in enumerate(saas_cidrs)]
    rules.append(network.SecurityRuleArgs(
        name="deny-other-inbound", priority=4000, direction="Inbound", access="Deny", protocol="*",
        source_address_prefix="*", source_port_range="*", destination_address_prefix="*",
        destination_port_range="*", description="Only the SaaS VPCs reach the endpoints"))
    return rules


class ExpressRoute(pulumi.ComponentResource):
    """Hub VNet, ExpressRoute circuit, gateway and (once the circuit is provisioned) private peering."""

    resource_group_name: pulumi.Output[str]
    hub_vnet_id: pulumi.Output[str]
    endpoint_subnet_id: pulumi.Output[str]
    circuit_id: pulumi.Output[str]
    service_key: pulumi.Output[str]
    """The key Equinix needs; a secret."""
    provisioning_state: pulumi.Output[str]
    gateway_id: pulumi.Output[str]

    def __init__(self, name: str, args: ExpressRouteArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("bridge:azure:ExpressRoute", name, None, opts)
        tags = dict(args.tags)
        n = args.names
        self.resource_group = resources.ResourceGroup(
            f"{name}-rg", resource_group_name=args.resource_group, location=args.location, tags=tags,
            opts=child(self, protect=PROTECT))
        rg = self.resource_group.name
        self.vnet = network.VirtualNetwork(
            f"{name}-vnet", resource_group_name=rg, location=args.location, virtual_network_name=n["vnet"],
            address_space=network.AddressSpaceArgs(address_prefixes=[args.hub_cidr]), tags=tags,
            opts=child(self, protect=PROTECT))
        # Azure requires this exact name; a fixed name cannot be replaced create-first.
        self.gateway_subnet = network.Subnet(
            f"{name}-gateway-subnet", resource_group_name=rg, virtual_network_name=self.vnet.name,
            subnet_name="GatewaySubnet", address_prefix=args.gateway_subnet,
            opts=child(self, delete_before_replace=True))
        rules = endpoint_rules(args.saas_cidrs, args.endpoint_ports, args.endpoint_subnet)
        self.nsg = network.NetworkSecurityGroup(
            f"{name}-nsg", resource_group_name=rg, location=args.location, network_security_group_name=n["nsg"],
            security_rules=rules, tags=tags, opts=child(self))
        # Subnets of one VNet are created one after another: parallel updates of a VNet conflict.
        self.endpoint_subnet = network.Subnet(
            f"{name}-endpoint-subnet", resource_group_name=rg, virtual_network_name=self.vnet.name,
            subnet_name=n["endpointSubnet"], address_prefix=args.endpoint_subnet,
            network_security_group=network.NetworkSecurityGroupArgs(id=self.nsg.id),
            # NSG rules apply to private endpoints only with network policies on (docs/sources.md#azure-6).
            private_endpoint_network_policies=network.VirtualNetworkPrivateEndpointNetworkPolicies.ENABLED,
            opts=child(self, depends_on=[self.gateway_subnet], delete_before_replace=True))
        public_ip: network.PublicIPAddress | None = None
        if args.gateway_public_ip:
            # Basic public IPs are retired for ExpressRoute gateways: Standard, static, zone-redundant.
            public_ip = network.PublicIPAddress(
                f"{name}-gateway-ip", resource_group_name=rg, location=args.location,
                public_ip_address_name=n["pip"],
                sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"),
                public_ip_allocation_method=network.IPAllocationMethod.STATIC, zones=["1", "2", "3"], tags=tags,
                opts=child(self, protect=PROTECT))
        ip_config = network.VirtualNetworkGatewayIPConfigurationArgs(
            name="default", subnet=network.SubResourceArgs(id=self.gateway_subnet.id),
            public_ip_address=network.SubResourceArgs(id=public_ip.id) if public_ip else None,
            private_ip_allocation_method=network.IPAllocationMethod.DYNAMIC)
        scale = None
        if args.gateway_sku == "ErGwScale":
            scale = network.VirtualNetworkGatewayAutoScaleConfigurationArgs(
                bounds=network.VirtualNetworkGatewayAutoScaleBoundsArgs(min=1, max=2))
        self.gateway = network.VirtualNetworkGateway(
            f"{name}-gateway", resource_group_name=rg, location=args.location,
            virtual_network_gateway_name=n["gateway"],
            gateway_type=network.VirtualNetworkGatewayType.EXPRESS_ROUTE,
            sku=network.VirtualNetworkGatewaySkuArgs(name=args.gateway_sku, tier=args.gateway_sku),
            ip_configurations=[ip_config], auto_scale_configuration=scale, tags=tags,
            # After the last subnet: the gateway also updates the VNet.
            opts=child(self, protect=PROTECT, custom_timeouts=GATEWAY_TIMEOUTS, depends_on=[self.endpoint_subnet]))
        self.circuit = network.ExpressRouteCircuit(
            f"{name}-circuit", resource_group_name=rg, location=args.location, circuit_name=n["circuit"],
            sku=network.ExpressRouteCircuitSkuArgs(name=f"{args.tier}_{args.family}", tier=args.tier,
                                                   family=args.family),
            service_provider_properties=network.ExpressRouteCircuitServiceProviderPropertiesArgs(
                service_provider_name="Equinix", peering_location=args.peering_location,
                bandwidth_in_mbps=args.bandwidth_mbps),
            allow_classic_operations=False, tags=tags,
            # Billed from the moment the key is issued; replacing it means a new key and new Equinix
            # connections (docs/sources.md#azure-1).
            opts=child(self, protect=PROTECT, additional_secret_outputs=["serviceKey"]))
        self.peering: network.ExpressRouteCircuitPeering | None = None
        self.connection: network.VirtualNetworkGatewayConnection | None = None
        if args.peering is not None:
            p = args.peering
            self.peering = network.ExpressRouteCircuitPeering(
                f"{name}-private-peering", resource_group_name=rg, circuit_name=self.circuit.name,
                peering_name="AzurePrivatePeering",
                peering_type=network.ExpressRoutePeeringType.AZURE_PRIVATE_PEERING,
                # The SDK types the ASN as a float.
                peer_asn=pulumi.Output.from_input(p.peer_asn).apply(float),
                primary_peer_address_prefix=p.primary_prefix, secondary_peer_address_prefix=p.secondary_prefix,
                vlan_id=p.vlan, shared_key=pulumi.Output.secret(p.shared_key),
                state=network.ExpressRoutePeeringState.ENABLED,
                opts=child(self, protect=PROTECT, additional_secret_outputs=["sharedKey"]))
            self.connection = network.VirtualNetworkGatewayConnection(
                f"{name}-gateway-connection", resource_group_name=rg, location=args.location,
                virtual_network_gateway_connection_name=n["connection"],
                connection_type=network.VirtualNetworkGatewayConnectionType.EXPRESS_ROUTE,
                virtual_network_gateway1=network.VirtualNetworkGatewayArgs(id=self.gateway.id),
                # The circuit, not the peering (docs/sources.md#azure-3-5).
                peer=network.SubResourceArgs(id=self.circuit.id), routing_weight=0, tags=tags,
                opts=child(self, protect=PROTECT, depends_on=[self.peering], custom_timeouts=CONNECTION_TIMEOUTS))
        self.second_circuit: network.ExpressRouteCircuit | None = None
        self.second_peering: network.ExpressRouteCircuitPeering | None = None
        self.second_connection: network.VirtualNetworkGatewayConnection | None = None
        if args.second_circuit is not None:
            self._second(name, args, args.second_circuit, rg, tags)
        self.resource_group_name = rg
        self.hub_vnet_id = self.vnet.id
        self.endpoint_subnet_id = self.endpoint_subnet.id
        self.circuit_id = self.circuit.id
        self.service_key = pulumi.Output.secret(self.circuit.service_key.apply(lambda k: k or ""))
        self.provisioning_state = self.circuit.service_provider_provisioning_state.apply(lambda s: s or "")
        self.gateway_id = self.gateway.id
        self.second_circuit_id: pulumi.Output[str] | None = None
        self.second_service_key: pulumi.Output[str] | None = None
        outputs: dict[str, pulumi.Input[str]] = {
            "resourceGroupName": self.resource_group_name, "hubVnetId": self.hub_vnet_id,
            "endpointSubnetId": self.endpoint_subnet_id, "circuitId": self.circuit_id,
            "serviceKey": self.service_key, "gatewayId": self.gateway_id,
        }
        if self.second_circuit is not None:
            self.second_circuit_id = self.second_circuit.id
            self.second_service_key = pulumi.Output.secret(self.second_circuit.service_key.apply(lambda k: k or ""))
            outputs.update(secondCircuitId=self.second_circuit_id, secondServiceKey=self.second_service_key)
        self.register_outputs(outputs)

    def _second(self, name: str, args: ExpressRouteArgs, c: SecondCircuitArgs, rg: pulumi.Output[str],
                tags: dict[str, str]) -> None:
        """The second circuit, its private peering and its own connection on the one gateway: one
        connection per circuit (docs/sources.md#azure-3-5, #azure-7). Same ordering as the first."""
        self.second_circuit = network.ExpressRouteCircuit(
            f"{name}-circuit-2", resource_group_name=rg, location=args.location, circuit_name=c.circuit_name,
            sku=network.ExpressRouteCircuitSkuArgs(name=f"{c.tier}_{c.family}", tier=c.tier, family=c.family),
            service_provider_properties=network.ExpressRouteCircuitServiceProviderPropertiesArgs(
                service_provider_name="Equinix", peering_location=c.peering_location,
                bandwidth_in_mbps=args.bandwidth_mbps),
            allow_classic_operations=False, tags=tags,
            opts=child(self, protect=PROTECT, additional_secret_outputs=["serviceKey"]))
        if c.peering is None:
            return
        p = c.peering
        self.second_peering = network.ExpressRouteCircuitPeering(
            f"{name}-private-peering-2", resource_group_name=rg, circuit_name=self.second_circuit.name,
            peering_name="AzurePrivatePeering", peering_type=network.ExpressRoutePeeringType.AZURE_PRIVATE_PEERING,
            peer_asn=pulumi.Output.from_input(p.peer_asn).apply(float),
            primary_peer_address_prefix=p.primary_prefix, secondary_peer_address_prefix=p.secondary_prefix,
            vlan_id=p.vlan, shared_key=pulumi.Output.secret(p.shared_key),
            state=network.ExpressRoutePeeringState.ENABLED,
            opts=child(self, protect=PROTECT, additional_secret_outputs=["sharedKey"]))
        self.second_connection = network.VirtualNetworkGatewayConnection(
            f"{name}-gateway-connection-2", resource_group_name=rg, location=args.location,
            virtual_network_gateway_connection_name=c.connection_name,
            connection_type=network.VirtualNetworkGatewayConnectionType.EXPRESS_ROUTE,
            virtual_network_gateway1=network.VirtualNetworkGatewayArgs(id=self.gateway.id),
            # Equal weights: the gateway spreads traffic over both circuits while both advertise the
            # same paths, and uses the survivor when one fails.
            peer=network.SubResourceArgs(id=self.second_circuit.id), routing_weight=0, tags=tags,
            opts=child(self, protect=PROTECT, depends_on=[self.second_peering], custom_timeouts=CONNECTION_TIMEOUTS))
