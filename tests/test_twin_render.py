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
from twin.probe import Summary, analyse
from twin.render import (
    IKE_PROPOSAL,
    INTERNET,
    WIRE_PREFIXLEN,
    Route,
    bfdd_config,
    bgpd_config,
    build_lab,
    dpd_detection_s,
    expected_routes,
    frr_configs,
    ipsec_configs,
    observed_routes,
    retransmit_timeout,
    table_differences,
)
from twin.scenarios import (
    BACKUP_KINDS,
    VPN_PATH,
    Result,
    Scenario,
    complete_paths,
    exposures,
    judge,
    plan_scenarios,
    private_paths,
)

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


def without_backup(project: Path) -> Path:
    """The project copy's dev stack without its VPN backup (bridge:vpnBackup): the private path alone."""
    path = project / "Pulumi.dev.yaml"
    data = yaml.safe_load(path.read_text())
    data["config"].pop("bridge:vpnBackup", None)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return project


@pytest.fixture
def dev(project: Path) -> tuple[BridgePlan, Lab]:
    """dev's private path (its VPN backup removed; the backup's own tests use ``dev_backup``)."""
    plan = bridge_plan(without_backup(project))
    return plan, build_lab(plan)


@pytest.fixture
def dev_backup(project: Path) -> tuple[BridgePlan, Lab]:
    """dev as it stands, with its VPN backup."""
    plan = bridge_plan(project)
    assert plan.backup is not None, "Pulumi.dev.yaml enables bridge:vpnBackup"
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
    # dev's VPN backup: both tunnel ends' strongSwan configs, and no router that ends no tunnel has any.
    assert sorted(p.parent.parent.name for p in out.glob("*/ipsec/swanctl.conf")) == ["tgw", "vpngw"]
    assert "vpn1-t1" in (out / "tgw" / "ipsec" / "swanctl.conf").read_text()
    assert not (out / "fcr-a" / "ipsec").exists()
    assert "strongSwan configs of 2 tunnel ends" in capsys.readouterr().out


def test_customer_stack_is_refused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-C", str(project), "twin", "dev.acme"]) == 2
    err = capsys.readouterr().err
    assert "is a customer stack" in err and "bridgectl twin dev" in err


def test_unknown_scenario_pattern_is_a_usage_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-C", str(project), "twin", "dev", "-s", "cut everything"]) == 2
    assert "matches no scenario" in capsys.readouterr().err


def test_missing_root_and_frr_exit_3_with_the_fix(project: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = sandbox.missing_prerequisites(euid=1000, frr_dir=tmp_path, which=lambda _: None,
                                            ipsec_files={tmp_path / "charon": "strongswan-charon"})
    assert any("needs root" in m and "sudo" in m for m in missing)
    assert any("apt-get install strongswan-charon" in m for m in missing)
    assert not any("strongSwan" in m for m in sandbox.missing_prerequisites(euid=0, ipsec_files={}))
    # A stack without the VPN backup does not need strongSwan.
    assert not any("strongSwan" in m for m in sandbox.missing_prerequisites(
        euid=0, ipsec_files={tmp_path / "charon": "strongswan-charon"}, ipsec=False))
    assert any("apt-get install frr" in m for m in missing)
    assert any("unshare" in m and "util-linux" in m for m in missing)
    monkeypatch.setattr(sandbox, "missing_prerequisites", lambda **_: missing)
    assert main(["-C", str(project), "twin", "dev"]) == 3
    assert "apt-get install frr" in capsys.readouterr().err


def test_cloud_wan_backbone_speaks_as_its_core_network_edge(project: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = project / "Pulumi.dev.yaml"
    data = yaml.safe_load(path.read_text())
    data["config"].pop("bridge:vpnBackup", None)  # validation refuses a VPN backup on Cloud WAN
    aws = data["config"]["bridge:aws"]
    aws["backbone"] = "cloud-wan"
    del aws["transitGatewayAsn"]
    aws["coreNetwork"] = {"asnRanges": ["64600-64699"], "edgeLocations": ["us-east-1"]}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["-C", str(project), "twin", "dev", "--configs", str(tmp_path / "c")]) == 0
    assert "router bgp 64600\n" in (tmp_path / "c" / "tgw" / "bgpd.conf").read_text()


def test_keep_directory_may_not_be_inside_the_sandbox_mounts(project: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "missing_prerequisites", lambda **_: [])
    assert main(["-C", str(project), "twin", "dev", "--keep", "/run/twin-files"]) == 2
    assert "choose another directory" in capsys.readouterr().err


# --- the VPN backup (bridge:vpnBackup) ------------------------------------------------------------------


def test_backup_is_an_internet_link_a_gateway_and_the_plans_four_tunnels(dev_backup: tuple[BridgePlan, Lab]) -> None:
    plan, lab = dev_backup
    assert plan.backup is not None
    gw = lab.node("vpngw")
    assert (gw.role, gw.asn, lab.vpn_gateway) == ("vpngw", L.AZURE_VPN_GATEWAY_ASN, "vpngw")
    assert [lk.kind for lk in lab.links].count("internet") == 1
    tunnels = [lk for lk in lab.links if lk.kind == "vpn-tunnel"]
    assert [(lk.id, lk.a, lk.b) for lk in tunnels] == [(t.id, "tgw", "vpngw") for t in plan.backup.tunnels]
    for t, planned in zip(lab.tunnels, plan.backup.tunnels, strict=True):
        # the plan's inside addresses: AWS the first of the /30, Azure the second
        assert (t.aws_address, t.azure_address) == (str(planned.aws.address.ip), str(planned.azure.address.ip))
        assert (t.keepalive_s, t.hold_s) == (planned.timers.keepalive_s, planned.timers.hold_s) == (10, 30)
    # four AWS outside addresses at the TGW, one public address per gateway instance
    internet = lab.node("tgw").interface_to("vpngw")
    assert len((internet.address, *internet.extra)) == 4
    assert len({t.azure_outside for t in lab.tunnels}) == 2 == len((gw.interfaces[0].address, *gw.interfaces[0].extra))
    assert len({t.vni for t in lab.tunnels}) == 4


def test_each_tunnel_is_its_own_ikev2_sa_protecting_only_its_vxlan(dev_backup: tuple[BridgePlan, Lab]) -> None:
    _, lab = dev_backup
    wire = ipaddress.ip_network(f"{INTERNET.network_address}/{WIRE_PREFIXLEN}")
    selectors = [a for t in lab.tunnels for a in (t.aws_selector, t.azure_selector)]
    # eight distinct /32s inside TEST-NET-3 but off the internet link's subnet: no route but the SA's reaches them
    assert len(set(selectors)) == 8
    assert all(ipaddress.ip_address(a) in INTERNET and ipaddress.ip_address(a) not in wire for a in selectors)
    assert len({t.aws_psk for t in lab.tunnels}) == 4 and all(t.aws_psk == t.azure_psk for t in lab.tunnels)
    assert all(len(t.aws_psk) == L.VPN_PSK_GENERATED_LEN for t in lab.tunnels)
    tgw, vpngw = ipsec_configs(lab, "tgw"), ipsec_configs(lab, "vpngw")
    assert ipsec_configs(lab, "ergw") == {}
    for t in lab.tunnels:
        for conf, mine, theirs, local, remote in (
                (tgw, t.aws_selector, t.azure_selector, t.aws_outside, t.azure_outside),
                (vpngw, t.azure_selector, t.aws_selector, t.azure_outside, t.aws_outside)):
            block = conf["swanctl.conf"].split(f"  {t.id} {{\n", 1)[1].split("\n  }\n", 1)[0]
            assert "version = 2\n" in block and f"proposals = {IKE_PROPOSAL}\n" in block
            assert f"local_addrs = {local}\n" in block and f"remote_addrs = {remote}\n" in block
            assert f"local_ts = {mine}/32\n" in block and f"remote_ts = {theirs}/32\n" in block
            assert "dpd_delay = 10s\n" in block
            assert f'secret = "{t.aws_psk}"' in conf["swanctl.conf"]
    # Azure initiates and restarts; AWS answers and clears (its default DPDTimeoutAction)
    assert tgw["swanctl.conf"].count("start_action = none") == 4
    assert tgw["swanctl.conf"].count("dpd_action = clear") == 4
    assert vpngw["swanctl.conf"].count("start_action = start") == 4
    assert vpngw["swanctl.conf"].count("dpd_action = restart") == 4
    assert "kernel-libipsec" in tgw["strongswan.conf"] and "socket = unix:///run/charon.vici" in tgw["strongswan.conf"]


def test_dpd_gives_up_within_the_plans_dpd_timeout() -> None:
    # R_U_THERE every 10 s, then retransmissions that give up 30 s later: 30-40 s after the peer's last packet
    assert dpd_detection_s(40) == pytest.approx((30.0, 40.0))
    assert dpd_detection_s(120) == pytest.approx((110.0, 120.0))
    assert retransmit_timeout(40) == pytest.approx(30 / sum(1.4 ** n for n in range(6)))


def test_vpn_sessions_run_without_bfd_at_the_aws_vpn_timers_and_a_lower_preference(
        dev_backup: tuple[BridgePlan, Lab]) -> None:
    _, lab = dev_backup
    tgw, vpngw, ergw = (bgpd_config(lab.node(n)) for n in ("tgw", "vpngw", "ergw"))
    for t in lab.tunnels:
        assert f" neighbor {t.azure_address} timers 10 30\n" in tgw
        assert f" neighbor {t.aws_address} timers 10 30\n" in vpngw
        # neither AWS Site-to-Site VPN nor the Azure VPN gateway runs BFD
        assert f"neighbor {t.azure_address} bfd" not in tgw and f"neighbor {t.aws_address} bfd" not in vpngw
        assert f"neighbor {t.azure_address} password" not in tgw  # IPsec protects the session, not TCP MD5
    # the TGW prefers Direct Connect, the Azure side ExpressRoute: VPN routes come in at local preference 50
    assert "route-map FROM-VPNGW permit 10\n set local-preference 50\n" in tgw
    assert "route-map FROM-VPNGW permit 10\n set local-preference 50\n" in ergw
    assert "next-hop-self" in vpngw and "next-hop-self" not in ergw
    assert " network 10.10.0.0/16\n" in tgw  # the TGW propagates its VPC CIDR to the VPN


def test_vpn_routes_are_held_but_not_selected_while_a_private_path_is_up(dev_backup: tuple[BridgePlan, Lab]) -> None:
    _, lab = dev_backup
    tables = expected_routes(lab)
    dx_path = "64513 64999 12076 65515"
    assert tables["tgw"]["10.20.0.0/22"] == frozenset(
        {Route("aws-dx-fcr-a", dx_path, True), Route("aws-dx-fcr-b", dx_path, True)}
        | {Route(f"vpngw via {t.azure_address}", "65515", False) for t in lab.tunnels})
    assert tables["ergw"]["10.10.0.0/16"] == frozenset({
        Route("msee-primary", "12076 64999 64513", True), Route("msee-secondary", "12076 64999 64513", True),
        Route("vpngw", "64512", False)})
    assert tables["vpngw"]["10.10.0.0/16"] == frozenset(
        Route(f"tgw via {t.aws_address}", "64512", True) for t in lab.tunnels)
    assert tables["vpngw"]["10.20.0.0/22"] == frozenset({Route("ergw", "", True)})
    # nothing crosses into the private path: the DX routers and the FCRs never see the VPN
    assert "10.20.0.0/22" not in tables["aws-dx-fcr-a"] or all(
        not r.peer.startswith("vpngw") for r in tables["aws-dx-fcr-a"]["10.20.0.0/22"])


def test_routes_check_fails_when_the_vpn_would_win(dev_backup: tuple[BridgePlan, Lab]) -> None:
    """The routes check is stated from the design: a TGW that selects the VPN (the preference inverted),
    or a more specific prefix over the VPN, is a difference."""
    _, lab = dev_backup
    node = lab.node("tgw")
    dx = node.neighbor_to("aws-dx-fcr-a").address, node.neighbor_to("aws-dx-fcr-b").address
    dx_path = "64513 64999 12076 65515"

    def tunnel_paths(best: bool) -> list[dict[str, Any]]:
        return [{"valid": True, "bestpath": best and i == 0, "multipath": best, "path": "65515",
                 "peerId": t.azure_address} for i, t in enumerate(lab.tunnels)]

    as_designed = _frr_table({"10.20.0.0/22": [
        {"valid": True, "bestpath": True, "multipath": True, "path": dx_path, "peerId": dx[0]},
        {"valid": True, "multipath": True, "path": dx_path, "peerId": dx[1]}, *tunnel_paths(False)],
        "10.10.0.0/16": [{"valid": True, "bestpath": True, "path": "", "peerId": "(unspec)"}]})
    expected = expected_routes(lab)["tgw"]
    assert table_differences("tgw", expected, observed_routes(node, as_designed)) == []
    inverted = _frr_table({"10.20.0.0/22": [
        {"valid": True, "path": dx_path, "peerId": dx[0]}, {"valid": True, "path": dx_path, "peerId": dx[1]},
        *tunnel_paths(True)], "10.10.0.0/16": as_designed["routes"]["10.10.0.0/16"]})
    lines = table_differences("tgw", expected, observed_routes(node, inverted))
    assert len(lines) == 1 and "from vpngw via 169.254.21.2, AS path [65515];" in lines[0], lines
    specific = _frr_table({**as_designed["routes"], "10.20.1.0/24": tunnel_paths(True)})
    lines = table_differences("tgw", expected, observed_routes(node, specific))
    assert lines and lines[0].startswith("tgw: 10.20.1.0/24 leaked here (from vpngw via"), lines


def test_ipsec_only_lab_is_the_backup_alone(dev_backup: tuple[BridgePlan, Lab]) -> None:
    plan, _ = dev_backup
    lab = build_lab(plan, private=False)
    assert {n.role for n in lab.nodes} == {"tgw", "ergw", "vpngw", "host"}
    assert lab.sessions == () and not lab.private and len(lab.tunnels) == 4
    assert expected_routes(lab)["tgw"]["10.20.0.0/22"] == frozenset(
        Route(f"vpngw via {t.azure_address}", "65515", True) for t in lab.tunnels)
    assert [(s.kind, s.backup) for s in plan_scenarios(lab)] == [("backup-down", "only")]


def test_the_vpn_counts_as_a_path_once_every_private_path_is_lost(dev_backup: tuple[BridgePlan, Lab]) -> None:
    _, lab = dev_backup
    every = {s.id for s in lab.sessions}
    assert private_paths(lab, every) == [] and complete_paths(lab, every) == [VPN_PATH]
    assert complete_paths(lab, every, frozenset(t.id for t in lab.tunnels)) == []
    scenarios = {s.name: s for s in plan_scenarios(lab)}
    # dev's one metro and one circuit are no longer fatal: the backup carries the traffic
    assert [s.name for s in scenarios.values() if s.exercises] == []
    assert scenarios["metro-down DC"].backup == scenarios["circuit-down Washington DC"].backup == "carries"
    assert scenarios["link-cut fcr-a/aws"].backup == scenarios["drain fcr-a/azure-primary"].backup == "idle"
    assert scenarios["bfd-off fcr-a/aws"].backup == "idle"
    assert [n for n, s in scenarios.items() if s.kind in BACKUP_KINDS] == [
        "backup-failover", "backup-failback", "backup-down vpn1-t1"]
    assert scenarios["backup-failover"].units == ("router:fcr-a", "router:fcr-b")  # on dev, the whole metro
    # pairs that leave only the VPN are not run: backup-failover covers them, and exposures say so
    ex = exposures(lab)
    assert ex and all(e["backupCarries"] and e["lacks"].endswith("(meanwhile the VPN backup carries the traffic)")
                      for e in ex)


def test_without_a_backup_the_scenarios_are_as_before(dev: tuple[BridgePlan, Lab]) -> None:
    _, lab = dev
    assert not lab.tunnels and all(s.backup == "" and s.kind not in BACKUP_KINDS for s in plan_scenarios(lab))
    assert all(not e["backupCarries"] for e in exposures(lab))


def _result(sc: Scenario, **figures: Any) -> Result:
    base: dict[str, Any] = {"detection_ms": 900, "outage_ms": 1100, "lost_packets": 1500, "sent_packets": 4800,
                            "routes_lost": 0, "recovered": True, "flows_hit": 16, "health_matched": True,
                            "recovered_after": True, "vpn_packets": 0, "vpn_packets_before": 0,
                            "detail": "down at tgw, vpngw: Hold Timer Expired"}
    base.update(figures)
    return Result(sc.name, sc.kind, sc.target, False, **base)


@pytest.mark.parametrize(("name", "figures", "failure"), [
    ("backup-failover", {"vpn_packets": 4000}, None),
    ("backup-failover", {"vpn_packets": 4000, "outage_ms": 2000}, "outage 2000 ms, not under 2000 ms"),
    ("backup-failover", {"vpn_packets": 4000, "detection_ms": 1200}, "detection 1200 ms > 1000 ms"),
    ("backup-failover", {"vpn_packets": 0}, "no probe packet crossed the VPN, with no private path left"),
    ("backup-failover", {"vpn_packets": 4000, "vpn_packets_before": 3},
     "3 probe packet(s) crossed the VPN before the fault, with every private path up"),
    ("metro-down DC", {"vpn_packets": 4000, "outage_ms": 1900}, None),
    ("link-cut fcr-a/aws", {}, None),
    ("link-cut fcr-a/aws", {"vpn_packets": 12}, "12 probe packet(s) crossed the VPN while a private path was up"),
    ("drain fcr-a/azure-primary", {"lost_packets": 0, "vpn_packets": 1},
     "1 probe packet(s) crossed the VPN while a private path was up"),
    ("backup-failback", {"lost_packets": 0, "detection_ms": 11000, "outage_ms": 5, "vpn_packets_before": 1600}, None),
    ("backup-failback", {"lost_packets": 2, "detection_ms": 11000, "outage_ms": 20},
     "2 packet(s) lost while traffic moved back to the private path"),
    ("backup-failback", {"lost_packets": 0, "detection_ms": 11000, "vpn_packets": 40},
     "40 probe packet(s) still crossed the VPN after the private path was back"),
    ("backup-down vpn1-t1", {"lost_packets": 0, "detection_ms": 24000, "outage_ms": 5}, None),
    ("backup-down vpn1-t1", {"lost_packets": 1, "detection_ms": 24000},
     "1 packet(s) lost when a VPN tunnel went, with the private path up"),
    ("backup-down vpn1-t1", {"lost_packets": 0, "detection_ms": 32000},
     "detection 32000 ms, later than the 30 s hold timer"),
    ("backup-down vpn1-t1", {"lost_packets": 0, "detection_ms": 24000, "detail": "down at tgw: Cease"},
     "the tunnel's session was not brought down by the hold timer"),
])
def test_backup_judge_says_no(dev_backup: tuple[BridgePlan, Lab], name: str, figures: dict[str, Any],
                              failure: str | None) -> None:
    _, lab = dev_backup
    sc = next(s for s in plan_scenarios(lab) if s.name == name)
    result = _result(sc, **figures)
    judge(sc, result)
    assert result.passed is (failure is None), result.failures
    if failure is not None:
        assert failure in result.failures, result.failures


def test_vpn_figures_round_trip_through_json(dev_backup: tuple[BridgePlan, Lab]) -> None:
    _, lab = dev_backup
    sc = next(s for s in plan_scenarios(lab) if s.kind == "backup-failover")
    result = _result(sc, vpn_packets=4000, vpn_packets_before=0)
    data = result.to_json()
    assert (data["vpnPackets"], data["vpnPacketsBefore"]) == (4000, 0)
    assert Result.from_json(data) == result
    assert Lab.from_json(lab.to_json()) == lab


def test_the_probe_stops_at_once_on_sigterm_whenever_it_arrives() -> None:
    """The probe's signal handler must not take a lock its main thread may hold (it once set a
    threading.Event, which deadlocked now and then: "the probe did not stop")."""
    import random
    import signal
    import subprocess
    import sys
    import time

    rng = random.Random(7)
    for _ in range(12):
        proc = subprocess.Popen([sys.executable, "-m", "twin.probe", "send", "--target", "127.0.0.1", "--port", "9",
                                 "--flows", "16", "--pps", "100", "--max-seconds", "60"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                cwd=Path(__file__).resolve().parent.parent)
        time.sleep(0.4 + rng.random() * 0.3)  # after start-up, at a random point of the send loop
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
        summary = Summary.from_json(out.decode().splitlines()[-1])
        assert proc.returncode == 0 and summary.flows == 16 and summary.sent > 0


def test_exposures_say_whether_the_vpn_backup_carries_the_traffic() -> None:
    from bridgectl.commands.twin import exposure_text

    pair = {"faults": ["router fcr-a", "router fcr-b"], "lacks": "a third router"}
    assert exposure_text([{**pair, "backupCarries": True}]).startswith(
        "double failures the private path cannot survive (from the plan, not run; the VPN backup carries):")
    # Says no: without the backup such a pair cuts AWS from Azure.
    assert exposure_text([{**pair, "backupCarries": False}]).startswith(
        "double failures the topology cannot survive (from the plan, not run):")
    assert exposure_text([]) == "double failures the topology cannot survive: none"
