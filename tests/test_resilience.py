"""Two metros, two circuits, single points of failure, and the twin's judge: everything that needs no root.

prod (Pulumi.prod.yaml) is the two-metro example: a router and an ExpressRoute circuit in Washington DC
(DC) and in New York (NY), one gateway connected to both. dev keeps one metro and one circuit.
The real FRR runs are in tests/test_twin.py.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridgectl.offline import offline_plan
from stacks.loader import load_stack
from stacks.plan import BridgePlan, plan_bridge
from stacks.problems import ConfigError
from stacks.spec import BridgeSpec, parse_config
from twin.model import Lab
from twin.render import build_lab, expected_routes
from twin.scenarios import (
    MAX_OUTAGE_MS,
    Result,
    Scenario,
    double_faults,
    fault_sessions,
    judge,
    plan_scenarios,
)

ROOT = Path(__file__).resolve().parent.parent
DEV = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
PROD = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]
NY_CIRCUIT = {"peeringLocation": "New York", "tier": "Standard", "family": "MeteredData", "peeringVlan": 310}


def _plan(config: dict[str, Any], stack: str = "dev") -> BridgePlan:
    spec, _ = parse_config(stack, config)
    assert isinstance(spec, BridgeSpec)
    return plan_bridge(spec)


def _lines(config: dict[str, Any], stack: str = "dev") -> list[str]:
    try:
        _, warnings = parse_config(stack, config)
    except ConfigError as exc:
        return [p.line() for p in exc.problems]
    return [w.line() for w in warnings]


def dev_with_second_metro() -> dict[str, Any]:
    """dev grown into a second metro: a third router in NY carrying a circuit at New York."""
    cfg = copy.deepcopy(DEV)
    cfg["bridge:exchange"]["routers"].append({"name": "fcr-c", "metro": "NY"})
    cfg["bridge:azure"]["secondCircuit"] = dict(NY_CIRCUIT)
    return cfg


# --- validation: prod is clean, and every single point of failure is named ---------------------------------


def test_prod_validates_without_a_single_point_of_failure() -> None:
    assert _lines(PROD, "prod") == []
    loaded = load_stack(ROOT, "prod")
    assert loaded.warnings == []


def test_dev_warns_of_its_one_metro_and_one_circuit() -> None:
    lines = _lines(DEV)
    assert [line.split(": ")[1] for line in lines] == ["bridge:exchange.routers", "bridge:azure.circuit"]
    assert "places every router in metro DC: a single point of failure" in lines[0]
    assert "is the bridge's only ExpressRoute circuit: a single point of failure" in lines[1]


def test_one_router_is_a_router_and_an_aws_device_single_point() -> None:
    cfg = copy.deepcopy(DEV)
    cfg["bridge:exchange"]["routers"] = cfg["bridge:exchange"]["routers"][:1]
    lines = _lines(cfg)
    assert len(lines) == 4
    assert "has a single router" in lines[0] and "one AWS device" in lines[1]


def test_two_circuits_at_one_peering_location_are_one_point_of_failure() -> None:
    cfg = copy.deepcopy(DEV)
    cfg["bridge:azure"]["secondCircuit"] = {**NY_CIRCUIT, "peeringLocation": "Washington DC"}
    backed = _lines(cfg)
    # With dev's IPsec backup the loss leaves the VPN between the clouds; without it, nothing.
    assert len(backed) == 2 and all("leaves only the IPsec backup (bridge:vpnBackup) between AWS and Azure" in line
                                    for line in backed)
    cfg.pop("bridge:vpnBackup")
    lines = _lines(cfg)
    assert lines == [
        'warning: bridge:exchange.routers: ["fcr-a", "fcr-b"] places every router in metro DC: a single point of '
        "failure; losing the metro cuts AWS from Azure (fix: add bridge:azure.secondCircuit at a peering location "
        "in another metro, with a router there (docs/runbook-network.md))",
        'warning: bridge:azure.secondCircuit.peeringLocation: "Washington DC" is the first circuit\'s peering '
        "location too: a single point of failure; losing the peering location cuts AWS from Azure (fix: place the "
        "second circuit at a peering location in another metro)"]
    plan = _plan(cfg)
    # one router each, by name
    assert [c.routers for c in plan.circuits] == [("fcr-a",), ("fcr-b",)]


@pytest.mark.parametrize(("mutate", "expected"), [
    pytest.param(lambda cfg: cfg["bridge:exchange"]["routers"].pop(), [
        'error: bridge:azure.secondCircuit: "New York" has no router in metro NY to carry it '
        "(fix: add a router with `metro: NY` to bridge:exchange.routers)"], id="circuit-without-router"),
    pytest.param(lambda cfg: cfg["bridge:exchange"]["routers"][2].update(metro="SV"), [
        'error: bridge:exchange.routers[2].metro: "SV" is not the metro of either circuit (DC for Washington DC, '
        "NY for New York) (fix: use metro DC or NY)",
        'error: bridge:azure.secondCircuit: "New York" has no router in metro NY to carry it '
        "(fix: add a router with `metro: NY` to bridge:exchange.routers)"], id="router-in-neither-metro"),
    pytest.param(lambda cfg: cfg["bridge:addressing"].update(azureLinkPool="192.168.100.0/29"), [
        'error: bridge:addressing.azureLinkPool: "192.168.100.0/29" holds one /29; two circuits take two '
        "(one /30 pair each) (fix: use a /28 or larger)"], id="link-pool-too-small"),
    pytest.param(lambda cfg: cfg["bridge:exchange"]["routers"].extend(
        [{"name": "fcr-d", "metro": "NY"}, {"name": "fcr-e", "metro": "NY"}]), [
        'error: bridge:exchange.routers: "5 items" has more than the 4 items allowed (fix: keep at most 4)',
        'error: bridge:exchange.routers: ["fcr-c", "fcr-d", "fcr-e"] puts 3 routers on the circuit at New York; a '
        "circuit takes at most two (its primary and secondary links) (fix: remove routers)"], id="five-routers"),
    pytest.param(lambda cfg: cfg["bridge:bgpAuthKeys"].update({"azure-3": {"secure": "v1:x"}}), [
        "error: bridge:bgpAuthKeys.azure-3: [secret] names no BGP session of this bridge "
        "(fix: use one of fcr-a-aws, fcr-b-aws, fcr-c-aws, azure, azure-2)"], id="bgp-key-of-a-third-circuit"),
])
def test_two_circuit_rules_say_no(mutate: Any, expected: list[str]) -> None:
    cfg = dev_with_second_metro()
    cfg["bridge:bgpAuthKeys"] = {}
    mutate(cfg)
    assert _lines(cfg) == expected


def test_second_equinix_asn_without_a_second_circuit_is_ignored_with_a_warning() -> None:
    cfg = copy.deepcopy(DEV)
    cfg["bridge:exchange"]["secondEquinixAsn"] = 65101
    assert _lines(cfg)[0] == ("warning: bridge:exchange.secondEquinixAsn: 65101 is ignored without "
                              "bridge:azure.secondCircuit (fix: remove it)")


def test_a_second_metro_clears_the_metro_and_circuit_warnings() -> None:
    assert _lines(dev_with_second_metro()) == []


# --- the plan: stable allocation, one ASN per metro, one key per peering ------------------------------------


def test_adding_the_second_metro_renumbers_nothing() -> None:
    before, after = _plan(copy.deepcopy(DEV)), _plan(dev_with_second_metro())
    old = {s.id: s for s in before.sessions}
    for s in after.sessions:
        if s.id in old:
            assert s == old[s.id], s.id
    assert after.aws_links[:2] == before.aws_links
    assert after.azure == after.circuits[0] and after.circuits[0].primary == before.azure.primary
    assert after.circuits[0].secondary == before.azure.secondary
    second = after.circuits[1]
    assert (str(second.primary), str(second.secondary)) == ("192.168.100.8/30", "192.168.100.12/30")
    assert second.routers == ("fcr-c",) and second.key_id == "azure-2" and second.vlan == 310
    assert {s.id for s in after.sessions} - set(old) == {"fcr-c/aws", "fcr-c/azure-primary",
                                                        "fcr-c/azure-secondary"}


def test_prod_plan_two_metros_two_asns() -> None:
    plan = _plan(PROD, "prod")
    assert [(c.peering_location, c.metro, c.routers) for c in plan.circuits] == [
        ("Washington DC", "DC", ("fcr-dc",)), ("New York", "NY", ("fcr-ny",))]
    asn = {s.id: s.fcr.asn for s in plan.sessions}
    assert asn["fcr-dc/aws"] == asn["fcr-dc/azure-primary"] == plan.fcr_asn
    assert asn["fcr-ny/aws"] == asn["fcr-ny/azure-secondary"] == plan.circuits[1].peer_asn != plan.fcr_asn
    keys = {s.id: s.key.id for s in plan.sessions if s.kind == "azure"}
    assert keys == {"fcr-dc/azure-primary": "azure", "fcr-dc/azure-secondary": "azure",
                    "fcr-ny/azure-primary": "azure-2", "fcr-ny/azure-secondary": "azure-2"}
    assert plan.single_points == ()


# --- the program under mocks -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prod() -> dict[str, Any]:
    return offline_plan(ROOT, "prod")


def _by_name(plan: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in plan["resources"] if r["name"] == name)


def test_prod_program_one_gateway_two_circuits(prod: dict[str, Any]) -> None:
    plan = _plan(PROD, "prod")
    types = [r["type"].rsplit(":", 1)[-1] for r in prod["resources"] if not r["type"].startswith("bridge:")]
    assert types.count("ExpressRouteCircuit") == 2 and types.count("VirtualNetworkGateway") == 1
    assert types.count("VirtualNetworkGatewayConnection") == 2 and types.count("ExpressRouteCircuitPeering") == 2
    assert types.count("TransitVirtualInterface") == 2 and types.count("CloudRouter") == 2
    gateway = _by_name(prod, "expressroute-gateway")["urn"]
    for n, (circuit, connection, peering) in enumerate((
            ("expressroute-circuit", "expressroute-gateway-connection", "expressroute-private-peering"),
            ("expressroute-circuit-2", "expressroute-gateway-connection-2", "expressroute-private-peering-2"))):
        c = plan.circuits[n]
        assert _by_name(prod, circuit)["inputs"]["serviceProviderProperties"]["peeringLocation"] == c.peering_location
        conn = _by_name(prod, connection)
        assert gateway in conn["dependsOn"] and _by_name(prod, peering)["urn"] in conn["dependsOn"]
        p = _by_name(prod, peering)["inputs"]
        assert (p["primaryPeerAddressPrefix"], p["secondaryPeerAddressPrefix"]) == (str(c.primary), str(c.secondary))
        assert p["vlanId"] == c.vlan and p["peerASN"] == c.peer_asn and p["sharedKey"] == "[secret]"
    # each transit VIF speaks its own metro's ASN
    for s in (s for s in plan.sessions if s.kind == "aws"):
        assert _by_name(prod, f"directconnect-{s.router}-vif")["inputs"]["bgpAsn"] == s.fcr.asn
    # each metro's AWS connection heads its own redundancy group; each circuit's pair is its own group
    for router in ("fcr-dc", "fcr-ny"):
        assert _by_name(prod, f"exchange-prod-{router}-aws")["inputs"]["redundancy"] == {"priority": "PRIMARY"}
        assert _by_name(prod, f"exchange-prod-{router}-er-pri")["inputs"]["redundancy"] == {"priority": "PRIMARY"}
        sec = _by_name(prod, f"exchange-prod-{router}-er-sec")
        assert _by_name(prod, f"exchange-prod-{router}-er-pri")["urn"] in sec["dependsOn"]
    out = prod["outputs"]
    assert out["secondExpressRouteServiceKey"] == "[secret]" and out["secondCircuitProvisioned"] is True
    assert out["secondFcrAsn"] == plan.circuits[1].peer_asn


def test_prod_readiness_gate_holds_both_circuits_back() -> None:
    first = offline_plan(ROOT, "prod", circuit_state="NotProvisioned")
    names = {r["name"] for r in first["resources"]}
    assert {"expressroute-circuit", "expressroute-circuit-2"} <= names
    assert not names & {"expressroute-private-peering", "expressroute-private-peering-2",
                        "expressroute-gateway-connection", "expressroute-gateway-connection-2"}
    assert len(first["outputs"]["nextSteps"]) == 2


def test_single_circuit_outputs_unchanged() -> None:
    dev = offline_plan(ROOT, "dev")
    assert not [k for k in dev["outputs"] if k.startswith("second")]
    assert not [r for r in dev["resources"] if r["name"].endswith("-2")]


# --- the twin's topology, from the plan --------------------------------------------------------------------


@pytest.fixture(scope="module")
def prod_lab() -> Lab:
    return build_lab(_plan(PROD, "prod"))


@pytest.fixture(scope="module")
def dev_lab() -> Lab:
    """Dev's private path alone (its IPsec backup taken out): one metro, one circuit."""
    cfg = copy.deepcopy(DEV)
    cfg.pop("bridge:vpnBackup")
    return build_lab(_plan(cfg))


@pytest.fixture(scope="module")
def dev_backup_lab() -> Lab:
    return build_lab(_plan(copy.deepcopy(DEV)))


def test_prod_lab_two_circuits_on_one_gateway(prod_lab: Lab) -> None:
    assert [(c.peering_location, c.sessions) for c in prod_lab.circuits] == [
        ("Washington DC", ("fcr-dc/azure-primary", "fcr-dc/azure-secondary")),
        ("New York", ("fcr-ny/azure-primary", "fcr-ny/azure-secondary"))]
    assert {n.name for n in prod_lab.nodes if n.role == "msee"} == {
        "msee-primary", "msee-secondary", "msee2-primary", "msee2-secondary"}
    assert prod_lab.node("fcr-dc").asn != prod_lab.node("fcr-ny").asn
    # the gateway load-balances over all four links, the TGW over both transit VIFs
    tables = expected_routes(prod_lab)
    assert sum(r.selected for r in tables["ergw"]["10.40.0.0/16"]) == 4
    assert sum(r.selected for r in tables["tgw"]["10.50.0.0/22"]) == 2


def test_prod_double_faults_and_exposures(prod_lab: Lab) -> None:
    pairs, exposures = double_faults(prod_lab)
    assert pairs == [("vif:fcr-dc/aws", "circuit:0"), ("vif:fcr-ny/aws", "circuit:1")]
    assert len(exposures) == 9
    assert {"faults": ["circuit Washington DC", "circuit New York"],
            "lacks": "a third circuit at another peering location", "backupCarries": False} in exposures
    assert not [s for s in plan_scenarios(prod_lab) if s.exercises]


def test_dev_single_failures_it_cannot_survive_name_the_single_point(dev_lab: Lab) -> None:
    fatal = {s.name: s for s in plan_scenarios(dev_lab) if s.exercises}
    assert set(fatal) == {"circuit-down Washington DC", "metro-down DC"}
    assert fault_sessions(dev_lab, fatal["metro-down DC"]) == {s.id for s in dev_lab.sessions}
    pairs, exposures = double_faults(dev_lab)
    assert pairs == [] and len(exposures) == 4
    assert not any(e["backupCarries"] for e in exposures)


def test_with_the_backup_no_single_failure_of_dev_cuts_aws_from_azure(dev_backup_lab: Lab) -> None:
    assert dev_backup_lab.tunnels
    assert not [s for s in plan_scenarios(dev_backup_lab) if s.exercises]
    # The metro and the circuit still take every private path: those scenarios expect the backup to carry.
    carried = {s.name for s in plan_scenarios(dev_backup_lab) if s.backup == "carries"}
    assert {"circuit-down Washington DC", "metro-down DC"} <= carried
    _, exposures = double_faults(dev_backup_lab)
    assert exposures and all(e["backupCarries"] for e in exposures)


# --- the judge says no ---------------------------------------------------------------------------------


def _ok(kind: str = "link-cut", **changes: Any) -> Result:
    r = Result("x", kind, "fcr-a/aws", False, detection_ms=800, outage_ms=900, lost_packets=500,  # type: ignore[arg-type]
               sent_packets=4800, routes_lost=0, recovered=True, flows_hit=8, detail="down: Cease/BFD Down",
               health_matched=True, recovered_after=True)
    for k, v in changes.items():
        setattr(r, k, v)
    return r


def _sc(kind: str = "link-cut", exercises: tuple[str, ...] = ()) -> Scenario:
    return Scenario("x", kind, "fcr-a/aws", "main", "", exercises)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["link-cut", "loud-cut", "router-down", "circuit-down", "metro-down",
                                  "double-fault", "prefix-limit"])
def test_judge_passes_a_survived_loss(kind: str) -> None:
    r = _ok(kind)
    judge(_sc(kind), r)
    assert r.passed and r.failures == []


@pytest.mark.parametrize(("kind", "changes", "failure"), [
    ("link-cut", {"recovered": False, "outage_ms": 3500}, "traffic did not flow again while the fault lasted"),
    ("prefix-limit", {"recovered": False, "outage_ms": 3500, "routes_lost": 5}, "5 route(s) lost"),
    ("prefix-limit", {"outage_ms": MAX_OUTAGE_MS + 1}, f"> {MAX_OUTAGE_MS} ms"),
    ("router-down", {"detection_ms": 1200}, "detection 1200 ms > 1000 ms"),
    ("circuit-down", {"routes_lost": 1}, "1 route(s) lost at the edges during the fault"),
    ("loud-cut", {"recovered_after": False}, "traffic did not flow again after the fault was undone"),
    ("double-fault", {"health_matched": False, "health_detail": "named 1 too many"}, "health did not name"),
    ("drain", {"lost_packets": 3}, "3 packet(s) lost during the drain"),
    ("circuit-drain", {"recovered": False}, "traffic did not flow again while the fault lasted"),
    ("bfd-off", {"detail": "down: Cease/BFD Down", "detection_ms": 800}, "not brought down by the hold timer"),
    ("bfd-off", {"detail": "down: Hold Timer Expired", "detection_ms": 90000, "recovered": False},
     "traffic did not flow again while the fault lasted"),
])
def test_judge_says_no(kind: str, changes: dict[str, Any], failure: str) -> None:
    r = _ok(kind, **changes)
    judge(_sc(kind), r)
    assert not r.passed
    assert any(failure in f for f in r.failures), r.failures


def test_judge_fails_an_unsurvivable_fault_naming_the_single_point() -> None:
    r = _ok("metro-down", recovered=False, outage_ms=3000, routes_lost=2)
    judge(_sc("metro-down", ("metro DC",)), r)
    assert not r.passed
    assert r.failures[0] == "metro DC: a single point of failure; the topology cannot survive this fault"


def test_judge_fails_a_predicted_outage_that_did_not_happen() -> None:
    r = _ok("circuit-down")
    judge(_sc("circuit-down", ("the only circuit, at Washington DC",)), r)
    assert not r.passed and "yet traffic kept flowing" in r.failures[0]


# --- the diagram draws the single points of failure ----------------------------------------------------


def test_diagram_draws_single_points_and_both_circuits() -> None:
    from bridgectl.diagram import bridge_dot

    dev_spec = load_stack(ROOT, "dev").spec
    prod_spec = load_stack(ROOT, "prod").spec
    assert isinstance(dev_spec, BridgeSpec) and isinstance(prod_spec, BridgeSpec)
    dev = bridge_dot(dev_spec, plan_bridge(dev_spec))
    assert "single points of failure (validate warns):\\nmetro DC\\ncircuit Washington DC" in dev
    assert dev.count("ONLY CIRCUIT: SINGLE POINT OF FAILURE") == 2
    prod = bridge_dot(prod_spec, plan_bridge(prod_spec))
    assert "single_points" not in prod and "SINGLE POINT" not in prod
    for node in ("msee_primary", "msee_secondary", "msee2_primary", "msee2_secondary"):
        assert f"{node} -> ergw" in prod
    assert "fcr_fcr_ny -> msee2_primary" in prod and "ASN 64998" in prod
