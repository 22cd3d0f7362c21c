"""Which input changes cannot be applied in place, per resource type this project registers.

This is the one table ``bridgectl diff`` reads to tell an update from a replacement. Each entry says
what happens, why, and where that comes from, so a reviewer can check it against the provider:

* ``replace``: the provider deletes and recreates the resource (Terraform ``ForceNew`` /
  ``RequiresReplace`` for the bridged providers; URL path parameters for azure-native);
* ``replace-if``: the same, but only for some transitions (``when(old, new)`` says which);
* ``refused``: the provider would try an in-place update the cloud rejects in this design, so the
  change can only be made by detaching or replacing the resource: for planning purposes it is a
  replacement, and the diff says why.

Anything not listed updates in place (as far as the provider's source shows). Two more sources of
replacement come from the plan itself, not from this table: a resource's own ``replaceOnChanges``
option (the Equinix connections' a-side and z-side, see components/cloud_router.py) and a replaced
provider (changing an explicit AWS provider's region replaces every resource it manages).

Provider versions: pulumi-aws 7.51 (bridged terraform-provider-aws 6.x), pulumi-azure-native 3.29,
pulumi-equinix 0.33 (bridged terraform-provider-equinix), pulumi-random 4.21. The authoritative
answer is always a real ``pulumi preview``; this table lets the offline diff say it before one runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["replace", "replace-if", "refused"]

TF_AWS = "hashicorp/terraform-provider-aws"
AZURE_NATIVE_DIFF = ("pulumi/pulumi-azure-native provider/pkg/provider/diff.go: every URL path parameter of the "
                     "resource forces a replacement")
TF_EQX = "https://github.com/equinix/terraform-provider-equinix/blob/ec324c2e890c39ac78eb955f9809cc510f98e73f/"
EQX_CONNECTION = ("equinix/terraform-provider-equinix internal/resources/fabric/connection/models.go "
                  "getUpdateRequests (sends /name, /bandwidth, /aSide/accessPoint/linkProtocols, /notifications "
                  "only) and resource_schema.go (only geo_scope is ForceNew): "
                  f"{TF_EQX}internal/resources/fabric/connection/models.go")
EQX_PROTOCOL = ("equinix/terraform-provider-equinix equinix/resource_fabric_routing_protocol.go (connection_uuid "
                "not ForceNew; update is ReplaceConnectionRoutingProtocolByUuid): "
                f"{TF_EQX}equinix/resource_fabric_routing_protocol.go")
EQX_RULE = ("equinix/terraform-provider-equinix internal/resources/fabric/route_filter_rule (route_filter_id not "
            "ForceNew; update is PatchRouteFilterRuleByUuid): "
            f"{TF_EQX}internal/resources/fabric/route_filter_rule/resource.go")
EQX_ATTACHMENT = ("equinix/terraform-provider-equinix internal/resources/fabric/connection_route_filter/"
                  f"resource_schema.go: {TF_EQX}internal/resources/fabric/connection_route_filter/resource_schema.go")
ARM_LOCATION = ("ARM: a tracked resource's location is create-only (x-ms-mutability read,create; ARM RPC "
                "guideline RPC-Put-V1-14); moving it means a new resource")


@dataclass(frozen=True)
class Rule:
    kind: Kind
    why: str
    source: str
    when: Callable[[Any, Any], bool] | None = None

    def applies(self, old: Any, new: Any) -> bool:
        return self.when is None or self.when(old, new)


def _replace(source: str, why: str = "the provider recreates the resource") -> Rule:
    return Rule("replace", why, source)


def _forcenew(path: str) -> Rule:
    return _replace(f"{TF_AWS} {path} (ForceNew)")


def _azure_path(name: str) -> Rule:
    return _replace(AZURE_NATIVE_DIFF, f"{name} is part of the Azure resource id")


_AZURE_LOCATION = Rule("refused", "Azure resources cannot move location", ARM_LOCATION)


def _enable_from_disable(old: Any, new: Any) -> bool:
    return old == "disable" and new == "enable"


def _decrease(old: Any, new: Any) -> bool:
    try:
        return float(new) < float(old)
    except (TypeError, ValueError):
        return True


# type token -> input path (camelCase wire name, dotted for nested) -> rule
TABLE: dict[str, dict[str, Rule]] = {
    # --- AWS ------------------------------------------------------------------------------------
    "aws:ec2transitgateway/transitGateway:TransitGateway": {
        "amazonSideAsn": Rule(
            "refused",
            "the provider modifies the ASN in place, but AWS refuses while the TGW has a Direct Connect gateway, "
            "VPN or Connect attachment, and a bridge TGW always has the DX gateway association: the association "
            "must be deleted first (an outage) or the TGW replaced",
            "AWS EC2 API ModifyTransitGatewayOptions.AmazonSideAsn; in-place support added by "
            f"{TF_AWS}#27306 (internal/service/ec2/transitgateway_.go)"),
        "multicastSupport": _forcenew("internal/service/ec2/transitgateway_.go"),
        "defaultRouteTableAssociation": Rule(
            "replace-if", "re-enabling the default route table association recreates the TGW",
            f"{TF_AWS} internal/service/ec2/transitgateway_.go (CustomizeDiff ForceNewIfChange disable->enable)",
            _enable_from_disable),
        "defaultRouteTablePropagation": Rule(
            "replace-if", "re-enabling the default route table propagation recreates the TGW",
            f"{TF_AWS} internal/service/ec2/transitgateway_.go (CustomizeDiff ForceNewIfChange disable->enable)",
            _enable_from_disable),
    },
    "aws:ec2transitgateway/routeTable:RouteTable": {
        "transitGatewayId": _forcenew("internal/service/ec2/transitgateway_route_table.go"),
    },
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": {
        "transitGatewayId": _forcenew("internal/service/ec2/transitgateway_vpc_attachment.go"),
        "vpcId": _forcenew("internal/service/ec2/transitgateway_vpc_attachment.go"),
    },
    "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation": {
        "transitGatewayAttachmentId": _forcenew("internal/service/ec2/transitgateway_route_table_association.go"),
        "transitGatewayRouteTableId": _forcenew("internal/service/ec2/transitgateway_route_table_association.go"),
    },
    "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation": {
        "transitGatewayAttachmentId": _forcenew("internal/service/ec2/transitgateway_route_table_propagation.go"),
        "transitGatewayRouteTableId": _forcenew("internal/service/ec2/transitgateway_route_table_propagation.go"),
    },
    "aws:ec2/route:Route": {
        "routeTableId": _forcenew("internal/service/ec2/vpc_route.go"),
        "destinationCidrBlock": _forcenew("internal/service/ec2/vpc_route.go"),
        "destinationIpv6CidrBlock": _forcenew("internal/service/ec2/vpc_route.go"),
        "destinationPrefixListId": _forcenew("internal/service/ec2/vpc_route.go"),
    },
    "aws:directconnect/gateway:Gateway": {
        "amazonSideAsn": _forcenew("internal/service/directconnect/gateway.go"),
    },
    "aws:directconnect/gatewayAssociation:GatewayAssociation": {
        "associatedGatewayId": _forcenew("internal/service/directconnect/gateway_association.go"),
        "associatedGatewayOwnerAccountId": _forcenew("internal/service/directconnect/gateway_association.go"),
        "dxGatewayId": _forcenew("internal/service/directconnect/gateway_association.go"),
    },
    "aws:directconnect/connectionConfirmation:ConnectionConfirmation": {
        "connectionId": _forcenew("internal/service/directconnect/connection_confirmation.go"),
    },
    "aws:directconnect/transitVirtualInterface:TransitVirtualInterface": {
        prop: _forcenew("internal/service/directconnect/transit_virtual_interface.go")
        for prop in ("addressFamily", "amazonAddress", "bgpAsn", "bgpAuthKey", "connectionId", "customerAddress",
                     "dxGatewayId", "name", "vlan")
    },
    # The IPsec backup (components/vpn_backup.py). A new VPN connection gets new AWS outside addresses: Azure's
    # local network gateways follow in the same run, and the tunnels are down until both sides match.
    "aws:ec2/vpnConnection:VpnConnection": {
        prop: Rule("replace", f"{label}: the VPN connection is recreated with new outside addresses and new tunnels; "
                   "the Azure local network gateways and connections follow, and the backup is down meanwhile",
                   f"{TF_AWS} internal/service/ec2/vpnsite_connection.go ({prop} ForceNew)")
        for prop, label in (("tunnel1InsideCidr", "a tunnel's inside CIDR changes"),
                            ("tunnel2InsideCidr", "a tunnel's inside CIDR changes"),
                            ("type", "the connection type changes"),
                            ("staticRoutesOnly", "the routing type changes"),
                            ("enableAcceleration", "acceleration changes"),
                            ("tunnelInsideIpVersion", "the tunnels' IP version changes"))
    },
    "aws:ec2/customerGateway:CustomerGateway": {
        prop: _forcenew("internal/service/ec2/vpnsite_customer_gateway.go")
        for prop in ("bgpAsn", "bgpAsnExtended", "ipAddress", "type", "deviceName", "certificateArn")
    },
    "azure-native:network:LocalNetworkGateway": {
        "resourceGroupName": _azure_path("resourceGroupName"),
        "localNetworkGatewayName": _azure_path("localNetworkGatewayName"), "location": _AZURE_LOCATION,
    },
    "aws:route53/zone:Zone": {
        "name": _forcenew("internal/service/route53/zone.go"),
        "delegationSetId": _forcenew("internal/service/route53/zone.go"),
    },
    "aws:route53/record:Record": {
        "name": _forcenew("internal/service/route53/record.go"),
        "zoneId": _forcenew("internal/service/route53/record.go"),
    },
    "aws:ec2/securityGroup:SecurityGroup": {
        prop: _forcenew("internal/service/ec2/vpc_security_group.go")
        for prop in ("name", "namePrefix", "description", "vpcId")
    },
    "aws:ec2/vpcEndpoint:VpcEndpoint": {
        prop: _forcenew("internal/service/ec2/vpc_endpoint.go")
        for prop in ("vpcId", "serviceName", "vpcEndpointType", "serviceRegion", "resourceConfigurationArn",
                     "serviceNetworkArn")
    },
    "aws:networkmanager/coreNetwork:CoreNetwork": {
        "globalNetworkId": _forcenew("internal/service/networkmanager/core_network.go"),
    },
    "aws:networkmanager/coreNetworkPolicyAttachment:CoreNetworkPolicyAttachment": {
        "coreNetworkId": _forcenew("internal/service/networkmanager/core_network_policy_attachment.go"),
    },
    "aws:networkmanager/vpcAttachment:VpcAttachment": {
        "coreNetworkId": _forcenew("internal/service/networkmanager/vpc_attachment.go"),
        "vpcArn": _forcenew("internal/service/networkmanager/vpc_attachment.go"),
    },
    "aws:networkmanager/dxGatewayAttachment:DxGatewayAttachment": {
        "coreNetworkId": _replace(f"{TF_AWS} internal/service/networkmanager/dx_gateway_attachment.go "
                                  "(RequiresReplace)"),
        "directConnectGatewayArn": _replace(f"{TF_AWS} internal/service/networkmanager/dx_gateway_attachment.go "
                                            "(RequiresReplace)"),
    },
    "aws:redshift/subnetGroup:SubnetGroup": {
        "name": _forcenew("internal/service/redshift/subnet_group.go"),
    },
    "aws:redshift/endpointAccess:EndpointAccess": {
        prop: _forcenew("internal/service/redshift/endpoint_access.go")
        for prop in ("clusterIdentifier", "endpointName", "resourceOwner", "subnetGroupName")
    },
    # --- Azure ----------------------------------------------------------------------------------
    "azure-native:resources:ResourceGroup": {
        "resourceGroupName": _azure_path("resourceGroupName"), "location": _AZURE_LOCATION,
    },
    "azure-native:network:VirtualNetwork": {
        "resourceGroupName": _azure_path("resourceGroupName"),
        "virtualNetworkName": _azure_path("virtualNetworkName"), "location": _AZURE_LOCATION,
    },
    "azure-native:network:Subnet": {
        "resourceGroupName": _azure_path("resourceGroupName"),
        "virtualNetworkName": _azure_path("virtualNetworkName"), "subnetName": _azure_path("subnetName"),
    },
    "azure-native:network:NetworkSecurityGroup": {
        "resourceGroupName": _azure_path("resourceGroupName"),
        "networkSecurityGroupName": _azure_path("networkSecurityGroupName"), "location": _AZURE_LOCATION,
    },
    "azure-native:network:PublicIPAddress": {
        "resourceGroupName": _azure_path("resourceGroupName"),
        "publicIpAddressName": _azure_path("publicIpAddressName"), "location": _AZURE_LOCATION,
    },
    "azure-native:network:VirtualNetworkGateway": {
        "resourceGroupName": _azure_path("resourceGroupName"),
        "virtualNetworkGatewayName": _azure_path("virtualNetworkGatewayName"), "location": _AZURE_LOCATION,
        # The backup VPN gateway (components/vpn_backup.py): VpnGw1AZ exists only as Generation1, so a move to
        # VpnGw2AZ-VpnGw5AZ (Generation2) is a new gateway, new public IPs included.
        "vpnGatewayGeneration": Rule(
            "refused", "a VPN gateway resizes within its generation only: another generation is a new gateway "
            "(30-45 minutes, new public IPs, so new AWS customer gateways)",
            "Microsoft Learn, About gateway SKUs: resizing works within a generation "
            "(https://learn.microsoft.com/en-us/azure/vpn-gateway/about-gateway-skus)"),
    },
    "azure-native:network:ExpressRouteCircuit": {
        "resourceGroupName": _azure_path("resourceGroupName"), "circuitName": _azure_path("circuitName"),
        "location": _AZURE_LOCATION,
        "serviceProviderProperties.serviceProviderName": Rule(
            "refused", "a circuit's connectivity provider cannot change; a new circuit means a new service key and "
            "new Equinix connections",
            "Microsoft Learn, ExpressRoute: modify a circuit (provider and peering location are fixed)"),
        "serviceProviderProperties.peeringLocation": Rule(
            "refused", "a circuit's peering location cannot change; a new circuit means a new service key and new "
            "Equinix connections",
            "Microsoft Learn, ExpressRoute: modify a circuit (provider and peering location are fixed)"),
        "serviceProviderProperties.bandwidthInMbps": Rule(
            "refused", "a circuit's bandwidth can only grow in place; lowering it needs a new circuit",
            "Microsoft Learn, ExpressRoute: modify a circuit (bandwidth can be increased, not decreased)",
            _decrease),
    },
    "azure-native:network:ExpressRouteCircuitPeering": {
        "resourceGroupName": _azure_path("resourceGroupName"), "circuitName": _azure_path("circuitName"),
        "peeringName": _azure_path("peeringName"),
    },
    "azure-native:network:VirtualNetworkGatewayConnection": {
        "resourceGroupName": _azure_path("resourceGroupName"),
        "virtualNetworkGatewayConnectionName": _azure_path("virtualNetworkGatewayConnectionName"),
        "location": _AZURE_LOCATION,
    },
    "azure-native:network:PrivateEndpoint": {
        "resourceGroupName": _azure_path("resourceGroupName"),
        "privateEndpointName": _azure_path("privateEndpointName"), "location": _AZURE_LOCATION,
        # A customer moved to another endpoint spoke (bridge:customer.endpointSpoke): a new endpoint with a new
        # address, whose connection the platform's owner approves again.
        "subnet.id": Rule(
            "refused", "a private endpoint stays in the subnet it was created in: another subnet (another endpoint "
            "spoke) means a new private endpoint, a new address and a new approval by the platform's owner",
            "hashicorp/terraform-provider-azurerm internal/services/network/private_endpoint_resource.go "
            "(subnet_id is ForceNew)"),
    },
    # --- Equinix ------------------------------------------------------------------------------
    # Connections: the provider has no ForceNew on the inputs used (only geoScope), and its update
    # sends only the name, the bandwidth, the a-side VLAN and the notifications: any other change is
    # dropped with a warning. The component replaces on exactly these (components/cloud_router.py
    # CONNECTION_REPLACE_ON; docs/equinix-changes.md).
    "equinix:fabric/connection:Connection": {
        prop: Rule("refused", f"the provider's update cannot change {label}: it would be dropped silently, so the "
                   "connection is replaced", EQX_CONNECTION)
        for prop, label in (("type", "the connection type"), ("project", "the project"),
                            ("redundancy", "the redundancy group or priority"),
                            ("aSide.accessPoint.type", "the a-side"), ("aSide.accessPoint.router", "the router"),
                            ("zSide.accessPoint.type", "the z-side"), ("zSide.accessPoint.profile", "the profile"),
                            ("zSide.accessPoint.location", "the metro"),
                            ("zSide.accessPoint.sellerRegion", "the AWS region"),
                            ("zSide.accessPoint.authenticationKey", "the AWS account or service key"),
                            ("zSide.accessPoint.peeringType", "the peering type"))
    },
    "equinix:fabric/routingProtocol:RoutingProtocol": {
        "connectionUuid": Rule("refused", "a routing protocol belongs to one connection: the provider updates it "
                               "in place (PUT on the new connection with the old protocol's id), which the Fabric "
                               "API refuses; it is replaced with its connection", EQX_PROTOCOL),
        "type": Rule("refused", "DIRECT and BGP are different protocols: the provider would PUT the new type on the "
                     "old protocol", EQX_PROTOCOL),
    },
    "equinix:fabric/routeFilterRule:RouteFilterRule": {
        "routeFilterId": Rule("refused", "a rule belongs to one filter: the provider PATCHes the old rule under the "
                              "new filter; it is replaced with its filter", EQX_RULE),
    },
    "equinix:fabric/connectionRouteFilter:ConnectionRouteFilter": {
        prop: _replace(f"{EQX_ATTACHMENT} (ForceNew)") for prop in ("connectionId", "routeFilterId")
    },
    "equinix:fabric/cloudRouter:CloudRouter": {
        prop: Rule("refused", "the Fabric API updates only a router's name, package and notifications",
                   "equinix/terraform-provider-equinix equinix/resource_fabric_cloud_router.go "
                   "(getCloudRouterUpdateRequests)")
        for prop in ("location", "type", "project", "account")
    },
    # --- random -------------------------------------------------------------------------------
    "random:index/randomPassword:RandomPassword": {
        prop: _replace("hashicorp/terraform-provider-random internal/provider/resource_password.go "
                       "(every attribute RequiresReplace)", "a new password is generated")
        for prop in ("length", "special", "upper", "lower", "numeric", "minUpper", "minLower", "minNumeric",
                     "minSpecial", "overrideSpecial", "keepers")
    },
    # --- providers ----------------------------------------------------------------------------
    "pulumi:providers:aws": {
        "region": _replace("pulumi/pulumi-aws#4000 (a region change replaces every resource of the provider)",
                           "every resource of this provider is recreated in the new region"),
    },
}


def _matches(path: str, key: str) -> bool:
    return path == key or path.startswith((key + ".", key + "["))


def rule_for(resource_type: str, path: str) -> tuple[str, Rule] | None:
    """The table entry covering a changed input path (``serviceProviderProperties.peeringLocation``,
    ``ingress[0].cidrBlocks[1]``), as (table key, rule); None if the change updates in place."""
    for key, rule in TABLE.get(resource_type, {}).items():
        if _matches(path, key):
            return key, rule
    return None


def replace_on_changes_covers(patterns: list[str], path: str) -> str | None:
    """The ``replaceOnChanges`` pattern of a resource that covers a changed path, if any."""
    for pattern in patterns:
        if pattern == "*" or _matches(path, pattern.replace("[*]", "")):
            return pattern
    return None
