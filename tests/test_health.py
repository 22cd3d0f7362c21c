"""`bridgectl health`: the cloud readers on recorded responses (the APIs' documented shapes, no
network), the evaluation against the plan, the command's exit codes, and the twin's match test.

AWS answers go through botocore's Stubber, which checks every recorded response against the
Direct Connect service model; Azure answers are built into the SDK's own models from their REST
JSON; Equinix answers are Fabric v4 JSON served by path.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from bridgectl.cli import main
from bridgectl.health import aws, azure, equinix
from bridgectl.health.model import (
    Expected,
    Observation,
    PlannedSession,
    Report,
    SessionObservation,
    evaluate,
    expected_from_plan,
    fault_footprint,
    matches,
)
from stacks.loader import load_stack
from stacks.plan import BridgePlan, plan_bridge
from stacks.spec import BridgeSpec

ROOT = Path(__file__).resolve().parent.parent
FIX = Path(__file__).resolve().parent / "fixtures" / "health"
CREDENTIAL_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                   "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AZURE_CLIENT_ID", "AZURE_TENANT_ID",
                   "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE", "ARM_CLIENT_ID", "ARM_TENANT_ID",
                   "ARM_CLIENT_SECRET", "IDENTITY_ENDPOINT", "AZURE_USERNAME", "EQUINIX_API_CLIENTID",
                   "EQUINIX_API_CLIENTSECRET", "EQUINIX_API_TOKEN")


def fixture(name: str) -> Any:
    return json.loads((FIX / name).read_text())


@pytest.fixture(scope="module")
def dev() -> tuple[BridgePlan, BridgeSpec]:
    spec = load_stack(ROOT, "dev").spec
    assert isinstance(spec, BridgeSpec)
    return plan_bridge(spec), spec


# --- AWS ------------------------------------------------------------------------------------------------


def dx_client(vifs: dict[str, Any]) -> Any:
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("directconnect", region_name="us-east-1", aws_access_key_id="recorded",
                          aws_secret_access_key="recorded")
    stub = Stubber(client)
    stub.add_response("describe_virtual_interfaces", vifs, {})
    stub.add_response("describe_connections", fixture("aws-describe-connections-a.json"),
                      {"connectionId": "dxcon-aaaaaaaa"})
    stub.add_response("describe_connections", fixture("aws-describe-connections-b.json"),
                      {"connectionId": "dxcon-bbbbbbbb"})
    stub.activate()
    return client


def states(report: Any) -> list[Any]:
    """The findings about resource states (the backup's tunnels, connections, peers and their routes)."""
    return [f for f in report.findings if f.kind == "resource-state"]


def vpn_connections(plan: BridgePlan, down: tuple[str, ...] = (), accepted: int | None = None,
                    missing: tuple[int, ...] = ()) -> dict[str, Any]:
    """DescribeVpnConnections as AWS answers it for the plan's backup: both connections, each with two
    tunnels (options and telemetry by outside address)."""
    assert plan.backup is not None
    n = len(plan.backup.to_aws) if accepted is None else accepted
    out = []
    for c in (1, 2):
        if c in missing:
            continue
        tunnels = [t for t in plan.backup.tunnels if t.connection == c]
        outside = {t.id: f"203.0.113.{10 * c + t.tunnel}" for t in tunnels}
        out.append({
            "VpnConnectionId": f"vpn-0000000{c}", "State": "available", "Type": "ipsec.1", "CustomerGatewayId": "cgw-1",
            "Tags": [{"Key": "Name", "Value": aws.backup_connection_name(plan.stack, c)}],
            "Options": {"TunnelOptions": [{"OutsideIpAddress": outside[t.id], "TunnelInsideCidr": str(t.inside)}
                                          for t in tunnels]},
            "VgwTelemetry": [{"OutsideIpAddress": outside[t.id], "Status": "DOWN" if t.id in down else "UP",
                              "AcceptedRouteCount": n} for t in tunnels]})
    return {"VpnConnections": out}


def ec2_client(plan: BridgePlan, answer: dict[str, Any]) -> Any:
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("ec2", region_name="us-east-1", aws_access_key_id="recorded",
                          aws_secret_access_key="recorded")
    stub = Stubber(client)
    stub.add_response("describe_vpn_connections", answer, {"Filters": [{"Name": "tag:Name", "Values": [
        aws.backup_connection_name(plan.stack, 1), aws.backup_connection_name(plan.stack, 2)]}]})
    stub.activate()
    return client


def test_aws_reader_finds_each_backup_tunnel_and_says_when_it_is_not_ready(dev: tuple[BridgePlan, BridgeSpec]) -> None:
    plan, _ = dev
    assert plan.backup is not None
    expected = expected_from_plan(plan)
    ready = aws.observe_backup(ec2_client(plan, vpn_connections(plan)), plan)
    assert len([r for r in ready.resources if r.kind == "vpn-tunnel"]) == 4
    assert not states(evaluate(expected, ready))
    # A tunnel down, and one that accepts fewer prefixes than Azure advertises.
    report = evaluate(expected, aws.observe_backup(ec2_client(plan, vpn_connections(plan, down=("vpn2-t1",))), plan))
    assert [(f.subject.split(",")[0], f.seen) for f in states(report)] == [("backup tunnel vpn2-t1 (dev-backup-vpn2)",
                                                                             "DOWN")]
    report = evaluate(expected, aws.observe_backup(ec2_client(plan, vpn_connections(plan, accepted=0)), plan))
    assert {f.seen for f in states(report)} == {"0"} and len(states(report)) == 4
    # A connection that is not there at all.
    report = evaluate(expected, aws.observe_backup(ec2_client(plan, vpn_connections(plan, missing=(1,))), plan))
    assert {f.subject for f in states(report)} == {"backup tunnel vpn1-t1 (dev-backup-vpn1)",
                                                   "backup tunnel vpn1-t2 (dev-backup-vpn1)"}


def test_backup_connections_carry_the_name_health_looks_for(tmp_path: Path) -> None:
    from bridgectl.offline import offline_plan
    from components.vpn_backup import connection_name

    for name in ("Pulumi.yaml", "__main__.py", "Pulumi.dev.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    planned = offline_plan(tmp_path, "dev")
    tags = {r["inputs"]["tags"]["Name"] for r in planned["resources"]
            if r["type"] == "aws:ec2/vpnConnection:VpnConnection"}
    assert tags == {aws.backup_connection_name("dev", 1), aws.backup_connection_name("dev", 2)}
    names = {r["inputs"]["virtualNetworkGatewayConnectionName"] for r in planned["resources"]
             if r["type"].endswith("network:VirtualNetworkGatewayConnection")
             and r["inputs"].get("connectionType") == "IPsec"}
    assert names == {connection_name("dev", t) for t in ("vpn1-t1", "vpn1-t2", "vpn2-t1", "vpn2-t2")}


def test_aws_reader_finds_each_vif_by_name_and_its_peer_by_address(dev: tuple[BridgePlan, BridgeSpec]) -> None:
    plan, _ = dev
    obs = aws.observe(dx_client(fixture("aws-describe-virtual-interfaces.json")), plan)
    assert {(o.session, o.state) for o in obs.sessions} == {("fcr-a/aws", "up"), ("fcr-b/aws", "up")}
    assert {r.state for r in obs.resources} == {"available"}
    assert evaluate(expected_from_plan(plan), obs).sessions_named() == set()


def test_aws_reader_reports_a_down_peer_and_a_missing_vif(dev: tuple[BridgePlan, BridgeSpec]) -> None:
    plan, _ = dev
    answer = fixture("aws-describe-virtual-interfaces.json")
    answer["virtualInterfaces"][0]["bgpPeers"][0]["bgpStatus"] = "down"
    obs = aws.observe(dx_client(answer), plan)
    report = evaluate(expected_from_plan(plan), obs)
    down = [f for f in report.findings if f.kind == "session-down"]
    assert [f.subject for f in down] == ["fcr-a/aws"] and down[0].seen == "down at aws"
    assert down[0].runbook == "docs/runbook-network.md#health-session-down"

    import boto3
    from botocore.stub import Stubber

    client = boto3.client("directconnect", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    stub.add_response("describe_virtual_interfaces", {"virtualInterfaces": []}, {})
    stub.activate()
    report = evaluate(expected_from_plan(plan), aws.observe(client, plan))
    assert {"fcr-a/aws", "fcr-b/aws"} <= report.sessions_named()
    assert any(f.kind == "resource-state" and "dev-fcr-a" in f.subject and f.seen == "absent" for f in report.findings)


# --- Azure ----------------------------------------------------------------------------------------------


class _Poller:
    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self) -> Any:
        return self.value


class FakeAzure:
    """A NetworkManagementClient with the same operation names, answering SDK models from REST JSON."""

    def __init__(self, overrides: dict[str, Any] | None = None) -> None:
        from azure.mgmt.network import models as m

        self.m, self.o = m, overrides or {}
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.express_route_circuits = self
        self.express_route_circuit_peerings = _Peerings(self)
        self.virtual_network_gateways = _Gateways(self)
        self.virtual_network_gateway_connections = _Connections(self)

    def answer(self, name: str) -> Any:
        return copy.deepcopy(self.o.get(name) or fixture(name))

    def get(self, rg: str, circuit: str) -> Any:
        self.calls.append(("circuit", (rg, circuit)))
        return self.m.ExpressRouteCircuit(self.answer("azure-circuit.json"))

    def begin_list_routes_table_summary(self, rg: str, circuit: str, peering: str, path: str) -> _Poller:
        self.calls.append(("summary", (rg, circuit, peering, path)))
        return _Poller(self.m.ExpressRouteCircuitsRoutesTableSummaryListResult(
            self.answer(f"azure-routes-summary-{path}.json")))

    def begin_list_routes_table(self, rg: str, circuit: str, peering: str, path: str) -> _Poller:
        return _Poller(self.m.ExpressRouteCircuitsRoutesTableListResult(self.answer(f"azure-routes-{path}.json")))

    def begin_list_arp_table(self, rg: str, circuit: str, peering: str, path: str) -> _Poller:
        return _Poller(self.m.ExpressRouteCircuitsArpTableListResult(self.answer(f"azure-arp-{path}.json")))


class _Peerings:
    def __init__(self, outer: FakeAzure) -> None:
        self.outer = outer

    def get(self, rg: str, circuit: str, peering: str) -> Any:
        self.outer.calls.append(("peering", (rg, circuit, peering)))
        return self.outer.m.ExpressRouteCircuitPeering(self.outer.answer("azure-peering.json"))


class _Gateways:
    def __init__(self, outer: FakeAzure) -> None:
        self.outer = outer

    def begin_get_bgp_peer_status(self, rg: str, gateway: str) -> _Poller:
        self.outer.calls.append(("bgp-peers", (rg, gateway)))
        return _Poller(self.outer.m.BgpPeerStatusListResult(value=self.outer.o.get("bgp-peers", [])))

    def begin_get_learned_routes(self, rg: str, gateway: str) -> _Poller:
        self.outer.calls.append(("learned", (rg, gateway)))
        return _Poller(self.outer.m.GatewayRouteListResult(self.outer.answer("azure-gateway-learned-routes.json")))


class _Connections:
    """The backup's IPsec connections: Connected unless named in ``down``."""

    def __init__(self, outer: FakeAzure) -> None:
        self.outer = outer

    def get(self, rg: str, name: str) -> Any:
        self.outer.calls.append(("connection", (rg, name)))
        status = "NotConnected" if name in self.outer.o.get("down-connections", ()) else "Connected"
        return self.outer.m.VirtualNetworkGatewayConnection(
            virtual_network_gateway1=self.outer.m.VirtualNetworkGateway(), connection_type="IPsec",
            connection_status=status)


def backup_peers(plan: BridgePlan, down: tuple[str, ...] = (), received: int | None = None) -> list[Any]:
    """The VPN gateway's BGP peers as the API lists them: each AWS inside address once per instance, the
    tunnel's own instance Connected (unless its tunnel is in ``down``), the other Connecting."""
    from azure.mgmt.network import models as m

    assert plan.backup is not None
    n = len(plan.backup.to_aws) if received is None else received
    return [m.BgpPeerStatus(neighbor=str(t.aws.ip), asn=t.aws.asn, state="Connecting" if (
        i != t.instance or t.id in down) else "Connected", routes_received=n if i == t.instance else 0)
        for t in plan.backup.tunnels for i in (0, 1)]


def azure_obs(plan: BridgePlan, fake: FakeAzure) -> Observation:
    return azure.observe(fake, plan, "rg-bridge-dev", "erc-dev", "ergw-dev", 4000)


def test_azure_reader_reads_both_edges_the_peering_and_the_gateway(dev: tuple[BridgePlan, BridgeSpec]) -> None:
    plan, _ = dev
    fake = FakeAzure()
    obs = azure_obs(plan, fake)
    assert ("summary", ("rg-bridge-dev", "erc-dev", "AzurePrivatePeering", "primary")) in fake.calls
    assert ("summary", ("rg-bridge-dev", "erc-dev", "AzurePrivatePeering", "secondary")) in fake.calls
    assert {(o.session, o.state, o.to_cloud) for o in obs.sessions} == {
        ("fcr-a/azure-primary", "up", ("10.10.0.0/16",)), ("fcr-b/azure-secondary", "up", ("10.10.0.0/16",))}
    assert {r.state for r in obs.resources} == {"Provisioned", "Enabled"}
    assert evaluate(expected_from_plan(plan), obs).healthy


def test_azure_reader_names_an_idle_session_and_a_prefix_the_gateway_lost(dev: tuple[BridgePlan, BridgeSpec]) -> None:
    plan, _ = dev
    idle = {"value": [{"neighbor": "192.168.100.5", "v": 4, "as": 64999, "upDown": "00:00:10", "statePfxRcd": "Idle"}]}
    learned = fixture("azure-gateway-learned-routes.json")
    learned["value"] = [r for r in learned["value"] if r["network"] != "10.10.0.0/16"]
    report = evaluate(expected_from_plan(plan), azure_obs(plan, FakeAzure(
        {"azure-routes-summary-secondary.json": idle, "azure-gateway-learned-routes.json": learned})))
    assert report.sessions_named() == {"fcr-b/azure-secondary"}
    assert ("fcr-b/azure-secondary", "to-cloud", "10.10.0.0/16") in report.prefixes_named()
    edge = [f for f in report.findings if f.kind == "edge-prefixes-missing"]
    assert [f.prefixes for f in edge] == [("10.10.0.0/16",)]


def test_azure_reader_reads_the_backup_gateways_connections_and_peers(dev: tuple[BridgePlan, BridgeSpec]) -> None:
    from components.vpn_backup import connection_name

    plan, _ = dev
    expected = expected_from_plan(plan)

    def read(**o: Any) -> Observation:
        return azure.observe_backup(FakeAzure(o), plan, "rg-bridge-dev", "vpngw-dev",
                                    lambda t: connection_name("dev", t))

    ready = read(**{"bgp-peers": backup_peers(plan)})
    assert not states(evaluate(expected, ready))
    assert len([r for r in ready.resources if r.kind == "vpn-bgp"]) == 4
    report = evaluate(expected, read(**{"bgp-peers": backup_peers(plan, down=("vpn1-t2",)),
                                        "down-connections": (connection_name("dev", "vpn1-t2"),)}))
    assert sorted((f.subject, f.seen) for f in states(report)) == [
        ("backup BGP peer 169.254.21.5 (vpn1-t2) on vpngw-dev", "Connecting"),
        ("backup connection conn-vpn-dev-vpn1-t2", "NotConnected")]
    report = evaluate(expected, read(**{"bgp-peers": backup_peers(plan, received=0)}))
    assert len(states(report)) == 4 and {f.expected for f in states(report)} == {str(len(plan.aws_prefixes))}


def test_azure_reader_flags_a_circuit_not_provisioned(dev: tuple[BridgePlan, BridgeSpec]) -> None:
    plan, _ = dev
    circuit = fixture("azure-circuit.json")
    circuit["properties"]["serviceProviderProvisioningState"] = "NotProvisioned"
    report = evaluate(expected_from_plan(plan), azure_obs(plan, FakeAzure({"azure-circuit.json": circuit})))
    bad = [f for f in report.findings if f.kind == "resource-state"]
    assert [(f.expected, f.seen) for f in bad] == [("Provisioned", "NotProvisioned")]



class TwoCircuitAzure(FakeAzure):
    """Answers each circuit's edges from the plan: the sessions of the routers that carry it are up and
    send the AWS prefixes, unless ``down`` names the circuit's path."""

    def __init__(self, plan: BridgePlan, names: dict[str, int], down: frozenset[tuple[str, str]] = frozenset()) -> None:
        learned = fixture("azure-gateway-learned-routes.json")
        learned["value"] = [{**learned["value"][0], "network": str(p)} for p in plan.aws_prefixes]
        super().__init__({"azure-gateway-learned-routes.json": learned})
        self.plan, self.names, self.down = plan, names, down

    def _sessions(self, circuit: str, path: str) -> list[Any]:
        routers = self.plan.circuits[self.names[circuit]].routers
        return [s for s in self.plan.sessions if s.kind == "azure" and s.router in routers and s.priority == path]

    def begin_list_routes_table_summary(self, rg: str, circuit: str, peering: str, path: str) -> _Poller:
        self.calls.append(("summary", (rg, circuit, peering, path)))
        rows = [{"neighbor": str(s.fcr.ip), "as": s.fcr.asn, "v": 4, "upDown": "1d",
                 "statePfxRcd": "Idle" if (circuit, path) in self.down else str(len(self.plan.aws_prefixes))}
                for s in self._sessions(circuit, path)]
        return _Poller(self.m.ExpressRouteCircuitsRoutesTableSummaryListResult({"value": rows}))

    def begin_list_routes_table(self, rg: str, circuit: str, peering: str, path: str) -> _Poller:
        rows = [{"network": str(p), "nextHop": str(s.fcr.ip), "path": f"{s.fcr.asn}"}
                for s in self._sessions(circuit, path) for p in self.plan.aws_prefixes]
        return _Poller(self.m.ExpressRouteCircuitsRoutesTableListResult({"value": rows}))

    def begin_list_arp_table(self, rg: str, circuit: str, peering: str, path: str) -> _Poller:
        rows = [{"ipAddress": str(s.fcr.ip), "interface": "On-Prem"} for s in self._sessions(circuit, path)]
        return _Poller(self.m.ExpressRouteCircuitsArpTableListResult({"value": rows}))


def test_azure_reader_reads_both_circuits_of_a_two_circuit_bridge() -> None:
    spec = load_stack(ROOT, "prod").spec
    assert isinstance(spec, BridgeSpec)
    plan = plan_bridge(spec)
    assert len(plan.circuits) == 2
    names = {"erc-prod": 0, "erc-prod-2": 1}
    fake = TwoCircuitAzure(plan, names)
    obs = azure.observe(fake, plan, "rg", list(names), "ergw-prod", 4000)
    assert {c[1][1] for c in fake.calls if c[0] == "circuit"} == {"erc-prod", "erc-prod-2"}
    assert {o.session for o in obs.sessions} == {s.id for s in plan.sessions if s.kind == "azure"}
    assert evaluate(expected_from_plan(plan), obs).healthy
    # The second circuit's primary edge lost its session: only that one is named.
    obs = azure.observe(TwoCircuitAzure(plan, names, frozenset({("erc-prod-2", "primary")})), plan, "rg", list(names),
                        "ergw-prod", 4000)
    second = plan.circuits[1]
    assert evaluate(expected_from_plan(plan), obs).sessions_named() == {f"{second.primary_router}/azure-primary"}
    # A name for each circuit, or the reader refuses rather than leave one unread.
    with pytest.raises(ValueError, match="2 circuit"):
        azure.observe(fake, plan, "rg", "erc-prod", "ergw-prod", 4000)

# --- Equinix --------------------------------------------------------------------------------------------


class FakeFabric:
    """Fabric v4 over recorded JSON, by method and path; the request bodies are kept for checks."""

    def __init__(self, overrides: dict[str, Any] | None = None) -> None:
        self.o = overrides or {}
        self.requests: list[tuple[str, str, dict[str, Any] | None]] = []

    def __call__(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        self.requests.append((method, path, body))
        if path in ("/fabric/v4/routers/search", "/fabric/v4/connections/search"):
            name = body["filter"]["and"][0]["values"][0] if body else ""
            kind = "router" if "routers" in path else "connection"
            return self._answer(f"equinix-{kind}-{name}.json")
        if path.endswith("/routes/search"):
            router = "fcr-a" if "aaaa" in path else "fcr-b"
            return self._answer(f"equinix-routes-{router}.json")
        if path.endswith("/advertisedRoutes/search"):
            return self._answer(f"equinix-advertised-{path.split('/')[4].removeprefix('c-')}.json")
        if path.endswith("/routingProtocols") and method == "GET":
            return self._answer(f"equinix-protocols-{path.split('/')[4].removeprefix('c-')}.json")
        raise AssertionError(f"unexpected request {method} {path}")

    def _answer(self, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.o.get(name) or fixture(name))


def test_equinix_reader_reads_routers_connections_protocols_and_routes(dev: tuple[BridgePlan, BridgeSpec]) -> None:
    plan, spec = dev
    fabric = FakeFabric()
    obs = equinix.observe(fabric, plan, spec.exchange.project_id, 1000)
    searched = [b["filter"]["and"] for m, p, b in fabric.requests if p.endswith("/search") and b and "filter" in b
                and p.startswith("/fabric/v4/connections")]
    assert {"property": "/project/projectId", "operator": "=", "values": [spec.exchange.project_id]} in searched[0]
    got = {o.session: (o.state, o.to_fcr, o.to_cloud) for o in obs.sessions}
    assert got == {"fcr-a/aws": ("up", ("10.10.0.0/16",), ("10.20.0.0/22",)),
                   "fcr-b/aws": ("up", ("10.10.0.0/16",), ("10.20.0.0/22",)),
                   "fcr-a/azure-primary": ("up", ("10.20.0.0/22",), ("10.10.0.0/16",)),
                   "fcr-b/azure-secondary": ("up", ("10.20.0.0/22",), ("10.10.0.0/16",))}
    assert evaluate(expected_from_plan(plan), obs).healthy


def test_equinix_reader_names_a_down_protocol_and_a_route_table_near_the_package_limit(
        dev: tuple[BridgePlan, BridgeSpec]) -> None:
    plan, spec = dev
    protocols = fixture("equinix-protocols-dev-fcr-a-er-pri.json")
    protocols["data"][1]["bgpIpv4"]["operation"]["operationalStatus"] = "DOWN"
    routes = fixture("equinix-routes-fcr-b.json")
    extra = [{**routes["data"][0], "prefix": f"10.99.{i // 256}.{i % 256}/32"} for i in range(850)]
    routes["data"] += extra
    routes["pagination"]["total"] = len(routes["data"])
    fabric = FakeFabric({"equinix-protocols-dev-fcr-a-er-pri.json": protocols, "equinix-routes-fcr-b.json": routes})
    report = evaluate(expected_from_plan(plan), equinix.observe(fabric, plan, spec.exchange.project_id, 1000))
    assert report.sessions_named() == {"fcr-a/azure-primary"}
    assert ("fcr-a/azure-primary", "to-fcr", "10.20.0.0/22") in report.prefixes_named()
    assert any(f.kind == "route-limit" and f.subject == "cloud router fcr-b" for f in report.findings)
    # The unplanned routes arrived over fcr-b's AWS session: named as unexpected there.
    assert any(f.kind == "prefixes-unexpected" and f.session == "fcr-b/aws" for f in report.findings)


def test_equinix_token_from_client_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in CREDENTIAL_VARS:
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(aws.MissingCredentials, match="EQUINIX_API_CLIENTID"):
        equinix.token_from_env()
    monkeypatch.setenv("EQUINIX_API_CLIENTID", "id")
    monkeypatch.setenv("EQUINIX_API_CLIENTSECRET", "secret")
    sent: list[tuple[str, dict[str, Any]]] = []

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        sent.append((path, body))
        return dict(fixture("equinix-token.json"))

    assert equinix.token_from_env(post) == "recorded-token"
    assert sent == [("/oauth2/v1/token", {"grant_type": "client_credentials", "client_id": "id",
                                          "client_secret": "secret"})]


# --- the evaluation's judgements, each with a case where it says no -----------------------------------------


def _expected() -> Expected:
    s = PlannedSession("r/aws", "aws", "r", "169.254.0.2", "169.254.0.1", "aws-dx-r", True, ("10.2.0.0/16",),
                       ("10.1.0.0/16",), 100, "c-aws")
    t = PlannedSession("r/azure-primary", "azure", "r", "192.168.0.1", "192.168.0.2", "msee-primary", True,
                       ("10.1.0.0/16",), ("10.2.0.0/16",), 4000, "c-er", "primary")
    return Expected("t", (s, t), ("10.1.0.0/16",), ("10.2.0.0/16",))


def _all_up() -> Observation:
    e = _expected()
    return Observation(sessions=[SessionObservation(s.id, "twin", "up", bfd="up", to_cloud=s.to_cloud, to_fcr=s.to_fcr)
                                 for s in e.sessions], read={"twin"})


def test_evaluation_of_a_healthy_bridge_finds_nothing() -> None:
    assert evaluate(_expected(), _all_up()).healthy


def test_evaluation_names_bfd_down_and_unexpected_prefixes() -> None:
    obs = _all_up()
    obs.sessions[0] = SessionObservation("r/aws", "twin", "up", bfd="Down", to_cloud=("10.2.0.0/16", "0.0.0.0/0"),
                                         to_fcr=("10.1.0.0/16",))
    kinds = {(f.kind, f.subject) for f in evaluate(_expected(), obs).findings}
    assert kinds == {("bfd-down", "r/aws"), ("prefixes-unexpected", "r/aws")}


def test_evaluation_names_a_session_no_source_shows() -> None:
    obs = _all_up()
    obs.sessions = obs.sessions[1:]
    assert evaluate(_expected(), obs).sessions_named() == {"r/aws"}


def test_an_unreadable_source_is_a_finding_not_silence() -> None:
    obs = _all_up()
    obs.unreadable.append(("azure", "AuthorizationFailed"))
    report = evaluate(_expected(), obs)
    assert [f.kind for f in report.findings] == ["unreadable"]


def _down(session: str, also: tuple[tuple[str, str, str], ...] = ()) -> Report:
    """What health reports with ``session`` down on the one-router bridge of :func:`_expected`."""
    e = _expected()
    obs = Observation(read={"twin"})
    for s in e.sessions:
        if s.id == session:
            obs.sessions.append(SessionObservation(s.id, "twin", "Active", to_cloud=(), to_fcr=()))
        else:
            lost = {p for sid, d, p in also if sid == s.id and d == "to-cloud"}
            obs.sessions.append(SessionObservation(s.id, "twin", "up", bfd="up",
                                                   to_cloud=tuple(p for p in s.to_cloud if p not in lost),
                                                   to_fcr=s.to_fcr))
    return evaluate(e, obs)


def test_footprint_of_a_link_cut_includes_what_the_router_no_longer_passes_on() -> None:
    fp = fault_footprint(_expected(), ["r/aws"])
    assert fp.sessions == {"r/aws"}
    assert fp.prefixes == {("r/aws", "to-cloud", "10.2.0.0/16"), ("r/aws", "to-fcr", "10.1.0.0/16"),
                           ("r/azure-primary", "to-cloud", "10.1.0.0/16")}
    # One AWS session and one ExpressRoute session: each cloud loses the other's prefix.
    assert fp.edge_prefixes == {"10.2.0.0/16", "10.1.0.0/16"}


def test_health_matches_exactly_and_says_no_to_too_many_or_too_few() -> None:
    e = _expected()
    fp = fault_footprint(e, ["r/aws"])
    exact = _down("r/aws", also=(("r/azure-primary", "to-cloud", "10.1.0.0/16"),))
    from dataclasses import replace

    from bridgectl.health.model import Finding
    with_edges = replace(exact, findings=(*exact.findings,
                                          Finding("edge-prefixes-missing", "tgw", "", "", "twin",
                                                  prefixes=("10.2.0.0/16",)),
                                          Finding("edge-prefixes-missing", "ergw", "", "", "twin",
                                                  prefixes=("10.1.0.0/16",))))
    ok, detail = matches(with_edges, fp)
    assert ok, detail
    # Too few: the prefix the router stopped passing on is not named.
    too_few = replace(with_edges, findings=tuple(f for f in with_edges.findings if f.session != "r/azure-primary"))
    ok, detail = matches(too_few, fp)
    assert not ok and "did not name 1 prefix" in detail
    # Too many: a session that stayed up is named down as well.
    too_many = replace(with_edges, findings=(*with_edges.findings,
                                             Finding("session-down", "r/azure-primary", "Established", "Idle", "twin",
                                                     session="r/azure-primary")))
    ok, detail = matches(too_many, fp)
    assert not ok and "named sessions the fault did not take down: r/azure-primary" in detail
    # Too many: any other finding.
    noisy = replace(with_edges, findings=(*with_edges.findings,
                                          Finding("bfd-down", "r/azure-primary", "BFD Up", "Down", "twin")))
    assert not matches(noisy, fp)[0]
    # Too few sessions: the down session itself unnamed.
    assert not matches(replace(with_edges, findings=tuple(f for f in with_edges.findings if f.kind != "session-down")),
                       fp)[0]


# --- the command --------------------------------------------------------------------------------------------


def test_health_without_credentials_exits_3_naming_each_cloud(monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    for var in CREDENTIAL_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    assert main(["-C", str(ROOT), "health", "dev"]) == 3
    err = capsys.readouterr().err
    assert "no AWS credentials" in err and "no Azure credentials" in err and "no Equinix credentials" in err
    assert "Traceback" not in err


def test_health_of_a_customer_stack_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-C", str(ROOT), "health", "dev.acme"]) == 2
    assert "run `bridgectl health dev`" in capsys.readouterr().err


def _recorded_readers(monkeypatch: pytest.MonkeyPatch, vifs: dict[str, Any]) -> None:
    from bridgectl.commands import health as command

    spec = load_stack(ROOT, "dev").spec
    assert isinstance(spec, BridgeSpec)
    plan = plan_bridge(spec)
    clients = {"aws": lambda: dx_client(vifs), "aws-vpn": lambda: ec2_client(plan, vpn_connections(plan)),
               "azure": lambda: FakeAzure({"bgp-peers": backup_peers(plan)}), "equinix": FakeFabric}
    monkeypatch.setattr(command.Readers, "_client", lambda self, source: clients[source]())


def test_health_command_healthy_exits_0_with_json(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _recorded_readers(monkeypatch, fixture("aws-describe-virtual-interfaces.json"))
    assert main(["-C", str(ROOT), "health", "dev", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["healthy"] is True and out["findings"] == []
    assert {r["session"]: r["state"] for r in out["sessions"]} == {
        "fcr-a/aws": "up", "fcr-b/aws": "up", "fcr-a/azure-primary": "up", "fcr-b/azure-secondary": "up"}


def test_health_command_names_the_down_session_and_exits_1(monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    vifs = fixture("aws-describe-virtual-interfaces.json")
    vifs["virtualInterfaces"][1]["bgpPeers"][0]["bgpStatus"] = "down"
    _recorded_readers(monkeypatch, vifs)
    assert main(["-C", str(ROOT), "health", "dev"]) == 1
    out = capsys.readouterr().out
    assert "session-down fcr-b/aws: expected Established; seen down at aws (aws)" in out
    assert "docs/runbook-network.md#health-session-down" in out


# --- the scheduled check's issue body (.github/health_issue.py) -------------------------------------------


def _issue_module() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("health_issue", ROOT / ".github" / "health_issue.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_issue_body_lists_sessions_and_findings_with_runbook_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    vifs = fixture("aws-describe-virtual-interfaces.json")
    vifs["virtualInterfaces"][0]["bgpPeers"][0]["bgpStatus"] = "down"
    _recorded_readers(monkeypatch, vifs)
    assert main(["-C", str(ROOT), "health", "dev", "--json"]) == 1
    (tmp_path / "dev.json").write_text(capsys.readouterr().out)
    text = _issue_module().body("dev", "1", "https://ci.example/run/1", tmp_path)
    assert "| fcr-a/aws | down, up | " in text  # AWS sees it down, the recorded Equinix answer up
    assert "| session-down | fcr-a/aws | Established | down at aws (aws) | " \
           "[health-session-down](docs/runbook-network.md#health-session-down) |" in text


def test_issue_body_when_the_check_could_not_run(tmp_path: Path) -> None:
    (tmp_path / "dev.err").write_text("error: no AWS credentials: set AWS_ACCESS_KEY_ID ...\n")
    text = _issue_module().body("dev", "3", "https://ci.example/run/1", tmp_path)
    assert "did not run (missing credentials)" in text and "no AWS credentials" in text


def test_watch_reads_again_until_interrupted(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from bridgectl.commands import health as command

    reads = []
    spec = load_stack(ROOT, "dev").spec
    assert isinstance(spec, BridgeSpec)
    plan = plan_bridge(spec)
    clients = {"aws": lambda: dx_client(fixture("aws-describe-virtual-interfaces.json")), "azure": FakeAzure,
               "equinix": FakeFabric, "aws-vpn": lambda: ec2_client(plan, vpn_connections(plan))}
    monkeypatch.setattr(command.Readers, "_client", lambda self, source: clients[source]())
    original = command.Readers.observe

    def observe(self: Any) -> Observation:
        reads.append(1)
        if len(reads) == 2:
            self.clients["aws"] = clients["aws"]()
            self.clients["aws-vpn"] = clients["aws-vpn"]()
        return original(self)

    def sleep(seconds: float) -> None:
        assert seconds == 5
        if len(reads) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(command.Readers, "observe", observe)
    monkeypatch.setattr(command.time, "sleep", sleep)
    assert main(["-C", str(ROOT), "health", "dev", "--watch", "5", "--only", "aws"]) == 130
    assert len(reads) == 2 and capsys.readouterr().out.count("health of dev (aws): healthy") == 2


def test_equinix_advertised_routes_are_held_against_the_aws_limit(dev: tuple[BridgePlan, BridgeSpec]) -> None:
    plan, spec = dev
    sent = fixture("equinix-advertised-dev-fcr-a-aws.json")
    sent["data"] += [{**sent["data"][0], "prefix": f"10.30.{i}.0/24"} for i in range(85)]
    sent["pagination"]["total"] = len(sent["data"])
    report = evaluate(expected_from_plan(plan), equinix.observe(
        FakeFabric({"equinix-advertised-dev-fcr-a-aws.json": sent}), plan, spec.exchange.project_id, 1000))
    limit = [f for f in report.findings if f.kind == "route-limit"]
    assert [(f.subject, f.seen) for f in limit] == [("fcr-a/aws", "86 routes")]
    assert "at most 80 of the 100 routes aws-dx-fcr-a accepts" in limit[0].expected
