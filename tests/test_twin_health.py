"""Health on the twin without root: what each scenario's fault takes down, and the FRR reader on
recorded `show bgp` JSON. The real routers run in tests/test_twin.py (every scenario's healthMatched)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bridgectl.health.model import evaluate, fault_footprint, matches
from stacks.loader import load_stack
from stacks.plan import plan_bridge
from stacks.spec import BridgeSpec
from twin.health import expected_from_lab, observe
from twin.model import Lab
from twin.render import build_lab
from twin.scenarios import Result, fault_sessions, plan_scenarios

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def lab() -> Lab:
    spec = load_stack(ROOT, "dev").spec
    assert isinstance(spec, BridgeSpec)
    return build_lab(plan_bridge(spec))


def test_each_scenario_knows_the_sessions_its_fault_takes_down(lab: Lab) -> None:
    down = {sc.name: fault_sessions(lab, sc) for sc in plan_scenarios(lab)}
    assert down["link-cut fcr-a/aws"] == {"fcr-a/aws"}
    assert down["router-down fcr-b"] == {"fcr-b/aws", "fcr-b/azure-secondary"}
    assert down["drain fcr-a/azure-primary"] == set()
    assert down["prefix-limit fcr-a/azure-primary"] == {"fcr-a/azure-primary"}
    assert down["bfd-off fcr-a/aws"] == {"fcr-a/aws"}


def test_dev_footprints(lab: Lab) -> None:
    e = expected_from_lab(lab)
    cut = fault_footprint(e, {"fcr-a/aws"})
    # The session both ways, and the AWS prefix fcr-a no longer passes to the primary Microsoft edge.
    assert cut.prefixes == {("fcr-a/aws", "to-cloud", "10.20.0.0/22"), ("fcr-a/aws", "to-fcr", "10.10.0.0/16"),
                            ("fcr-a/azure-primary", "to-cloud", "10.10.0.0/16")}
    assert cut.edge_prefixes == set()  # fcr-b still carries everything
    router = fault_footprint(e, {"fcr-a/aws", "fcr-a/azure-primary"})
    assert len(router.prefixes) == 4 and router.edge_prefixes == set()


class FakeLab:
    """A RunningLab's read side over recorded FRR JSON: neighbours and BGP tables per node."""

    def __init__(self, lab: Lab, neighbors: dict[str, dict[str, Any]], routes: dict[str, dict[str, Any]],
                 down: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.lab, self._n, self._r, self.down_routers = lab, neighbors, routes, set(down)

    def neighbors(self, node: str) -> dict[str, Any]:
        return self._n.get(node, {})

    def routes(self, node: str) -> dict[str, Any]:
        return {"routes": self._r.get(node, {})}


def _converged(lab: Lab) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """What `show bgp neighbors json` and `show bgp ipv4 unicast json` say on a converged lab."""
    neighbors: dict[str, dict[str, Any]] = {}
    routes: dict[str, dict[str, Any]] = {}
    for s in lab.sessions:
        for node, peer, got in ((s.fcr, s.cloud_address, s.cloud_advertises), (s.cloud, s.fcr_address,
                                                                                s.fcr_advertises)):
            neighbors.setdefault(node, {})[peer] = {"bgpState": "Established", "peerBfdInfo": {"status": "Up"}}
            for p in got:
                routes.setdefault(node, {}).setdefault(p, []).append({"peerId": peer, "valid": True})
    for edge, prefixes in ((lab.aws_edge, lab.azure_prefixes), (lab.azure_edge, lab.aws_prefixes)):
        routes[edge] = {p: [{"peerId": "198.18.0.2", "valid": True}] for p in prefixes}
    return neighbors, routes


def test_the_frr_reader_sees_a_converged_lab_healthy(lab: Lab) -> None:
    neighbors, routes = _converged(lab)
    report = evaluate(expected_from_lab(lab), observe(FakeLab(lab, neighbors, routes)))  # type: ignore[arg-type]
    assert report.healthy, report.findings


def test_the_frr_reader_names_a_cut_link_and_says_no_when_a_prefix_is_left_out(lab: Lab) -> None:
    neighbors, routes = _converged(lab)
    s = lab.session("fcr-a/aws")
    neighbors[s.fcr][s.cloud_address] = {"bgpState": "Active"}
    neighbors[s.cloud][s.fcr_address] = {"bgpState": "Connect"}
    routes[s.fcr] = {p: [x for x in paths if x["peerId"] != s.cloud_address] for p, paths in routes[s.fcr].items()}
    expected = expected_from_lab(lab)
    fault = fault_footprint(expected, {"fcr-a/aws"})
    # fcr-a still (wrongly) passes the AWS prefix on: health does not name it, so it does not match.
    ok, detail = matches(evaluate(expected, observe(FakeLab(lab, neighbors, routes))), fault)  # type: ignore[arg-type]
    assert not ok and "did not name 1 prefix" in detail
    # As FRR really has it: the primary Microsoft edge no longer receives it either.
    msee = lab.session("fcr-a/azure-primary")
    routes[msee.cloud] = {p: [x for x in paths if x["peerId"] != msee.fcr_address]
                          for p, paths in routes[msee.cloud].items()}
    ok, detail = matches(evaluate(expected, observe(FakeLab(lab, neighbors, routes))), fault)  # type: ignore[arg-type]
    assert ok, detail


def test_a_stopped_router_holds_nothing(lab: Lab) -> None:
    neighbors, routes = _converged(lab)
    for s in lab.sessions:
        if s.fcr == "fcr-b":
            neighbors[s.cloud][s.fcr_address] = {"bgpState": "Active"}
    expected = expected_from_lab(lab)
    report = evaluate(expected, observe(FakeLab(lab, neighbors, routes, down={"fcr-b"})))  # type: ignore[arg-type]
    ok, detail = matches(report, fault_footprint(expected, {"fcr-b/aws", "fcr-b/azure-secondary"}))
    assert ok, detail


def test_health_matched_travels_in_the_result_json() -> None:
    r = Result("link-cut x", "link-cut", "x", True, health_matched=False, health_detail="named too many")
    assert r.to_json()["healthMatched"] is False and r.to_json()["healthDetail"] == "named too many"
