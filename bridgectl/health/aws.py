"""Health from AWS: each router's transit VIF, its BGP peer and the hosted connection under it (boto3).

``DescribeVirtualInterfaces`` returns every VIF of the account in the region, each with
``virtualInterfaceName``, ``virtualInterfaceState`` and ``bgpPeers`` (``customerAddress``,
``bgpPeerState``, ``bgpStatus`` up/down) (AWS Direct Connect API Reference,
https://docs.aws.amazon.com/directconnect/latest/APIReference/API_DescribeVirtualInterfaces.html);
``DescribeConnections`` gives the hosted connection's ``connectionState``
(https://docs.aws.amazon.com/directconnect/latest/APIReference/API_DescribeConnections.html). The VIF
is found by the name the program gives it (``plan.aws_links[].vif_name``) and its BGP peer by the
FCR's address. The API shows neither BFD nor the prefixes a VIF receives; the FCR's route table
(Equinix) and the circuit's (Azure) show the prefixes.

With the IPsec backup (``bridge:vpnBackup``), ``DescribeVpnConnections`` (EC2) gives each backup VPN
connection, found by its ``Name`` tag, with per tunnel its options (``TunnelInsideCidr``,
``OutsideIpAddress``) and its telemetry (``VgwTelemetry``: ``Status`` UP/DOWN and
``AcceptedRouteCount``, matched by outside address)
(https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpnConnections.html,
https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_VgwTelemetry.html). A tunnel must be UP and
accept every prefix Azure advertises over it, so the backup is ready before it is needed.

boto3 is imported only here, when health runs; credentials come from the environment (``AWS_*``,
a profile, or the OIDC role CI assumes).
"""

from __future__ import annotations

from typing import Any

from .model import Observation, ResourceState, SessionObservation

VIF_OK = ("available",)
CONNECTION_OK = ("available",)


class MissingCredentials(Exception):
    """No credentials for a cloud: the message says which variables to set."""


def client(region: str) -> Any:
    """A Direct Connect client for ``region``; :class:`MissingCredentials` when boto3 finds none."""
    import os

    import boto3

    # Credentials from the environment and profiles only: never the instance metadata service, whose
    # probe would reach out of a machine that is not an EC2 instance.
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    session = boto3.Session(region_name=region)
    if session.get_credentials() is None:
        raise MissingCredentials("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, "
                                 "or AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE (CI's OIDC role)")
    return session.client("directconnect")


def ec2_client(region: str) -> Any:
    """An EC2 client for ``region`` (the backup's VPN connections), with the same credentials."""
    import boto3

    return boto3.Session(region_name=region).client("ec2")


def backup_connection_name(stack: str, connection: int) -> str:
    """The ``Name`` tag components/vpn_backup.py gives backup VPN connection 1 or 2."""
    return f"{stack}-backup-vpn{connection}"


def observe_backup(ec2: Any, plan: Any) -> Observation:
    """Each backup tunnel's state and the routes AWS accepts on it (nothing when the plan has no backup)."""
    obs = Observation(read={"aws"})
    backup = plan.backup
    if backup is None:
        return obs
    names = {c: backup_connection_name(plan.stack, c) for c in (1, 2)}
    found = ec2.describe_vpn_connections(Filters=[{"Name": "tag:Name", "Values": sorted(names.values())}])
    live = [v for v in found.get("VpnConnections", []) if v.get("State") not in ("deleted", "deleting")]
    want = len(backup.to_aws)
    for t in backup.tunnels:
        name = names[t.connection]
        subject = f"backup tunnel {t.id} ({name})"
        conns = [v for v in live if {"Key": "Name", "Value": name} in v.get("Tags", [])]
        if not conns:
            obs.resources.append(ResourceState(subject, "vpn-tunnel", "aws", "absent", ("UP",)))
            continue
        conn = conns[0]
        options = [o for o in conn.get("Options", {}).get("TunnelOptions", [])
                   if o.get("TunnelInsideCidr") == str(t.inside)]
        outside = options[0].get("OutsideIpAddress") if options else None
        telemetry = [g for g in conn.get("VgwTelemetry", []) if outside and g.get("OutsideIpAddress") == outside]
        if not telemetry:
            obs.resources.append(ResourceState(subject, "vpn-tunnel", "aws",
                                               f"no tunnel with inside CIDR {t.inside}", ("UP",)))
            continue
        status = str(telemetry[0].get("Status", "unknown"))
        obs.resources.append(ResourceState(f"{subject}, outside {outside}", "vpn-tunnel", "aws", status, ("UP",)))
        accepted = int(telemetry[0].get("AcceptedRouteCount", 0))
        if status == "UP":
            obs.resources.append(ResourceState(f"{subject}: Azure prefixes accepted", "vpn-routes", "aws",
                                               str(accepted), (str(want),)))
    return obs


def _pages(call: Any, key: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paginated Direct Connect list (``nextToken``, pagination added in 2025)."""
    out: list[dict[str, Any]] = []
    token = None
    while True:
        page = call(**params, **({"nextToken": token} if token else {}))
        out += page.get(key, [])
        token = page.get("nextToken")
        if not token:
            return out


def observe(dx: Any, plan: Any) -> Observation:
    """Read the bridge's VIFs, BGP peers and hosted connections with a Direct Connect client."""
    obs = Observation(read={"aws"})
    vifs = _pages(dx.describe_virtual_interfaces, "virtualInterfaces")
    live = [v for v in vifs if v.get("virtualInterfaceState") not in ("deleted", "deleting", "rejected")]
    for link in plan.aws_links:
        sid = f"{link.router}/aws"
        mine = [v for v in live if v.get("virtualInterfaceName") == link.vif_name]
        if not mine:
            obs.sessions.append(SessionObservation(sid, "aws", "absent",
                                                   detail=f"no transit VIF named {link.vif_name}"))
            obs.resources.append(ResourceState(f"transit VIF {link.vif_name}", "vif", "aws", "absent", VIF_OK, sid))
            continue
        vif = mine[0]
        obs.resources.append(ResourceState(f"transit VIF {link.vif_name} ({vif.get('virtualInterfaceId')})", "vif",
                                           "aws", str(vif.get("virtualInterfaceState")), VIF_OK, sid))
        customer = str(link.customer_address).split("/")[0]
        peers = [p for p in vif.get("bgpPeers", []) if str(p.get("customerAddress", "")).split("/")[0] == customer]
        if not peers:
            obs.sessions.append(SessionObservation(sid, "aws", "absent", detail=f"no BGP peer at {customer}"))
        else:
            peer = peers[0]
            obs.sessions.append(SessionObservation(
                sid, "aws", str(peer.get("bgpStatus", "unknown")),
                detail=f"peer {peer.get('bgpPeerId', '?')} {peer.get('bgpPeerState', '?')}"))
        conn_id = vif.get("connectionId")
        if conn_id:
            conns = dx.describe_connections(connectionId=conn_id).get("connections", [])
            state = str(conns[0].get("connectionState")) if conns else "absent"
            obs.resources.append(ResourceState(f"hosted connection {conn_id}", "dx-connection", "aws", state,
                                               CONNECTION_OK, sid))
    return obs
