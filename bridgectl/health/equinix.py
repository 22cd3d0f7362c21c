"""Health from Equinix: the Fabric Cloud Routers, their connections, the BGP routing protocol on each
connection, and each router's route table (Fabric v4 REST, https://api.equinix.com).

Endpoints (equinix/equinix-sdk-python ``services/fabricv4/docs``: CloudRoutersApi.md,
ConnectionsApi.md, RoutingProtocolsApi.md):

* ``POST /fabric/v4/routers/search`` and ``POST /fabric/v4/connections/search``, filtered by name
  (the program names every router and connection): ``state`` (``PROVISIONED`` for a router,
  ``ACTIVE`` for a connection) and ``operation.equinixStatus`` (``PROVISIONED``);
* ``GET /fabric/v4/connections/{id}/routingProtocols``: the ``BGP`` protocol's ``state``
  (``PROVISIONED``), ``bgpIpv4.customerPeerIp`` and ``bgpIpv4.operation.operationalStatus``
  (``UP``/``DOWN``/``UNKNOWN``: the session), ``bfd.enabled`` (BFD's configuration; its state is not
  shown);
* ``POST /fabric/v4/routers/{id}/routes/search``: route table entries (``prefix``, ``nextHop``,
  ``type`` ``IPv4_BGP_ROUTE``, ``state`` ``ACTIVE``, ``connection``): what the FCR received on
  each session (next hop the session's cloud peer), and the count against the package's limit;
* ``POST /fabric/v4/connections/{id}/advertisedRoutes/search`` (``ConnectionRouteTableEntry``):
  what the FCR sends the cloud on each session. AWS shows no received prefixes per VIF, so this is
  the bridge's view of what AWS receives, and its count is held against AWS's 100-route limit.

Authentication: an OAuth2 client-credentials token from ``POST /oauth2/v1/token`` with
``EQUINIX_API_CLIENTID`` and ``EQUINIX_API_CLIENTSECRET`` (the variables the Equinix provider reads),
or a token in ``EQUINIX_API_TOKEN``. HTTP is the standard library's urllib: no SDK.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from .model import Observation, ResourceState, RouteCount, SessionObservation

API = "https://api.equinix.com"
TIMEOUT_S = 30
PAGE = 100

Http = Callable[[str, str, dict[str, Any] | None], dict[str, Any]]


class ApiError(Exception):
    """An answer other than success from Fabric; the message has the status and Equinix's error text."""


def token_from_env(post: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None) -> str:
    from .aws import MissingCredentials

    token = os.environ.get("EQUINIX_API_TOKEN")
    if token:
        return token
    client_id, secret = os.environ.get("EQUINIX_API_CLIENTID"), os.environ.get("EQUINIX_API_CLIENTSECRET")
    if not client_id or not secret:
        raise MissingCredentials("no Equinix credentials: set EQUINIX_API_CLIENTID and EQUINIX_API_CLIENTSECRET "
                                 "(or EQUINIX_API_TOKEN)")
    send = post or (lambda path, body: _request("POST", path, body, None))
    answer = send("/oauth2/v1/token", {"grant_type": "client_credentials", "client_id": client_id,
                                       "client_secret": secret})
    return str(answer["access_token"])


def _request(method: str, path: str, body: dict[str, Any] | None, token: str | None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(f"{API}{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
            return dict(json.loads(resp.read() or b"{}"))
    except urllib.error.HTTPError as exc:
        raise ApiError(f"{method} {path}: HTTP {exc.code} {exc.read()[:300].decode(errors='replace')}") from None
    except urllib.error.URLError as exc:
        raise ApiError(f"{method} {path}: {exc.reason}") from None


def http_client(token: str) -> Http:
    return lambda method, path, body: _request(method, path, body, token)


def _by_name(http: Http, what: str, name: str, project_id: str) -> dict[str, Any] | None:
    answer = http("POST", f"/fabric/v4/{what}/search", {"filter": {"and": [
        {"property": "/name", "operator": "=", "values": [name]},
        {"property": "/project/projectId", "operator": "=", "values": [project_id]}]}})
    live = [d for d in answer.get("data", []) if d.get("state") not in ("DEPROVISIONED", "DELETED")]
    return live[0] if live else None


def _routes(http: Http, router_id: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    offset = 0
    while True:
        answer = http("POST", f"/fabric/v4/routers/{router_id}/routes/search", {
            "filter": {"and": [{"property": "/type", "operator": "IN", "values": ["IPv4_BGP_ROUTE"]}]},
            "pagination": {"offset": offset, "limit": PAGE}})
        data = answer.get("data", [])
        out += data
        total = int(answer.get("pagination", {}).get("total", len(out)))
        offset += PAGE
        if not data or len(out) >= total:
            return out


def _advertised(http: Http, connection_id: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    offset = 0
    while True:
        answer = http("POST", f"/fabric/v4/connections/{connection_id}/advertisedRoutes/search",
                      {"pagination": {"offset": offset, "limit": PAGE}})
        data = answer.get("data", [])
        out += data
        total = int(answer.get("pagination", {}).get("total", len(out)))
        offset += PAGE
        if not data or len(out) >= total:
            return out


def observe(http: Http, plan: Any, project_id: str, package_limit: int | None) -> Observation:
    """Read routers, connections, BGP protocols and route tables of the plan's routers."""
    obs = Observation(read={"equinix"})
    tables: dict[str, list[dict[str, Any]]] = {}
    for r in plan.routers:
        router = _by_name(http, "routers", r.name, project_id)
        if router is None:
            obs.resources.append(ResourceState(f"cloud router {r.name}", "fabric-router", "equinix", "absent",
                                               ("PROVISIONED",)))
            continue
        obs.resources.append(ResourceState(f"cloud router {r.name}", "fabric-router", "equinix",
                                           str(router.get("state")), ("PROVISIONED",)))
        tables[r.name] = _routes(http, str(router["uuid"]))
        if package_limit:
            obs.route_counts.append(RouteCount(f"cloud router {r.name}", "equinix", len(tables[r.name]),
                                               package_limit, "IPv4 routes of the FCR package"))
    for s in plan.sessions:
        conn = _by_name(http, "connections", s.equinix_connection, project_id)
        if conn is None:
            obs.resources.append(ResourceState(f"connection {s.equinix_connection}", "fabric-connection",
                                               "equinix", "absent", ("ACTIVE",), s.id))
            obs.sessions.append(SessionObservation(s.id, "equinix", "absent", detail="no connection"))
            continue
        obs.resources.append(ResourceState(f"connection {s.equinix_connection}", "fabric-connection", "equinix",
                                           str(conn.get("state")), ("ACTIVE",), s.id))
        status = str(conn.get("operation", {}).get("equinixStatus", "PROVISIONED"))
        obs.resources.append(ResourceState(f"connection {s.equinix_connection} provisioning", "fabric-connection",
                                           "equinix", status, ("PROVISIONED",), s.id))
        protocols = http("GET", f"/fabric/v4/connections/{conn['uuid']}/routingProtocols", None).get("data", [])
        bgp = next((p for p in protocols if p.get("type") == "BGP"), None)
        if bgp is None:
            obs.sessions.append(SessionObservation(s.id, "equinix", "absent", detail="no BGP routing protocol"))
            continue
        obs.resources.append(ResourceState(f"BGP protocol of {s.equinix_connection}", "routing-protocol", "equinix",
                                           str(bgp.get("state")), ("PROVISIONED",), s.id))
        v4 = bgp.get("bgpIpv4", {})
        state = str(v4.get("operation", {}).get("operationalStatus", "UNKNOWN"))
        peer = str(v4.get("customerPeerIp", "")).split("/")[0]
        table = tables.get(s.router)
        received = None
        if table is not None and state == "UP":
            received = tuple(sorted({str(e["prefix"]) for e in table if e.get("state", "ACTIVE") == "ACTIVE"
                                     and (str(e.get("nextHop")) == peer
                                          or e.get("connection", {}).get("name") == s.equinix_connection)}))
        elif table is not None:
            received = ()
        sent: tuple[str, ...] = ()
        if state == "UP":
            sent = tuple(sorted({str(e["prefix"]) for e in _advertised(http, str(conn["uuid"]))
                                 if e.get("state", "ACTIVE") == "ACTIVE" and e.get("prefix")}))
        obs.sessions.append(SessionObservation(
            s.id, "equinix", "up" if state == "UP" else state.lower(), to_fcr=received, to_cloud=sent,
            detail=f"BFD {'configured' if bgp.get('bfd', {}).get('enabled') else 'not configured'}"))
    return obs
