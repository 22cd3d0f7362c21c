"""bridgectl diff: which stacks a change touches, how resources compare, which risks are flagged.

The pure parts (stack selection, input comparison, the replacement table, the risks read from two
address plans, rendering) are tested on small data. The whole path runs on temporary git repositories
holding a copy of the project: a branch that adds a customer stack, one that changes the transit
gateway's ASN, and one that renumbers the links while also editing a customer stack.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bridgectl import diff as d
from bridgectl.cli import main
from bridgectl.replacements import TABLE, rule_for
from pulumi_support import GLOBEX

ROOT = Path(__file__).resolve().parent.parent


# --- stack selection -----------------------------------------------------------------------------


@pytest.mark.parametrize(("changed", "expected"), [
    (["Pulumi.dev.globex.yaml"], ["dev.globex"]),
    (["Pulumi.dev.acme.yaml"], ["dev.acme"]),
    (["Pulumi.dev.yaml"], ["dev", "dev.acme", "dev.globex"]),
    (["Pulumi.prod.yaml"], ["prod"]),
    (["components/transit_gateway.py"], ["dev", "prod", "dev.acme", "dev.globex"]),
    (["uv.lock"], ["dev", "prod", "dev.acme", "dev.globex"]),
    (["__main__.py", "docs/ci.md"], ["dev", "prod", "dev.acme", "dev.globex"]),
    (["bridgectl/diff.py", "policy/rules.py", "tests/test_diff.py", "README.md"], []),
    (["docs/Pulumi.dev.yaml"], []),
])
def test_affected_stacks(changed: list[str], expected: list[str]) -> None:
    stacks, reasons = d.affected_stacks(changed, ["dev", "dev.acme", "prod"], ["dev", "dev.acme", "dev.globex", "prod"])
    assert stacks == expected
    assert set(reasons) == set(expected)


def test_affected_stacks_says_why() -> None:
    _, reasons = d.affected_stacks(["Pulumi.dev.yaml"], ["dev", "dev.acme"], ["dev", "dev.acme"])
    assert reasons == {"dev": "Pulumi.dev.yaml changed", "dev.acme": "its bridge stack file Pulumi.dev.yaml changed"}


# --- inputs, replacements, cascade ---------------------------------------------------------------


def _res(typ: str, name: str, inputs: dict[str, Any], *, protect: bool = False, deps: list[str] | None = None,
         provider: str | None = None, options: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"urn": f"urn:pulumi:s::bridge::{typ}::{name}", "type": typ, "name": name, "parent": None,
            "protect": protect, "custom": True, "provider": provider, "inputs": inputs, "dependsOn": deps or [],
            "options": options or {}}


def test_flatten_paths() -> None:
    assert d.flatten({"a": {"b": [1, {"c": 2}]}, "e": [], "f": {}}) == {"a.b[0]": 1, "a.b[1].c": 2, "e": [], "f": {}}


@pytest.mark.parametrize(("typ", "path", "kind"), [
    ("aws:directconnect/transitVirtualInterface:TransitVirtualInterface", "vlan", "replace"),
    ("aws:directconnect/transitVirtualInterface:TransitVirtualInterface", "bgpAuthKey", "replace"),
    ("aws:directconnect/transitVirtualInterface:TransitVirtualInterface", "mtu", None),
    ("aws:directconnect/gateway:Gateway", "amazonSideAsn", "replace"),
    ("aws:directconnect/gateway:Gateway", "name", None),
    ("aws:ec2transitgateway/transitGateway:TransitGateway", "amazonSideAsn", "refused"),
    ("aws:ec2/securityGroup:SecurityGroup", "ingress[0].cidrBlocks[0]", None),
    ("aws:ec2/securityGroup:SecurityGroup", "description", "replace"),
    ("azure-native:network:ExpressRouteCircuitPeering", "peeringName", "replace"),
    ("azure-native:network:ExpressRouteCircuitPeering", "vlanId", None),
    ("azure-native:network:ExpressRouteCircuit", "serviceProviderProperties.peeringLocation", "refused"),
    ("azure-native:network:VirtualNetwork", "location", "refused"),
    ("equinix:fabric/cloudRouter:CloudRouter", "location.metroCode", "refused"),
    ("equinix:fabric/cloudRouter:CloudRouter", "package.code", None),
])
def test_replacement_table(typ: str, path: str, kind: str | None) -> None:
    hit = rule_for(typ, path)
    assert (hit[1].kind if hit else None) == kind


def test_every_table_entry_has_a_source() -> None:
    for typ, props in TABLE.items():
        for prop, rule in props.items():
            assert rule.source and rule.why, (typ, prop)


def test_conditional_rules() -> None:
    bandwidth = rule_for("azure-native:network:ExpressRouteCircuit", "serviceProviderProperties.bandwidthInMbps")
    assert bandwidth is not None
    assert bandwidth[1].applies(1000, 500) and not bandwidth[1].applies(500, 1000)
    assoc = rule_for("aws:ec2transitgateway/transitGateway:TransitGateway", "defaultRouteTableAssociation")
    assert assoc is not None
    assert assoc[1].applies("disable", "enable") and not assoc[1].applies("enable", "disable")


def test_update_in_place_versus_replacement() -> None:
    typ = "aws:directconnect/transitVirtualInterface:TransitVirtualInterface"
    old = _res(typ, "vif", {"vlan": 100, "mtu": 1500, "tags": {"a": "1"}}, protect=True)
    update = d.compare_resource(old, _res(typ, "vif", {"vlan": 100, "mtu": 8500, "tags": {"a": "2"}}, protect=True))
    assert update.action == "update"
    assert [c.path for c in update.changes] == ["mtu", "tags.a"]
    replace = d.compare_resource(old, _res(typ, "vif", {"vlan": 101, "mtu": 1500, "tags": {"a": "1"}}, protect=True))
    assert replace.action == "replace"
    assert replace.changes[0].replaces and "ForceNew" in (replace.changes[0].source or "")


def test_replace_on_changes_option_forces_replacement() -> None:
    typ = "equinix:fabric/connection:Connection"
    opts = {"replaceOnChanges": ["aSide", "zSide"], "deleteBeforeReplace": True}
    old = _res(typ, "c", {"aSide": {"x": 1}, "bandwidth": 1000}, options=opts)
    change = d.compare_resource(old, _res(typ, "c", {"aSide": {"x": 2}, "bandwidth": 1000}, options=opts))
    assert change.action == "replace" and change.delete_before_replace
    assert "replaceOnChanges" in (change.changes[0].replaces or "")
    bandwidth = d.compare_resource(old, _res(typ, "c", {"aSide": {"x": 1}, "bandwidth": 2000}, options=opts))
    assert bandwidth.action == "update"


def test_protection_lifted_is_a_risk() -> None:
    typ = "azure-native:network:ExpressRouteCircuit"
    change = d.compare_resource(_res(typ, "erc", {"a": 1}, protect=True), _res(typ, "erc", {"a": 1}))
    assert change.action == "update"
    assert [r.kind for r in d.resource_risks("s", [change])] == ["unprotected"]


def test_replacement_cascades_through_consumed_ids() -> None:
    """A replaced resource is planned again as recreated (new ids); what consumes its id changes too,
    and is replaced where that input forces it: the passes go on until nothing new is replaced."""
    tgw = _res("aws:ec2transitgateway/transitGateway:TransitGateway", "tgw", {"amazonSideAsn": 64512}, protect=True)
    rt = _res("aws:ec2transitgateway/routeTable:RouteTable", "rt", {"transitGatewayId": "tgw-1"}, deps=[tgw["urn"]])
    route = _res("aws:ec2/route:Route", "route", {"transitGatewayId": "tgw-1", "routeTableId": "rtb-1",
                                                    "destinationCidrBlock": "10.20.0.0/22"}, deps=[tgw["urn"]])
    assoc = _res("aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation", "assoc",
                 {"transitGatewayRouteTableId": "tgw-rtb-1", "transitGatewayAttachmentId": "att"}, deps=[rt["urn"]])
    old: dict[str, Any] = {"stack": "s", "resources": [tgw, rt, route, assoc]}
    head_resources: list[dict[str, Any]] = [dict(tgw, inputs={"amazonSideAsn": 64520}), rt, route, assoc]
    head0: dict[str, Any] = {"stack": "s", "resources": head_resources}
    calls: list[dict[str, list[str]]] = []

    def replan(replaced: dict[str, list[str]], stacks: list[str]) -> dict[str, Any]:
        """What the offline mocks give: the replaced resources report new ids."""
        calls.append(replaced)
        ids = {"tgw-1": "tgw", "tgw-rtb-1": "rt"}
        names = {u.split("::")[-1] for u in replaced["s"]}
        resources = []
        for r in head_resources:
            inputs = {k: f"{v}-renewed" if ids.get(v) in names else v for k, v in r["inputs"].items()}
            resources.append(dict(r, inputs=inputs))
        return {"s": {"plan": {"stack": "s", "resources": resources}}}

    [sd] = d.compare(["s"], {"s": {"plan": old}}, {"s": {"plan": head0}}, {}, {}, replan)
    changes = {c.name: c for c in sd.resources}
    assert changes["tgw"].action == "replace"
    assert changes["rt"].action == "replace" and changes["rt"].changes[0].via == "tgw"
    # A route's target updates in place (ReplaceRoute); only its table and destination force a new one.
    assert changes["route"].action == "update" and changes["route"].changes[0].via == "tgw"
    # The association takes the replaced route table's new id: found on the second pass.
    assert changes["assoc"].action == "replace" and changes["assoc"].changes[0].via == "rt"
    # Pass 2 finds the route table, pass 3 the association; pass 4 would find nothing new.
    assert [sorted(u.split("::")[-1] for u in c["s"]) for c in calls] == [["tgw"], ["rt", "tgw"],
                                                                          ["assoc", "rt", "tgw"]]
    assert sd.order["create"] == ["tgw", "rt", "assoc"]
    assert sd.order["deleteAfter"] == ["assoc", "rt", "tgw"] and not sd.order["deleteFirst"]
    # Without the passes, only what the change itself forces is seen.
    [flat] = d.compare(["s"], {"s": {"plan": old}}, {"s": {"plan": head0}}, {}, {}, None)
    assert [c.name for c in flat.resources if c.action == "replace"] == ["tgw"]


def test_provider_region_change_replaces_its_resources() -> None:
    provider = _res("pulumi:providers:aws", "aws", {"region": "us-east-1"})
    zone = _res("aws:route53/zone:Zone", "zone", {"name": "z"}, protect=True, provider=f"{provider['urn']}::id")
    new_provider = dict(provider, inputs={"region": "us-west-2"})
    changes = {c.name: c for c in d.resource_diff({"stack": "s", "resources": [provider, zone]},
                                                  {"stack": "s", "resources": [new_provider, zone]})}
    assert changes["aws"].action == "replace" and changes["zone"].action == "replace"
    assert [r.kind for r in d.resource_risks("s", list(changes.values()))] == ["protected-replace"]


# --- risks from the address plans ----------------------------------------------------------------


def _session(sid: str, link: str, fcr: str, cloud: str, **kw: Any) -> dict[str, Any]:
    s = {"id": sid, "link": link, "vlan": kw.get("vlan"), "fcr": {"asn": kw.get("fcr_asn", 64999), "address": fcr},
         "cloud": {"asn": kw.get("cloud_asn", 64513), "address": cloud},
         "key": {"id": kw.get("key_id", "fcr-a-aws"), "source": kw.get("key_source", "generated")},
         "bfd": {"enabled": kw.get("bfd", True), "interval_ms": 300, "multiplier": 3},
         "timers": {"keepalive_s": 30, "hold_s": 90}}
    return s


def _bgp(sessions: list[dict[str, Any]], budgets: list[dict[str, Any]] | None = None,
         **asns: int) -> dict[str, Any]:
    return {"tgw_asn": asns.get("tgw", 64512), "dxgw_asn": asns.get("dxgw", 64513), "fcr_asn": asns.get("fcr", 64999),
            "sessions": sessions, "budgets": budgets or []}


BASE_SESSION = _session("fcr-a/aws", "169.254.100.220/30", "169.254.100.222/30", "169.254.100.221/30")


@pytest.mark.parametrize(("new", "kinds", "needle"), [
    (_bgp([BASE_SESSION]), [], None),
    (_bgp([BASE_SESSION], tgw=64520), ["bgp-session"], "transit gateway ASN (the Amazon side"),
    (_bgp([_session("fcr-a/aws", "169.254.101.220/30", "169.254.101.222/30", "169.254.101.221/30")]),
     ["renumbered-link", "bgp-session"], "renumbered 169.254.100.220/30 -> 169.254.101.220/30"),
    (_bgp([_session("fcr-a/aws", "169.254.100.220/30", "169.254.100.222/30", "169.254.100.221/30", cloud_asn=64514)]),
     ["bgp-session"], "cloud ASN 64513 -> 64514"),
    (_bgp([_session("fcr-a/aws", "169.254.100.220/30", "169.254.100.222/30", "169.254.100.221/30", bfd=False)]),
     ["bgp-session"], "BFD True/300/3 -> False/300/3"),
    (_bgp([_session("fcr-a/aws", "169.254.100.220/30", "169.254.100.222/30", "169.254.100.221/30",
                    key_source="config")]),
     ["bgp-session"], "MD5 key fcr-a-aws/generated -> fcr-a-aws/config"),
    (_bgp([]), ["bgp-session"], "is removed"),
])
def test_bgp_risks(new: dict[str, Any], kinds: list[str], needle: str | None) -> None:
    risks = d.bgp_risks("dev", _bgp([BASE_SESSION]), new, {}, {})
    assert [r.kind for r in risks] == kinds
    if needle:
        assert any(needle in r.message for r in risks), [r.message for r in risks]


def test_vlan_and_configured_key_changes() -> None:
    a = _session("fcr-a/azure-primary", "192.168.100.0/30", "192.168.100.1/30", "192.168.100.2/30", vlan=300,
                 cloud_asn=12076, key_id="azure", key_source="config")
    b = dict(a, vlan=301)
    old_cfg = {"bridge:bgpAuthKeys": {"azure": {"secure": "v1:AAA"}}}
    new_cfg = {"bridge:bgpAuthKeys": {"azure": {"secure": "v1:BBB"}}}
    [risk] = d.bgp_risks("dev", _bgp([a]), _bgp([b]), old_cfg, new_cfg)
    assert "VLAN 300 -> 301" in risk.message and "bridge:bgpAuthKeys.azure changed" in risk.message


@pytest.mark.parametrize(("old_count", "new_count", "flagged"), [
    (10, 80, False),    # exactly 80% is not past it
    (10, 81, True),
    (90, 90, False),    # already high and unchanged: not this pull request's doing
    (85, 95, True),
])
def test_prefix_budget(old_count: int, new_count: int, flagged: bool) -> None:
    def budget(n: int) -> list[dict[str, Any]]:
        return [{"name": "azure-to-aws", "count": n, "limit": 100, "what": "Azure prefixes into AWS per transit VIF "
                 "session", "source": "AWS DX quotas"}]

    risks = d.bgp_risks("dev", _bgp([], budget(old_count)), _bgp([], budget(new_count)), {}, {})
    assert [r.kind for r in risks] == (["prefix-budget"] if flagged else [])


def test_mixed_pull_request() -> None:
    bridge = d.StackDiff("dev", "bridge", "changed", [d.ResourceChange("u", "t", "n", "update")])
    assert d.mixed_risks([bridge], ["Pulumi.dev.yaml", "Pulumi.dev.acme.yaml"])[0].kind == "mixed-pull-request"
    assert d.mixed_risks([bridge], ["Pulumi.dev.yaml"]) == []
    unchanged = d.StackDiff("dev", "bridge", "unchanged")
    assert d.mixed_risks([unchanged], ["components/x.py", "Pulumi.dev.acme.yaml"]) == []


def test_renderers() -> None:
    rc = d.ResourceChange("urn:x", "aws:directconnect/gateway:Gateway", "dxgw", "replace", True, True,
                          [d.PropertyChange("amazonSideAsn", "64513", "64514", "the provider recreates the resource")])
    sd = d.StackDiff("dev", "bridge", "changed", [rc], d.resource_risks("dev", [rc]))
    report = d.DiffReport("main", "0123456789abcdef", [sd], [], {"bridges": ["dev"], "customers": [], "removed": []})
    text = d.render_text(report)
    assert "+- aws:directconnect/gateway:Gateway  dxgw  [protected]" in text
    assert "amazonSideAsn: 64513 -> 64514  [forces replacement" in text
    assert "1 risk(s) found." in text
    md = d.render_markdown(report)
    assert md.startswith(d.COMMENT_MARKER) and "| `dev` | bridge | changed | 0 | 0 | 1 | 0 | 1 |" in md
    assert ":warning: **protected-replace** `dev`" in md
    data = json.loads(d.to_json(report))
    assert data["risks"][0]["kind"] == "protected-replace"


def test_markdown_stays_under_the_comment_limit() -> None:
    changes = [d.ResourceChange(f"urn:{i}", "aws:route53/record:Record", f"record-{i}-" + "x" * 200, "create")
               for i in range(600)]
    report = d.DiffReport("main", "0" * 40, [d.StackDiff("dev.big", "customer", "added", changes)], [], {})
    md = d.render_markdown(report)
    assert len(md) < 65536 and "do not fit in one comment" in md and "`dev.big` (600 to add" in md


# --- the whole path, on git repositories ---------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "PATH": "/usr/bin:/bin", "HOME": str(repo)}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def base_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository holding the project (program, components, stack files) on main."""
    repo = tmp_path_factory.mktemp("repo")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.dev.acme.yaml", "__main__.py", "pyproject.toml"):
        shutil.copy(ROOT / name, repo / name)
    for folder in ("components", "stacks", "bridgectl"):
        shutil.copytree(ROOT / folder, repo / folder, ignore=ignore)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    return repo


def _branch(base_repo: Path, tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    repo = tmp_path_factory.mktemp(name) / "repo"
    shutil.copytree(base_repo, repo)
    _git(repo, "checkout", "-q", "-b", name)
    return repo


def _run(repo: Path, *args: str) -> int:
    return main(["-C", str(repo), "diff", *args])


@pytest.fixture(scope="module")
def add_customer(base_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], Path]:
    repo = _branch(base_repo, tmp_path_factory, "add-customer")
    (repo / "Pulumi.dev.globex.yaml").write_text(GLOBEX)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "add globex")
    out = repo.parent / "diff.json"
    code = _run(repo, "--format", "json", "-o", str(out))
    return code, json.loads(out.read_text()), repo


def test_added_customer_lists_only_its_resources(add_customer: tuple[int, dict[str, Any], Path]) -> None:
    code, data, _ = add_customer
    assert code == 0
    assert data["risks"] == []
    [stack] = data["stacks"]
    assert stack["stack"] == "dev.globex" and stack["status"] == "added"
    assert stack["resources"]
    assert {r["action"] for r in stack["resources"]} == {"create"}
    assert all(r["urn"].startswith("urn:pulumi:dev.globex::") for r in stack["resources"])
    types = {r["type"] for r in stack["resources"]}
    assert "azure-native:network:PrivateEndpoint" in types and "aws:route53/record:Record" in types
    assert data["selection"] == {"bridges": [], "customers": ["dev.globex"], "removed": []}


def test_list_mode(add_customer: tuple[int, dict[str, Any], Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, _, repo = add_customer
    assert _run(repo, "--list") == 0
    listed = json.loads(capsys.readouterr().out)
    assert (listed["bridges"], listed["customers"]) == ([], ["dev.globex"])
    # A program change touches every stack, bridges first.
    (repo / "components" / "transit_gateway.py").write_text((repo / "components" / "transit_gateway.py").read_text()
                                                            + "\n# touched\n")
    assert _run(repo, "--list") == 0
    listed = json.loads(capsys.readouterr().out)
    assert (listed["bridges"], listed["customers"]) == (["dev"], ["dev.acme", "dev.globex"])


@pytest.fixture(scope="module")
def tgw_asn(base_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any]]:
    repo = _branch(base_repo, tmp_path_factory, "tgw-asn")
    stack_file = repo / "Pulumi.dev.yaml"
    stack_file.write_text(stack_file.read_text().replace("transitGatewayAsn: 64512", "transitGatewayAsn: 64520"))
    _git(repo, "commit", "-q", "-am", "new TGW ASN")
    out = repo.parent / "diff.json"
    return _run(repo, "--format", "json", "-o", str(out)), json.loads(out.read_text())


def test_tgw_asn_change_flags_replacement_and_bgp(tgw_asn: tuple[int, dict[str, Any]]) -> None:
    code, data = tgw_asn
    assert code == 1
    kinds = {(r["kind"], r["subject"]) for r in data["risks"]}
    assert ("protected-replace", "backbone-tgw (aws:ec2transitgateway/transitGateway:TransitGateway)") in kinds
    assert ("bgp-session", "tgw asn") in kinds
    bgp = next(r for r in data["risks"] if r["kind"] == "bgp-session")
    assert "64512 -> 64520" in bgp["message"]
    dev = next(s for s in data["stacks"] if s["stack"] == "dev")
    tgw = next(r for r in dev["resources"] if r["name"] == "backbone-tgw")
    assert tgw["action"] == "replace"
    assert tgw["changes"][0]["path"] == "amazonSideAsn" and tgw["changes"][0]["refused"]
    # What consumes the TGW's id goes with it.
    replaced = {r["name"] for r in dev["resources"] if r["action"] == "replace"}
    assert {"backbone-rt-saas", "backbone-rt-hybrid", "backbone-saas", "directconnect-tgw-assoc"} <= replaced
    # The customer is compared (its bridge's file changed) and is unchanged; no mixed-PR risk.
    acme = next(s for s in data["stacks"] if s["stack"] == "dev.acme")
    assert acme["status"] == "unchanged" and not acme["risks"]
    assert not any(r["kind"] == "mixed-pull-request" for r in data["risks"])


def test_renumbered_links_with_a_customer_edit(base_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    repo = _branch(base_repo, tmp_path_factory, "renumber")
    dev = repo / "Pulumi.dev.yaml"
    dev.write_text(dev.read_text().replace("awsLinkPool: 169.254.100.0/24", "awsLinkPool: 169.254.101.0/24"))
    acme = repo / "Pulumi.dev.acme.yaml"
    acme.write_text(acme.read_text().replace("acme-xy12345.east-us-2", "acme-xy12346.east-us-2"))
    out = repo.parent / "diff.md"
    assert _run(repo, "--format", "markdown", "-o", str(out)) == 1
    md = out.read_text()
    assert md.startswith(d.COMMENT_MARKER)
    for needle in ("**renumbered-link** `dev` link of fcr-a/aws renumbered 169.254.100.220/30 -> 169.254.101.220/30",
                   "**protected-replace** `dev` protected resource directconnect-fcr-a-vif must be replaced",
                   "**mixed-pull-request**", "`dev.acme`"):
        assert needle in md, needle


def test_hub_renumbering_exits_1_in_every_format(base_repo: Path, tmp_path_factory: pytest.TempPathFactory,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Azure refuses to renumber subnets in use: the gate says so, with the customers it touches, the
    same in text, Markdown and JSON."""
    repo = _branch(base_repo, tmp_path_factory, "hub")
    dev = repo / "Pulumi.dev.yaml"
    dev.write_text(dev.read_text().replace("hubCidr: 10.20.0.0/22", "hubCidr: 10.30.0.0/22"))
    _git(repo, "commit", "-q", "-am", "renumber the hub")
    assert _run(repo) == 1
    text = capsys.readouterr().out
    assert "RISK [disruptive-update] expressroute-gateway-subnet: addressPrefix 10.20.0.0/27 -> 10.30.0.0/27" in text
    assert "touches: dev.acme" in text and "virtual-network-manage-subnet" in text
    out = repo.parent / "hub.json"
    assert _run(repo, "--format", "json", "-o", str(out)) == 1
    data = json.loads(out.read_text())
    assert data["verdict"] == "risks" and data["exitCode"] == 1
    assert {r["kind"] for r in data["risks"]} == {"disruptive-update"}
    assert all(r["touches"] == ["dev", "dev.acme"] for r in data["risks"])
    md = repo.parent / "hub.md"
    assert _run(repo, "--format", "markdown", "-o", str(md)) == 1
    assert f"**:warning: {len(data['risks'])} risk(s) found**" in md.read_text()


def test_endpoint_rename_is_no_change(base_repo: Path, tmp_path_factory: pytest.TempPathFactory,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    repo = _branch(base_repo, tmp_path_factory, "rename")
    acme = repo / "Pulumi.dev.acme.yaml"
    acme.write_text(acme.read_text().replace("      - name: lakehouse\n",
                                             "      - name: analytics-lakehouse\n        renamedFrom: lakehouse\n"))
    _git(repo, "commit", "-q", "-am", "rename an endpoint")
    assert _run(repo) == 0
    text = capsys.readouterr().out
    assert "== dev.acme (customer, unchanged): 0 to add, 0 to change, 0 to replace, 0 to delete; 0 risks" in text
    assert text.rstrip().endswith("No risks found.")


def test_replaced_equinix_connection_shows_its_chain(base_repo: Path, tmp_path_factory: pytest.TempPathFactory,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A metro move replaces the routers and connections; the hosted connection's confirmation and the
    protected transit VIF downstream are replaced too, and the routing protocols go before their
    connection (BGP, then DIRECT) and come back after it."""
    repo = _branch(base_repo, tmp_path_factory, "metro")
    dev = repo / "Pulumi.dev.yaml"
    dev.write_text(dev.read_text().replace("metro: DC", "metro: NY").replace("peeringLocation: Washington DC",
                                                                             "peeringLocation: New York"))
    _git(repo, "commit", "-q", "-am", "move to New York")
    out = repo.parent / "metro.json"
    assert _run(repo, "--format", "json", "-o", str(out)) == 1
    data = json.loads(out.read_text())
    dev_diff = next(s for s in data["stacks"] if s["stack"] == "dev")
    replaced = {r["name"] for r in dev_diff["resources"] if r["action"] == "replace"}
    assert {"directconnect-fcr-a-confirm", "directconnect-fcr-a-vif", "exchange-dev-fcr-a-aws-bgp",
            "exchange-dev-fcr-a-aws-direct", "exchange-dev-fcr-a-aws-inbound"} <= replaced
    first = dev_diff["order"]["deleteFirst"]
    assert first.index("exchange-dev-fcr-a-aws-bgp") < first.index("exchange-dev-fcr-a-aws-direct") \
        < first.index("exchange-dev-fcr-a-aws")
    create = dev_diff["order"]["create"]
    assert create.index("exchange-dev-fcr-a-aws") < create.index("exchange-dev-fcr-a-aws-direct") \
        < create.index("exchange-dev-fcr-a-aws-bgp")
    # The secondary follows its primary's new redundancy group.
    secondary = next(r for r in dev_diff["resources"] if r["name"] == "exchange-dev-fcr-b-aws")
    assert any(c["path"] == "redundancy.group" and c["replaces"] for c in secondary["changes"])
    vif = next(r for r in data["risks"] if r["subject"].startswith("directconnect-fcr-a-vif"))
    assert vif["kind"] == "protected-replace" and "exchange-dev-fcr-a-aws" in vif["message"]


def test_bad_input_exit_codes(base_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(base_repo, "--base", "no-such-rev", "--list") == 2
    assert "not a revision" in capsys.readouterr().err
    assert _run(base_repo, "--list", "nosuchstack") == 2
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", plain / "Pulumi.yaml")
    assert _run(plain, "--list") == 2
    assert "not in a git work tree" in capsys.readouterr().err


def test_replacement_table_listing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "--replacement-table"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert any(r.startswith("aws:directconnect/transitVirtualInterface:TransitVirtualInterface\tvlan\treplace")
               for r in rows)
