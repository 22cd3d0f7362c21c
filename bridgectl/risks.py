"""The pull-request gate's risk model: which resource changes put a bridge or a customer at risk.

``bridgectl diff`` compares offline plans resource by resource (bridgectl/diff.py); this module says
which of those changes are risks. It reads resources and their changes, never a list of config keys,
so a change nobody anticipated is judged by what it does to the cloud resources:

* ``replace``: a resource is deleted and created again (its own input forces it, or it consumes an
  id, address or key of a resource that is replaced); a protected one is ``protected-replace``;
* ``customer-facing-delete``: a resource that carries traffic or that a customer sees is deleted
  (a private endpoint, a VPC endpoint, a DNS record or zone, the circuit, a peering, a connection,
  a virtual interface, a routing protocol); a protected one is ``protected-delete``;
* ``disruptive-update``: an input changed in place that the cloud refuses while the resource is in
  use, or whose change interrupts traffic (the table :data:`DISRUPTIVE`, each entry with its source);
* ``endpoint-target-changed``: an endpoint now points at another service: the customer must approve
  the new connection request before traffic flows again;
* ``possible-rename``: an endpoint disappears and another with the same target appears: a rename
  without ``renamedFrom`` recreates the endpoint (docs/stack-config.md, "Renaming an endpoint");
* ``redundancy-lowered``: fewer routers, connections or BGP sessions than before, or a connection
  leaves its redundancy group;
* ``unwatched``: fewer alarms, alert rules or notification targets than before (components/alarms.py):
  past the clouds' API bubble no provider watches the bridge, so losing an alarm is a risk.

Address-plan risks (BGP sessions, renumbered links, prefix budgets, regenerated keys) and the
cross-stack ones (a bridge and customers changed together, a base that cannot be planned, a change
that needs two runs) are read in bridgectl/diff.py. :data:`RULES` lists every kind with what it
means; ``bridgectl diff --rules`` prints it and docs/ci.md explains it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# --- every kind of risk the gate reports ---------------------------------------------------------

RULES: dict[str, str] = {
    "protected-replace": "a protected resource must be replaced (Pulumi refuses until protection is lifted)",
    "protected-delete": "a protected resource is removed from the program",
    "unprotected": "protection is lifted from a resource",
    "replace": "a resource is deleted and created again",
    "customer-facing-delete": "a resource that carries traffic or that a customer sees is deleted",
    "disruptive-update": "an in-place change that the cloud refuses while in use, or that interrupts traffic",
    "endpoint-target-changed": "an endpoint points at another service: its owner must approve a new connection",
    "possible-rename": "an endpoint removed and one with the same target added: a rename without renamedFrom",
    "redundancy-lowered": "fewer routers, connections or BGP sessions, or a connection leaves its redundancy group",
    "unwatched": "fewer alarms, alert rules or notification targets: the bridge stops watching part of itself",
    "bgp-session": "a BGP session's ASN, addresses, VLAN, key, BFD or timers change, or a session is removed",
    "renumbered-link": "a BGP link's addresses change",
    "prefix-budget": "a prefix count passes 80% of the provider's limit",
    "two-runs": "a change the clouds accept only in two deployments, in a given order",
    "mixed-pull-request": "a bridge stack changes in the same pull request as customer stack files",
    "base-unplannable": "the base revision's plan failed, so nothing can be compared",
}

# --- customer-facing resources -------------------------------------------------------------------

#: resource type -> what it is, for the types whose deletion cuts traffic or is seen by a customer
CUSTOMER_FACING: dict[str, str] = {
    "azure-native:network:PrivateEndpoint": "a customer's Azure private endpoint (its owner approved it)",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "a customer's interface VPC endpoint (its service owner accepted it)",
    "aws:redshift/endpointAccess:EndpointAccess": "a customer's Redshift-managed VPC endpoint",
    "aws:route53/record:Record": "a private DNS record the SaaS resolves a customer's platform with",
    "aws:route53/zone:Zone": "a private hosted zone that answers a customer's platform names",
    "azure-native:network:ExpressRouteCircuit": "the ExpressRoute circuit",
    "azure-native:network:ExpressRouteCircuitPeering": "the circuit's private peering (both BGP sessions)",
    "azure-native:network:VirtualNetworkGatewayConnection": "a gateway connection (to the circuit, or a "
                                                             "backup IPsec tunnel)",
    "azure-native:network:VirtualNetworkGateway": "the ExpressRoute gateway or the backup VPN gateway",
    "equinix:fabric/connection:Connection": "an Equinix Fabric connection (a link of the bridge)",
    "equinix:fabric/cloudRouter:CloudRouter": "an Equinix Fabric Cloud Router",
    "equinix:fabric/routingProtocol:RoutingProtocol": "a routing protocol of an Equinix connection (its session)",
    "aws:directconnect/transitVirtualInterface:TransitVirtualInterface": "a transit virtual interface",
    "aws:directconnect/connectionConfirmation:ConnectionConfirmation": "the acceptance of a hosted connection",
    "aws:directconnect/gatewayAssociation:GatewayAssociation": "the Direct Connect gateway's association",
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": "a SaaS VPC's transit gateway attachment",
    "aws:networkmanager/vpcAttachment:VpcAttachment": "a SaaS VPC's Cloud WAN attachment",
    "aws:networkmanager/dxGatewayAttachment:DxGatewayAttachment": "the Direct Connect gateway's Cloud WAN attachment",
}

#: resource type -> what it is, for the types that watch the bridge (components/alarms.py)
WATCHERS: dict[str, str] = {
    "aws:cloudwatch/metricAlarm:MetricAlarm": "CloudWatch alarms",
    "aws:sns/topic:Topic": "SNS topics for the alarms",
    "aws:sns/topicSubscription:TopicSubscription": "alarm e-mail subscriptions",
    "azure-native:monitor:MetricAlert": "Azure Monitor metric alerts",
    "azure-native:monitor:ActionGroup": "Azure Monitor action groups",
    "equinix:fabric/stream:Stream": "Equinix Fabric streams",
    "equinix:fabric/streamAttachment:StreamAttachment": "Fabric stream attachments",
    "equinix:fabric/streamAlertRule:StreamAlertRule": "Fabric stream alert rules",
    "equinix:fabric/streamSubscription:StreamSubscription": "Fabric stream subscriptions",
}

# --- in-place changes that the cloud refuses while in use, or that interrupt traffic -------------

AZURE_SUBNET = ("Microsoft Learn, Add, change, or delete a virtual network subnet: the address range of a subnet "
                "can be changed only when no resource is in it "
                "(https://learn.microsoft.com/azure/virtual-network/virtual-network-manage-subnet#change-subnet-settings)")
AZURE_VNET = ("Microsoft Learn, Create, change, or delete a virtual network: an address range cannot be removed "
              "while a subnet uses it "
              "(https://learn.microsoft.com/azure/virtual-network/manage-virtual-network#add-or-remove-an-address-range)")
AZURE_PEERING = ("Microsoft Learn, Configure peering for an ExpressRoute circuit (Azure CLI), update the private "
                 "peering: the VLAN, peer addresses, peer ASN and shared key are updated in place on the live "
                 "peering (https://learn.microsoft.com/azure/expressroute/expressroute-howto-routing-cli#updateprivate);"
                 " the session is down until the exchange's side matches")
FABRIC_PROTOCOL = ("equinix/terraform-provider-equinix equinix/resource_fabric_routing_protocol.go: an update is "
                   "ReplaceConnectionRoutingProtocolByUuid (PUT /fabric/v4/connections/{id}/routingProtocols/{id}), "
                   "which re-provisions the protocol (https://github.com/equinix/terraform-provider-equinix/blob/"
                   "ec324c2e890c39ac78eb955f9809cc510f98e73f/equinix/resource_fabric_routing_protocol.go)")
DX_GATEWAY = ("AWS Direct Connect User Guide, Direct Connect gateways: allowed prefixes of an association are "
              "re-advertised to the VIF's BGP peer when changed "
              "(https://docs.aws.amazon.com/directconnect/latest/UserGuide/direct-connect-gateways-intro.html)")

VPN_TUNNEL = ("AWS Site-to-Site VPN User Guide, Modify tunnel options: the tunnel is interrupted while the options "
              "are modified (https://docs.aws.amazon.com/vpn/latest/s2svpn/modify-vpn-tunnel-options.html)")
VPN_CONNECTION = ("AWS Site-to-Site VPN User Guide, Modify the target gateway of a VPN connection: connectivity is "
                  "interrupted during the change (https://docs.aws.amazon.com/vpn/latest/s2svpn/"
                  "modify-vpn-target.html)")
AZURE_VPN_CONNECTION = ("Microsoft Learn, How to connect AWS and Azure using a BGP-enabled VPN gateway: each Azure "
                        "connection pairs one AWS tunnel's outside address, inside address and key "
                        "(https://learn.microsoft.com/en-us/azure/vpn-gateway/vpn-gateway-howto-aws-bgp)")


@dataclass(frozen=True)
class Hazard:
    """An input whose in-place change the cloud refuses while the resource is in use, or which
    interrupts traffic."""

    why: str
    source: str
    when: Callable[[Any, Any], bool] | None = None

    def applies(self, old: Any, new: Any) -> bool:
        return self.when is None or self.when(old, new)


def _removes(old: Any, new: Any) -> bool:
    """A list-valued input loses an element (adding one is safe)."""
    before = set(old) if isinstance(old, list | tuple) else {old}
    after = set(new) if isinstance(new, list | tuple) else {new}
    return bool(before - after)


_BGP_RESTART = "the BGP session restarts with the new setting (traffic moves to the other path meanwhile)"

#: resource type -> input path -> hazard
DISRUPTIVE: dict[str, dict[str, Hazard]] = {
    "azure-native:network:Subnet": {
        "addressPrefix": Hazard("Azure refuses to change the prefix of a subnet in use (the ExpressRoute gateway "
                                "sits in GatewaySubnet, the customers' private endpoints in the endpoint subnet): "
                                "the deploy fails, or the resources must be removed first (an outage)", AZURE_SUBNET),
        "addressPrefixes": Hazard("Azure refuses to change the prefixes of a subnet in use", AZURE_SUBNET),
    },
    "azure-native:network:VirtualNetwork": {
        "addressSpace.addressPrefixes": Hazard(
            "an address range is removed from the hub VNet while its subnets use it: Azure refuses", AZURE_VNET,
            _removes),
    },
    "azure-native:network:ExpressRouteCircuitPeering": {
        prop: Hazard(f"the private peering's {label} changes: {_BGP_RESTART}; both ends must change together",
                     AZURE_PEERING)
        for prop, label in (("vlanId", "VLAN"), ("primaryPeerAddressPrefix", "primary link addresses"),
                            ("secondaryPeerAddressPrefix", "secondary link addresses"), ("peerASN", "peer ASN"),
                            ("sharedKey", "MD5 key"))
    },
    "equinix:fabric/routingProtocol:RoutingProtocol": {
        prop: Hazard(f"the FCR's {label} changes: {_BGP_RESTART}", FABRIC_PROTOCOL)
        for prop, label in (("directIpv4", "interface address"), ("bgpIpv4", "BGP peer address"),
                            ("customerAsn", "peer ASN"), ("bgpAuthKey", "MD5 key"), ("bfd", "BFD settings"))
    },
    # The IPsec backup (components/vpn_backup.py): a key or address change resets the tunnel until both clouds
    # have the new value; one run updates both, but not at the same instant.
    "aws:ec2/vpnConnection:VpnConnection": {
        **{prop: Hazard(f"{label}: AWS resets the tunnel (ModifyVpnTunnelOptions) and it stays down until the Azure "
                        "connection has the same key; the backup runs on its other tunnels meanwhile", VPN_TUNNEL)
           for prop, label in (("tunnel1PresharedKey", "tunnel 1's pre-shared key changes"),
                               ("tunnel2PresharedKey", "tunnel 2's pre-shared key changes"))},
        "customerGatewayId": Hazard("the VPN connection moves to another customer gateway (a new Azure public IP): "
                                    "both tunnels reset (ModifyVpnConnection)", VPN_CONNECTION),
        "transitGatewayId": Hazard("the VPN connection moves to another transit gateway: both tunnels reset and its "
                                   "attachment, routes and propagations are new", VPN_CONNECTION),
    },
    "azure-native:network:VirtualNetworkGatewayConnection": {
        "sharedKey": Hazard("an IPsec connection's pre-shared key changes: the tunnel is down until the AWS tunnel "
                            "has the same key", AZURE_VPN_CONNECTION),
        "gatewayCustomBgpIpAddresses": Hazard("the Azure BGP addresses of a tunnel change: its BGP sessions restart",
                                              AZURE_VPN_CONNECTION),
    },
    "azure-native:network:LocalNetworkGateway": {
        "gatewayIpAddress": Hazard("an AWS tunnel's outside address changes (a new VPN connection): Azure reconnects "
                                   "the tunnel to the new address; both sides must be updated", AZURE_VPN_CONNECTION),
        "bgpSettings": Hazard("an AWS tunnel's BGP address or ASN changes: its BGP session restarts",
                              AZURE_VPN_CONNECTION),
    },
    "azure-native:network:VirtualNetworkGateway": {
        "bgpSettings": Hazard("the VPN gateway's ASN or custom BGP addresses change: every backup BGP session restarts",
                              AZURE_VPN_CONNECTION),
    },
    "aws:directconnect/gatewayAssociation:GatewayAssociation": {
        "allowedPrefixes": Hazard("the prefixes the Direct Connect gateway advertises to the exchange change: a "
                                  "removed prefix stops being reachable from Azure", DX_GATEWAY, _removes),
    },
}

# --- endpoints: what a customer approved -------------------------------------------------------

#: resource type -> the inputs naming the service an endpoint connects to
ENDPOINT_TARGETS: dict[str, tuple[str, ...]] = {
    "azure-native:network:PrivateEndpoint": ("manualPrivateLinkServiceConnections[*].privateLinkServiceId",
                                             "manualPrivateLinkServiceConnections[*].groupIds"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("serviceName",),
    "aws:redshift/endpointAccess:EndpointAccess": ("clusterIdentifier", "resourceOwner"),
}
ENDPOINT_ACTION = {
    "azure-native:network:PrivateEndpoint": "the platform's owner must approve the new private endpoint connection "
                                            "request (Azure portal: Private Link Center, pending connections)",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "the service owner must accept the new VPC endpoint connection "
                                       "(AcceptVpcEndpointConnections), unless it accepts automatically",
    "aws:redshift/endpointAccess:EndpointAccess": "the cluster owner must authorize the SaaS account for the new "
                                                  "cluster (AuthorizeEndpointAccess)",
}


def disruptive(resource_type: str, path: str) -> tuple[str, Hazard] | None:
    """The hazard covering a changed input path (``addressSpace.addressPrefixes``, ``bfd.interval``)."""
    for key, hazard in DISRUPTIVE.get(resource_type, {}).items():
        if path == key or path.startswith((key + ".", key + "[")):
            return key, hazard
    return None


def endpoint_target(resource_type: str, path: str) -> bool:
    """A changed path names the endpoint's service (``[*]`` stands for any element of a list)."""
    for key in ENDPOINT_TARGETS.get(resource_type, ()):
        pattern = "^" + re.escape(key).replace(re.escape("[*]"), r"\[[^\]]*\]") + r"($|[.\[])"
        if re.match(pattern, path):
            return True
    return False


def target_of(resource: dict[str, Any]) -> str | None:
    """What an endpoint resource connects to (its service), to recognise a renamed endpoint."""
    inputs = resource.get("inputs", {})
    if resource["type"] == "azure-native:network:PrivateEndpoint":
        conns = inputs.get("manualPrivateLinkServiceConnections") or []
        return ";".join(sorted(str(c.get("privateLinkServiceId")) + "/" + ",".join(c.get("groupIds") or [])
                               for c in conns if isinstance(c, dict))) or None
    if resource["type"] == "aws:ec2/vpcEndpoint:VpcEndpoint":
        return f"{inputs.get('serviceName')}@{inputs.get('vpcId')}"
    if resource["type"] == "aws:redshift/endpointAccess:EndpointAccess":
        return f"{inputs.get('clusterIdentifier')}@{inputs.get('resourceOwner')}"
    return None
