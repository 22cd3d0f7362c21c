"""The twin's pure parts: the lab rendered from the plan, FRR configs, the routes each router should
hold, the probe's arithmetic, and `bridgectl twin` up to the point where it needs root.

No namespace or FRR here (tests/test_twin.py runs the lab); these run anywhere.
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridgectl.cli import main
from stacks import limits as L
from stacks.loader import load_stack
from stacks.plan import BridgePlan, plan_bridge
from stacks.problems import ConfigError
from twin import sandbox
from twin.model import Lab
from twin.probe import analyse
from twin.render import (
    Route,
    bfdd_config,
    bgpd_config,
    build_lab,
    expected_routes,
    frr_configs,
    observed_routes,
    table_differences,
)
from twin.scenarios import plan_scenarios

MS = 1_000_000  # ns


def bridge_plan(project: Path, stack: str = "dev") -> BridgePlan:
    spec = load_stack(project, stack).spec
    return plan_bridge(spec)  # type: ignore[arg-type]


def single_router(project: Path) -> Path:
    """The project copy's dev stack with fcr-b removed."""
    path = project / "Pulumi.dev.yaml"
    data = yaml.safe_load(path.read_text())
    routers = data["config"]["bridge:exchange"]["routers"]
    data["config"]["bridge:exchange"]["routers"] = [r for r in routers if r["name"] != "fcr-b"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return project


@pytest.fixture
def dev(project: Path) -> tuple[BridgePlan, Lab]:
    plan = bridge_plan(project)
    return plan, build_lab(plan)


# --- topology -----------------------------------------------------------------------------------------


def test_lab_has_every_router_the_issue_names(dev: tuple[BridgePlan, Lab]) -> None:
    _, lab = dev
    roles = {n.name: n.role for n in lab.nodes}
    assert roles == {"tgw": "tgw", "vpc": "host", "ergw": "ergw", "vnet": "host", "fcr-a": "fcr", "fcr-b": "fcr",
                     "aws-dx-fcr-a": "dx", "aws-dx-fcr-b": "dx", "msee-primary": "msee", "msee-secondary": "msee"}
    asns = {n.name: n.asn for n in lab.routers}
    assert asns == {"tgw": 64512, "ergw": L.EXPRESSROUTE_GATEWAY_ASN, "fcr-a": 64999, "fcr-b": 64999,
                    "aws-dx-fcr-a": 64513, "aws-dx-fcr-b": 64513, "msee-primary": L.MICROSOFT_EDGE_ASN,
                    "msee-secondary": L.MICROSOFT_EDGE_ASN}


def test_sessions_run_on_the_plans_addresses(dev: tuple[BridgePlan, Lab]) -> None:
    plan, lab = dev
    for s in plan.sessions:
        link = lab.link(s.id)
        ends = {link.a: link.a_iface, link.b: link.b_iface}
        fcr_if = next(i for i in lab.node(s.router).interfaces if i.name == ends[s.router])
        cloud_if = next(i for i in lab.node(s.cloud.name).interfaces if i.name == ends[s.cloud.name])
        assert (fcr_if.address, cloud_if.address) == (str(s.fcr.address), str(s.cloud.address))
        assert link.kind == ("transit-vif" if s.kind == "aws" else "expressroute")


def test_hosts_sit_in_the_vpc_and_the_hub(dev: tuple[BridgePlan, Lab]) -> None:
    plan, lab = dev
    assert ipaddress.ip_address(lab.vpc_address) in plan.aws_prefixes[0]
    assert ipaddress.ip_address(lab.vnet_address) in plan.hub.endpoint_subnet
    gateway = lab.node("ergw").interface_to("vnet").address.split("/")[0]
    assert ipaddress.ip_address(gateway) in plan.hub.gateway_subnet


def test_lab_address_space_stays_out_of_the_plan(dev: tuple[BridgePlan, Lab]) -> None:
    plan, lab = dev
    plan_nets = [*plan.aws_prefixes, *plan.azure_prefixes, *(s.link for s in plan.sessions)]
    internal = [ipaddress.IPv4Interface(i.address).network for n in lab.nodes for i in n.interfaces
                if lab.link(i.link).kind == "internal"]
    assert internal
    for net in [*internal, ipaddress.IPv4Network(lab.excess_pool)]:
        assert not any(net.overlaps(p) for p in plan_nets), net


def test_lab_round_trips_through_json(dev: tuple[BridgePlan, Lab]) -> None:
    _, lab = dev
    assert Lab.from_json(lab.to_json()) == lab


def test_a_router_named_like_a_twin_node_is_refused(project: Path) -> None:
    path = project / "Pulumi.dev.yaml"
    data = yaml.safe_load(path.read_text())
    data["config"]["bridge:exchange"]["routers"][1]["name"] = "ergw"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ConfigError, match="router name 'ergw' is a name the twin gives one of its own nodes"):
        build_lab(bridge_plan(project))


# --- FRR configs ---------------------------------------------------------------------------------------


def _neighbor_lines(config: str, address: str) -> list[str]:
    return [ln.strip() for ln in config.splitlines() if ln.strip().startswith(f"neighbor {address} ")]


def test_transit_vif_session_is_configured_as_aws_runs_it(dev: tuple[BridgePlan, Lab]) -> None:
    plan, lab = dev
    s = plan.session("fcr-a/aws")
    dx = bgpd_config(lab.node("aws-dx-fcr-a"))
    fcr = bgpd_config(lab.node("fcr-a"))
    dx_lines = _neighbor_lines(dx, str(s.fcr.ip))
    assert f"neighbor {s.fcr.ip} remote-as {plan.fcr_asn}" in dx_lines
    assert f"neighbor {s.fcr.ip} timers {L.AWS_BGP_KEEPALIVE_S} {L.AWS_BGP_HOLD_S}" in dx_lines
    # AWS takes the session idle above 100 routes, counting every route it is sent.
    assert f"neighbor {s.fcr.ip} maximum-prefix {L.AWS_MAX_PREFIXES_PER_TRANSIT_VIF} force" in dx_lines
    assert f"neighbor {s.cloud.ip} remote-as {plan.dxgw_asn}" in _neighbor_lines(fcr, str(s.cloud.ip))
    # The DX gateway advertises the allowed prefixes itself, and only those, toward the FCR.
    assert "network 10.10.0.0/16" in dx
    assert re.findall(r"ip prefix-list PL-TO-FCR-A seq \d+ permit (\S+)", dx) == ["10.10.0.0/16"]
    assert re.findall(r"ip prefix-list PL-TO-AWS-DX-FCR-A seq \d+ permit (\S+)", fcr) == ["10.20.0.0/22"]


def test_expressroute_session_is_configured_as_microsoft_runs_it(dev: tuple[BridgePlan, Lab]) -> None:
    plan, lab = dev
    s = plan.session("fcr-a/azure-primary")
    msee = bgpd_config(lab.node("msee-primary"))
    lines = _neighbor_lines(msee, str(s.fcr.ip))
    assert f"neighbor {s.fcr.ip} timers {L.MICROSOFT_BGP_KEEPALIVE_S} {L.MICROSOFT_BGP_HOLD_S}" in lines
    assert f"neighbor {s.fcr.ip} maximum-prefix {L.AZURE_MAX_PREFIXES_BY_TIER['Standard']} force" in lines
    assert re.findall(r"ip prefix-list PL-TO-FCR-A seq \d+ permit (\S+)", msee) == ["10.20.0.0/22"]


def test_md5_keys_follow_the_plans_arrangement(dev: tuple[BridgePlan, Lab]) -> None:
    """One key per plan key id: both links of the ExpressRoute peering share one, each transit VIF has its own."""
    _, lab = dev
    keys = {}
    for s in lab.sessions:
        fcr_key = lab.node(s.fcr).neighbor_at(s.cloud_address).md5  # type: ignore[union-attr]
        cloud_key = lab.node(s.cloud).neighbor_at(s.fcr_address).md5  # type: ignore[union-attr]
        assert fcr_key and fcr_key == cloud_key
        # Both AWS (6-80 characters) and Azure (letters and digits, at most 25) accept it.
        assert re.fullmatch(r"[A-Za-z0-9]{6,25}", fcr_key)
        keys[s.id] = fcr_key
    assert keys["fcr-a/azure-primary"] == keys["fcr-b/azure-secondary"]
    assert len({keys["fcr-a/aws"], keys["fcr-b/aws"], keys["fcr-a/azure-primary"]}) == 3
    assert {s.id: s.key_id for s in lab.sessions} == {"fcr-a/aws": "fcr-a-aws", "fcr-b/aws": "fcr-b-aws",
                                                     "fcr-a/azure-primary": "azure", "fcr-b/azure-secondary": "azure"}
    assert all(n.md5 is None for node in lab.routers for n in node.neighbors if n.session is None)


def test_bfd_runs_at_the_plans_interval_on_both_ends(dev: tuple[BridgePlan, Lab]) -> None:
    plan, lab = dev
    for s in lab.sessions:
        for node, peer in ((s.fcr, s.cloud_address), (s.cloud, s.fcr_address)):
            n = lab.node(node).neighbor_at(peer)
            assert n is not None and n.bfd_profile
            text = bfdd_config(lab.node(node))
            block = text[text.index(f"profile {n.bfd_profile}"):]
            assert f"detect-multiplier {plan.bfd.multiplier}" in block.split(" exit")[0]
            assert f"transmit-interval {plan.bfd.interval_ms}" in block.split(" exit")[0]
            assert f"neighbor {peer} bfd profile {n.bfd_profile}" in bgpd_config(lab.node(node))


def test_hold_timer_lab_turns_bfd_off_on_one_session_only(project: Path) -> None:
    lab = build_lab(bridge_plan(project), bfd_off=["fcr-a/aws"])
    assert [s.id for s in lab.sessions if not s.bfd] == ["fcr-a/aws"]
    assert "bfd" not in " ".join(_neighbor_lines(bgpd_config(lab.node("fcr-a")), "169.254.100.221"))
    assert lab.bfd_off == ("fcr-a/aws",)


def test_every_router_gets_three_daemons_and_hosts_none(dev: tuple[BridgePlan, Lab]) -> None:
    _, lab = dev
    for node in lab.routers:
        configs = frr_configs(node)
        assert set(configs) == {"zebra", "bfdd", "bgpd"}
        assert all(text.startswith("frr defaults traditional\n") for text in configs.values())
        assert f"router bgp {node.asn}" in configs["bgpd"]
    assert {n.name for n in lab.nodes if not n.is_router} == {"vpc", "vnet"}


# --- what each router should hold ----------------------------------------------------------------------


def test_each_side_learns_the_other_sides_prefixes_with_the_asn_chain(dev: tuple[BridgePlan, Lab]) -> None:
    _, lab = dev
    tables = expected_routes(lab)
    aws_path = "64513 64999 12076 65515"
    assert tables["tgw"] == {"10.20.0.0/22": frozenset({Route("aws-dx-fcr-a", aws_path, True),
                                                        Route("aws-dx-fcr-b", aws_path, True)})}
    azure_path = "12076 64999 64513"
    assert tables["ergw"]["10.10.0.0/16"] == frozenset({Route("msee-primary", azure_path, True),
                                                        Route("msee-secondary", azure_path, True)})
    # The FCR holds its ExpressRoute subnet (exported, then filtered); its transit VIF's link-local /30 never.
    assert set(tables["fcr-a"]) == {"10.10.0.0/16", "10.20.0.0/22", "192.168.100.0/30"}


def test_a_drained_link_loses_the_path_selection_everywhere(dev: tuple[BridgePlan, Lab]) -> None:
    _, lab = dev
    tables = expected_routes(lab, drained=["fcr-a/azure-primary"])
    prepended = " ".join(["12076"] * (1 + L.MICROSOFT_MAINTENANCE_PREPEND))
    assert tables["tgw"]["10.20.0.0/22"] == frozenset({
        Route("aws-dx-fcr-a", f"64513 64999 {prepended} 65515", False),
        Route("aws-dx-fcr-b", "64513 64999 12076 65515", True)})
    assert tables["ergw"]["10.10.0.0/16"] == frozenset({
        Route("msee-primary", f"{prepended} 64999 64513", False),
        Route("msee-secondary", "12076 64999 64513", True)})


def test_single_router_balances_over_both_expressroute_links(project: Path) -> None:
    lab = build_lab(bridge_plan(single_router(project)))
    fcr = expected_routes(lab)["fcr-a"]
    assert fcr["10.20.0.0/22"] == frozenset({Route("msee-primary", "12076 65515", True),
                                             Route("msee-secondary", "12076 65515", True)})
    drained = expected_routes(lab, drained=["fcr-a/azure-primary"])
    assert drained["tgw"] == expected_routes(lab)["tgw"]  # the FCR itself moves to the secondary
    assert {r.selected for r in drained["fcr-a"]["10.20.0.0/22"] if r.peer == "msee-primary"} == {False}


def _frr_table(routes: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {"routes": routes}


def test_observed_tables_are_read_from_frr_json(dev: tuple[BridgePlan, Lab]) -> None:
    _, lab = dev
    node = lab.node("tgw")
    data = _frr_table({"10.20.0.0/22": [
        {"valid": True, "bestpath": True, "multipath": True, "path": "64513 64999 12076 65515", "peerId": "198.18.0.2"},
        {"valid": True, "multipath": True, "path": "64513 64999 12076 65515", "peerId": "198.18.0.6"}]})
    assert observed_routes(node, data) == expected_routes(lab)["tgw"]


def test_differences_name_leaks_missing_prefixes_and_wrong_paths() -> None:
    good = frozenset({Route("dx", "64513 64999 12076 65515", True)})
    expected = {"10.20.0.0/22": good, "10.30.0.0/16": good}
    observed = {"10.20.0.0/22": frozenset({Route("dx", "64513 64999 65515", True)}),
                "192.168.100.0/30": frozenset({Route("dx", "64513 64999", True)})}
    lines = table_differences("tgw", expected, observed)
    assert lines == [
        "tgw: 10.20.0.0/22 has from dx, AS path [64513 64999 65515]; "
        "expected from dx, AS path [64513 64999 12076 65515]",
        "tgw: 10.30.0.0/16 is missing (expected from dx, AS path [64513 64999 12076 65515])",
        "tgw: 192.168.100.0/30 leaked here (from dx, AS path [64513 64999])",
    ]
    assert table_differences("tgw", expected, expected) == []


# --- scenarios -------------------------------------------------------------------------------------


def test_dev_calls_for_every_scenario_kind(dev: tuple[BridgePlan, Lab]) -> None:
    _, lab = dev
    names = [s.name for s in plan_scenarios(lab)]
    assert names == ["link-cut fcr-a/aws", "link-cut fcr-b/aws", "link-cut fcr-a/azure-primary",
                     "link-cut fcr-b/azure-secondary", "loud-cut fcr-a/aws", "loud-cut fcr-a/azure-primary",
                     "router-down fcr-a", "router-down fcr-b", "circuit-down Washington DC", "metro-down DC",
                     "drain fcr-a/azure-primary", "drain fcr-b/azure-secondary", "circuit-drain Washington DC",
                     "bfd-off fcr-a/aws", "prefix-limit fcr-a/aws", "prefix-limit fcr-a/azure-primary"]
    assert {s.name for s in plan_scenarios(lab) if s.lab == "hold"} == {"bfd-off fcr-a/aws"}
    # dev's one circuit in one metro: those two scenarios cannot be survived, and say why
    fatal = {s.name: s.exercises for s in plan_scenarios(lab) if s.exercises}
    assert fatal == {"circuit-down Washington DC": ("the only circuit, at Washington DC",),
                     "metro-down DC": ("metro DC", "the only circuit, at Washington DC")}


@pytest.mark.parametrize(("patterns", "expected"), [
    (None, 16), (["drain"], 2), (["link-cut *"], 4), (["router-down fcr-b", "bfd-off"], 2), (["nothing"], 0)])
def test_scenarios_are_selected_by_name_or_kind(dev: tuple[BridgePlan, Lab], patterns: list[str] | None,
                                                expected: int) -> None:
    _, lab = dev
    assert len(sandbox.select_scenarios(plan_scenarios(lab), patterns)) == expected


# --- probe arithmetic --------------------------------------------------------------------------------


def _times(n: int, interval_ms: int = 10) -> list[int]:
    return [i * interval_ms * MS for i in range(n)]


@pytest.mark.parametrize(("answered", "outage_ms", "recovered"), [
    (set(range(100)), 0.0, True),  # every packet answered: no outage
    (set(range(100)) - set(range(20, 50)), 300.0, True),  # 30 lost in the middle: 300 ms, then flowing again
    (set(range(20)), 800.0, False),  # lost to the end: the outage lasted until the probe stopped
    (set(), 1000.0, False),  # nothing answered at all
    (set(range(5, 100)), 50.0, True),  # the first five lost
])
def test_probe_outage_is_the_longest_gap(answered: set[int], outage_ms: float, recovered: bool) -> None:
    summary = analyse([_times(100)], [answered], pps=100)
    assert (summary.outage_ms, summary.recovered) == (outage_ms, recovered)
    assert summary.sent - summary.received == 100 - len(answered)


def test_probe_reports_the_worst_flow() -> None:
    summary = analyse([_times(100), _times(100)], [set(range(100)), set(range(100)) - set(range(10, 30))], pps=100)
    assert (summary.outage_ms, summary.flows_hit, summary.received) == (200.0, 1, 180)


# --- the command, up to where it needs root -----------------------------------------------------------


def test_list_needs_no_root(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-C", str(project), "twin", "dev", "--list"]) == 0
    out = capsys.readouterr().out
    assert "prefix-limit fcr-a/aws" in out and "bfd-off fcr-a/aws" in out


def test_configs_are_written_without_running(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "configs"
    assert main(["-C", str(project), "twin", "dev", "--configs", str(out)]) == 0
    assert (out / "fcr-a" / "bgpd.conf").read_text().startswith("frr defaults traditional")
    assert json.loads((out / "lab.json").read_text())["stack"] == "dev"


def test_customer_stack_is_refused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-C", str(project), "twin", "dev.acme"]) == 2
    err = capsys.readouterr().err
    assert "is a customer stack" in err and "bridgectl twin dev" in err


def test_unknown_scenario_pattern_is_a_usage_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-C", str(project), "twin", "dev", "-s", "cut everything"]) == 2
    assert "matches no scenario" in capsys.readouterr().err


def test_missing_root_and_frr_exit_3_with_the_fix(project: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = sandbox.missing_prerequisites(euid=1000, frr_dir=tmp_path, which=lambda _: None)
    assert any("needs root" in m and "sudo" in m for m in missing)
    assert any("apt-get install frr" in m for m in missing)
    assert any("unshare" in m and "util-linux" in m for m in missing)
    monkeypatch.setattr(sandbox, "missing_prerequisites", lambda: missing)
    assert main(["-C", str(project), "twin", "dev"]) == 3
    assert "apt-get install frr" in capsys.readouterr().err


def test_cloud_wan_backbone_speaks_as_its_core_network_edge(project: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = project / "Pulumi.dev.yaml"
    data = yaml.safe_load(path.read_text())
    aws = data["config"]["bridge:aws"]
    aws["backbone"] = "cloud-wan"
    del aws["transitGatewayAsn"]
    aws["coreNetwork"] = {"asnRanges": ["64600-64699"], "edgeLocations": ["us-east-1"]}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["-C", str(project), "twin", "dev", "--configs", str(tmp_path / "c")]) == 0
    assert "router bgp 64600\n" in (tmp_path / "c" / "tgw" / "bgpd.conf").read_text()


def test_keep_directory_may_not_be_inside_the_sandbox_mounts(project: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "missing_prerequisites", lambda: [])
    assert main(["-C", str(project), "twin", "dev", "--keep", "/run/twin-files"]) == 2
    assert "choose another directory" in capsys.readouterr().err
