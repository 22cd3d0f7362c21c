"""Health from Azure: the circuit, its private peering, the Microsoft edges' tables and the gateway's
learned routes (the Azure SDK for Python, ``azure-mgmt-network``).

Every circuit of the plan is read (``bridge:azure.circuit``, then ``secondCircuit``), each session on
the circuit its router carries. Operations used, each per device path (``primary``, ``secondary``:
the two Microsoft edges)
(https://learn.microsoft.com/python/api/azure-mgmt-network/azure.mgmt.network.operations.expressroutecircuitsoperations):

* ``express_route_circuits.get``: ``serviceProviderProvisioningState`` (``Provisioned``) and
  ``circuitProvisioningState`` (``Enabled``);
* ``express_route_circuit_peerings.get(..., "AzurePrivatePeering")``: ``state`` (``Enabled``);
* ``begin_list_routes_table_summary``: per BGP neighbour ``statePfxRcd``, the prefix count when the
  session is up, else the BGP state (``Idle``, ``Active``): the session's state;
* ``begin_list_routes_table``: the edge's routes; those whose next hop is the FCR are what the edge
  received on the session;
* ``begin_list_arp_table``: whether the edge resolves the FCR's address (layer 2 of the link);
* ``virtual_network_gateways.begin_get_learned_routes``: the ExpressRoute gateway's routes, to count
  against its limit and to find AWS prefixes with no path left.

With the IPsec backup (``bridge:vpnBackup``): each backup connection's ``connectionStatus``
(``virtual_network_gateway_connections.get``: ``Connected``) and the VPN gateway's BGP peers
(``virtual_network_gateways.begin_get_bgp_peer_status``: ``state`` ``Connected`` and ``routesReceived``
per neighbour, the AWS inside addresses)
(https://learn.microsoft.com/rest/api/network-gateway/virtual-network-gateways/get-bgp-peer-status).

Azure shows no BFD state. Credentials: ``DefaultAzureCredential`` (``AZURE_CLIENT_ID``,
``AZURE_TENANT_ID`` with a secret or CI's federated token; ``ARM_*`` names are mapped).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from .model import EdgeRoutes, Observation, ResourceState, RouteCount, SessionObservation

PEERING = "AzurePrivatePeering"
PATHS = {"primary": "primary", "secondary": "secondary"}

# The Terraform / Pulumi names CI already sets, and the names azure-identity reads.
ENV_ALIASES = {"ARM_CLIENT_ID": "AZURE_CLIENT_ID", "ARM_TENANT_ID": "AZURE_TENANT_ID",
               "ARM_CLIENT_SECRET": "AZURE_CLIENT_SECRET"}


def _text(value: Any) -> str:
    """An SDK enum's value (``Provisioned``), or the string itself."""
    return str(getattr(value, "value", value) or "")


def client(subscription_id: str) -> Any:
    """A NetworkManagementClient with the environment's credentials (MissingCredentials when none)."""
    from .aws import MissingCredentials

    for arm, azure in ENV_ALIASES.items():
        if os.environ.get(arm) and not os.environ.get(azure):
            os.environ[azure] = os.environ[arm]
    if not (os.environ.get("AZURE_CLIENT_ID") or os.environ.get("AZURE_FEDERATED_TOKEN_FILE")
            or os.environ.get("IDENTITY_ENDPOINT") or os.environ.get("AZURE_USERNAME")):
        raise MissingCredentials("no Azure credentials: set AZURE_CLIENT_ID and AZURE_TENANT_ID with "
                                 "AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE (CI's OIDC), or ARM_* equivalents")
    from azure.identity import DefaultAzureCredential
    from azure.mgmt.network import NetworkManagementClient

    return NetworkManagementClient(DefaultAzureCredential(exclude_interactive_browser_credential=True),
                                   subscription_id)


def observe(net: Any, plan: Any, resource_group: str, circuits: str | Sequence[str], gateway: str,
            gateway_limit: int) -> Observation:
    """Read each circuit, its peering, both edges' tables and the gateway's learned routes.
    ``circuits`` names the circuits in the order of ``plan.circuits`` (``bridge:azure.circuit``, then
    ``secondCircuit``); a single name is the first circuit's."""
    names = [circuits] if isinstance(circuits, str) else list(circuits)
    obs = Observation(read={"azure"})
    planned = plan.circuits or (plan.azure,)
    if len(names) != len(planned):
        raise ValueError(f"the plan has {len(planned)} circuit(s), {len(names)} name(s) given")
    for peering_plan, circuit in zip(planned, names, strict=True):
        _observe_circuit(net, plan, obs, resource_group, circuit, peering_plan.routers)
    learned = net.virtual_network_gateways.begin_get_learned_routes(resource_group, gateway).result().value or []
    networks = {str(r.network) for r in learned}
    obs.route_counts.append(RouteCount(f"gateway {gateway}", "azure", len(networks), gateway_limit,
                                       "routes the ExpressRoute gateway learns"))
    obs.edges.append(EdgeRoutes(f"gateway {gateway}", "azure", tuple(str(p) for p in plan.aws_prefixes),
                                tuple(sorted(networks))))
    return obs


def _observe_circuit(net: Any, plan: Any, obs: Observation, resource_group: str, circuit: str,
                     routers: Sequence[str]) -> None:
    """One circuit: its states, its peering, and the sessions of the routers that carry it."""
    c = net.express_route_circuits.get(resource_group, circuit)
    obs.resources.append(ResourceState(f"circuit {circuit} provider state", "circuit", "azure",
                                       _text(c.service_provider_provisioning_state), ("Provisioned",)))
    obs.resources.append(ResourceState(f"circuit {circuit}", "circuit", "azure",
                                       _text(c.circuit_provisioning_state), ("Enabled",)))
    peering = net.express_route_circuit_peerings.get(resource_group, circuit, PEERING)
    obs.resources.append(ResourceState(f"circuit {circuit} {PEERING}", "peering", "azure", _text(peering.state),
                                       ("Enabled",)))
    for s in (s for s in plan.sessions if s.kind == "azure" and s.router in routers):
        path = PATHS[str(s.priority)]
        fcr = str(s.fcr.ip)
        summary = net.express_route_circuits.begin_list_routes_table_summary(
            resource_group, circuit, PEERING, path).result().value or []
        mine = [row for row in summary if str(row.neighbor) == fcr]
        if not mine:
            obs.sessions.append(SessionObservation(s.id, "azure", "absent",
                                                   detail=f"no neighbour {fcr} on {path} of {circuit}"))
            continue
        received_or_state = str(mine[0].state_pfx_rcd or "")
        up = received_or_state.isdigit()
        routes = net.express_route_circuits.begin_list_routes_table(
            resource_group, circuit, PEERING, path).result().value or [] if up else []
        arp = net.express_route_circuits.begin_list_arp_table(resource_group, circuit, PEERING, path).result().value
        resolved = any(str(a.ip_address) == fcr for a in arp or [])
        obs.sessions.append(SessionObservation(
            s.id, "azure", "up" if up else received_or_state,
            to_cloud=tuple(sorted({str(r.network) for r in routes if str(r.next_hop) == fcr})) if up else (),
            detail=f"{path} edge of {circuit}; ARP {'resolves' if resolved else 'does not resolve'} {fcr}"))


def observe_backup(net: Any, plan: Any, resource_group: str, gateway: str,
                   connection_name: Any) -> Observation:
    """Each backup tunnel's IPsec connection and BGP peer on the Azure VPN gateway (nothing without a
    backup). ``connection_name`` maps a tunnel id to its connection's name."""
    obs = Observation(read={"azure"})
    backup = plan.backup
    if backup is None:
        return obs
    peers = net.virtual_network_gateways.begin_get_bgp_peer_status(resource_group, gateway).result().value or []
    want = len(backup.to_azure)
    for t in backup.tunnels:
        name = connection_name(t.id)
        conn = net.virtual_network_gateway_connections.get(resource_group, name)
        obs.resources.append(ResourceState(f"backup connection {name}", "vpn-connection", "azure",
                                           _text(conn.connection_status), ("Connected",)))
        mine = [p for p in peers if str(p.neighbor) == str(t.aws.ip)]
        # Active-active: the gateway lists a neighbour once per instance; the tunnel's own instance connects.
        up = [p for p in mine if _text(p.state) == "Connected"]
        state = "Connected" if up else (_text(mine[0].state) if mine else "absent")
        obs.resources.append(ResourceState(f"backup BGP peer {t.aws.ip} ({t.id}) on {gateway}", "vpn-bgp", "azure",
                                           state, ("Connected",)))
        if up:
            received = max(int(p.routes_received or 0) for p in up)
            obs.resources.append(ResourceState(f"backup BGP peer {t.aws.ip} ({t.id}): AWS prefixes received",
                                               "vpn-routes", "azure", str(received), (str(want),)))
    return obs
