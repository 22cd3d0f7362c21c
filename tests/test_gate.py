"""The pull-request gate's contract, as a table: realistic changes to bridge and customer stacks, each
with the verdict `bridgectl diff` must give (the exact risk kinds, so exit 0 or 1).

Each row edits a copy of the project's stack files, and the real offline plans of base and change are
compared with the real propagation of replacements (in this process; `bridgectl diff` runs the same
code in subprocesses, tests/test_diff.py covers that path). A risky row also shows that a gate ignoring
its rules would let it through: with those risk kinds disabled the verdict is exit 0. Text, Markdown
and JSON carry the same verdict for every row.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridgectl import diff as d
from bridgectl.risks import RULES
from pulumi_support import GLOBEX

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
STACKS = ("dev", "dev.acme", "cwan")

Edit = Callable[[Path], None]


def _copy_project(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("Pulumi.yaml", "__main__.py", "Pulumi.dev.yaml", "Pulumi.dev.acme.yaml"):
        shutil.copy(ROOT / name, dest / name)
    shutil.copy(FIXTURES / "Pulumi.cwan.yaml", dest / "Pulumi.cwan.yaml")
    return dest


def config(stack: str, change: Callable[[dict[str, Any]], Any]) -> Edit:
    """An edit of a stack file's config (the file is rewritten without its comments)."""
    def edit(tree: Path) -> None:
        path = tree / f"Pulumi.{stack}.yaml"
        data = yaml.safe_load(path.read_text())
        change(data["config"])
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    return edit


def text(stack: str, change: Callable[[str], str]) -> Edit:
    def edit(tree: Path) -> None:
        path = tree / f"Pulumi.{stack}.yaml"
        path.write_text(change(path.read_text() if path.exists() else ""))
    return edit


def remove(stack: str) -> Edit:
    return lambda tree: (tree / f"Pulumi.{stack}.yaml").unlink()




def _exchange(c: dict[str, Any]) -> dict[str, Any]:
    exchange: dict[str, Any] = c["bridge:exchange"]
    return exchange


def _endpoints(c: dict[str, Any]) -> list[dict[str, Any]]:
    endpoints: list[dict[str, Any]] = c["bridge:customer"]["endpoints"]
    return endpoints


def _metro_move(c: dict[str, Any]) -> None:
    for r in _exchange(c)["routers"]:
        r["metro"] = "NY"
    c["bridge:azure"]["circuit"]["peeringLocation"] = "New York"


def _core(c: dict[str, Any]) -> dict[str, Any]:
    core: dict[str, Any] = c["bridge:aws"]["coreNetwork"]
    return core


def _retire(c: dict[str, Any]) -> None:
    _core(c)["edgeLocations"] = ["us-east-1"]
    _core(c)["retiringEdgeLocations"] = ["us-west-2"]


def _add_vpc(c: dict[str, Any]) -> None:
    c["bridge:aws"]["vpcs"].append({"name": "batch", "vpcId": "vpc-0c1b2c3d4e5f60718", "cidr": "10.12.0.0/16",
                                    "subnetIds": ["subnet-0c1b2c3d4e5f60718"],
                                    "routeTableIds": ["rtb-0c1b2c3d4e5f60718"]})


@dataclass(frozen=True)
class Row:
    id: str
    stacks: tuple[str, ...]
    edits: tuple[Edit, ...]
    #: the exact risk kinds the gate must report (empty: exit 0)
    risks: frozenset[str] = frozenset()
    #: True: no resource changes at all (a no-op in the cloud)
    noop: bool = False
    #: edits of the base revision, for a change that follows another
    base: tuple[Edit, ...] = ()
    #: a text the report must contain (a reason, a note, an order)
    says: tuple[str, ...] = field(default_factory=tuple)


def row(id: str, stacks: str, *edits: Edit, risks: str = "", noop: bool = False, base: tuple[Edit, ...] = (),
        says: tuple[str, ...] = ()) -> Row:
    return Row(id, tuple(stacks.split()), edits, frozenset(risks.split()), noop, base, says)


ROWS = [
    # --- bridge: renumbering and addresses ----------------------------------------------------------
    row("hub-renumbered", "dev dev.acme", config("dev", lambda c: c["bridge:azure"].update(hubCidr="10.30.0.0/22")),
        risks="disruptive-update", says=("refuses to change the prefix of a subnet in use",)),
    row("aws-link-pool-renumbered", "dev",
        config("dev", lambda c: c["bridge:addressing"].update(awsLinkPool="169.254.110.0/24")),
        risks="renumbered-link protected-replace bgp-session disruptive-update"),
    row("azure-link-pool-renumbered", "dev",
        config("dev", lambda c: c["bridge:addressing"].update(azureLinkPool="192.168.110.0/24")),
        risks="renumbered-link disruptive-update bgp-session"),
    row("vpc-cidr-changed", "dev",
        config("dev", lambda c: c["bridge:aws"]["vpcs"][0].update(cidr="10.12.0.0/16")),
        risks="disruptive-update", says=("stops being reachable from Azure",)),
    row("extra-prefix-added", "dev", config("dev", lambda c: c["bridge:azure"].update(extraPrefixes=["10.21.0.0/16"]))),
    # --- bridge: ASNs, VLANs, keys, BFD -------------------------------------------------------------
    row("tgw-asn-changed", "dev",
        config("dev", lambda c: c["bridge:aws"].update(transitGatewayAsn=64520)),
        # The backup's tunnels follow the TGW's ASN: their BGP sessions restart (disruptive-update).
        risks="protected-replace replace bgp-session disruptive-update",
        says=("the provider plans an in-place update the cloud",)),
    row("backup-inside-pool-changed", "dev",
        config("dev", lambda c: c["bridge:vpnBackup"].update(insideCidrPool="169.254.22.0/24")),
        risks="protected-replace replace disruptive-update", says=("new outside addresses", "custom BGP addresses")),
    row("dxgw-asn-changed", "dev",
        config("dev", lambda c: c["bridge:aws"].update(directConnectGatewayAsn=64514)),
        risks="protected-replace replace bgp-session disruptive-update"),
    row("peering-vlan-changed", "dev",
        config("dev", lambda c: c["bridge:azure"]["circuit"].update(peeringVlan=301)),
        risks="disruptive-update bgp-session"),
    row("bfd-interval-changed", "dev", config("dev", lambda c: _exchange(c)["bfd"].update(intervalMs=500)),
        risks="disruptive-update bgp-session", says=("BFD settings",)),
    row("bfd-disabled", "dev", config("dev", lambda c: _exchange(c)["bfd"].update(enabled=False)),
        risks="disruptive-update bgp-session"),
    row("bgp-key-rotated", "cwan",
        config("cwan", lambda c: c["bridge:bgpAuthKeys"]["azure"].update(
            secure="v1:CCCCCCCCCCCCCCCC:cccccccccccccccccccccccccccccccc")),
        risks="bgp-session", says=("encrypted value differs",)),
    # --- bridge: bandwidth, routers, metros --------------------------------------------------------
    row("bandwidth-up", "dev", config("dev", lambda c: _exchange(c).update(bandwidthMbps=2000))),
    row("bandwidth-down", "dev", config("dev", lambda c: _exchange(c).update(bandwidthMbps=500)),
        risks="protected-replace replace", says=("can only grow in place", "zSide takes the new outputs")),
    row("routers-reordered", "dev", config("dev", lambda c: _exchange(c)["routers"].reverse()), noop=True),
    row("router-removed", "dev", config("dev", lambda c: _exchange(c).update(routers=_exchange(c)["routers"][:1])),
        risks="protected-delete customer-facing-delete redundancy-lowered bgp-session unwatched",
        says=("fewer Fabric Cloud Routers",)),
    row("router-added", "dev", config("dev", lambda c: None),
        base=(config("dev", lambda c: _exchange(c).update(routers=_exchange(c)["routers"][:1])),),
        risks="protected-delete customer-facing-delete bgp-session",
        says=("exchange-dev-fcr-a-er-sec is removed from the program",)),
    row("router-renamed", "dev", config("dev", lambda c: _exchange(c)["routers"][1].update(name="fcr-c")),
        risks="protected-delete customer-facing-delete bgp-session"),
    row("metro-moved", "dev", config("dev", _metro_move),
        risks="protected-replace replace",
        says=("directconnect-fcr-a-vif", "connectionId takes the new outputs of", "deleted first")),
    row("package-changed", "dev", config("dev", lambda c: _exchange(c).update(package="PREMIUM"))),
    row("circuit-tier-up", "dev", config("dev", lambda c: c["bridge:azure"]["circuit"].update(tier="Premium"))),
    # --- bridge: VPCs, tags, notes, comments ------------------------------------------------------
    row("vpc-added", "dev", config("dev", _add_vpc)),
    row("vpc-removed", "cwan", config("cwan", lambda c: c["bridge:aws"].update(vpcs=c["bridge:aws"]["vpcs"][:1])),
        risks="customer-facing-delete", says=("a SaaS VPC's Cloud WAN attachment",)),
    row("tag-added", "dev dev.acme", config("dev", lambda c: c["bridge:tags"].update(team="data"))),
    row("alarms-turned-off", "dev", config("dev", lambda c: c.update({"bridge:alarms": {"enabled": False}})),
        risks="unwatched", says=("fewer CloudWatch alarms", "fewer Azure Monitor metric alerts")),
    row("notification-email-changed", "dev",
        config("dev", lambda c: _exchange(c).update(notificationEmails=["noc@example.com"]))),
    row("bridge-comment", "dev", text("dev", lambda t: t + "# reviewed by the network team\n"), noop=True),
    # --- bridge: Cloud WAN edge locations -----------------------------------------------------------
    row("edge-location-dropped", "cwan", config("cwan", lambda c: _core(c).update(edgeLocations=["us-east-1"])),
        risks="two-runs", says=("ORPHANED_ATTACHMENT",)),
    row("edge-location-retiring", "cwan", config("cwan", _retire), says=("run 1 of 2",)),
    row("edge-location-retired", "cwan",
        config("cwan", lambda c: _core(c).update(edgeLocations=["us-east-1"])),
        base=(config("cwan", _retire),), says=("run 2 of 2",)),
    # --- customers ----------------------------------------------------------------------------------
    row("customer-added", "dev.globex", text("dev.globex", lambda _: GLOBEX),
        says=("endpoint snowflake: snowflake on azure, service sf-pvlinksvc",)),
    row("customer-removed", "dev.acme", remove("dev.acme"), risks="customer-facing-delete"),
    row("endpoint-added", "dev.acme", config("dev.acme", lambda c: _endpoints(c).append({
        "name": "reports", "platform": "snowflake", "cloud": "aws",
        "service": "com.amazonaws.vpce.us-east-1.vpce-svc-0fedcba9876543210",
        "hostnames": ["acme-cd98765.us-east-1.privatelink.snowflakecomputing.com"]}))),
    row("endpoint-removed", "dev.acme", config("dev.acme", lambda c: _endpoints(c).pop(2)),
        risks="customer-facing-delete"),
    row("endpoints-reordered", "dev.acme", config("dev.acme", lambda c: _endpoints(c).reverse()), noop=True),
    row("endpoint-renamed", "dev.acme",
        config("dev.acme", lambda c: _endpoints(c)[1].update(name="lakehouse2", renamedFrom="lakehouse")), noop=True),
    row("endpoint-renamed-without-renamedFrom", "dev.acme",
        config("dev.acme", lambda c: _endpoints(c)[1].update(name="lakehouse2")),
        risks="customer-facing-delete possible-rename", says=("renamedFrom",)),
    row("endpoint-azure-service-changed", "dev.acme", config("dev.acme", lambda c: _endpoints(c)[1].update(
        service="/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-acme/providers/"
                "Microsoft.Databricks/workspaces/acme-ws2")),
        risks="endpoint-target-changed", says=("must approve the new private endpoint connection",)),
    row("endpoint-aws-service-changed", "dev.acme", config("dev.acme", lambda c: _endpoints(c)[2].update(
        service="com.amazonaws.vpce.us-east-1.vpce-svc-0fedcba9876543210")),
        risks="replace endpoint-target-changed", says=("AcceptVpcEndpointConnections",)),
    row("hostname-added", "dev.acme", config("dev.acme", lambda c: _endpoints(c)[0]["hostnames"].append(
        "acme-xy12345.east-us-2.azure.privatelink.snowflakecomputing.com"))),
    row("hostname-removed", "dev.acme", config("dev.acme", lambda c: _endpoints(c)[2].update(hostnames=[])),
        risks="customer-facing-delete"),
    row("customer-comment", "dev.acme", text("dev.acme", lambda t: t.replace("# Customer acme", "# The customer acme")),
        noop=True),
]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    tree = _copy_project(tmp_path_factory.mktemp("base"))
    return tree, d.local_snapshot(tree, STACKS)


def gate(tmp: Path, base: tuple[Path, dict[str, Any]], r: Row) -> d.DiffReport:
    base_tree, base_snap = base
    if r.base:
        base_tree = _copy_project(tmp / "base")
        for edit in r.base:
            edit(base_tree)
        base_snap = d.local_snapshot(base_tree, r.stacks)
    head = _copy_project(tmp / "head")
    for edit in r.edits:
        edit(head)
    stacks = list(r.stacks)
    head_snap = d.local_snapshot(head, stacks)
    diffs = d.compare(stacks, base_snap, head_snap, {s: d.read_config(base_tree, s) for s in stacks},
                      {s: d.read_config(head, s) for s in stacks}, d.local_replanner(head),
                      d.customers_of([*STACKS, *stacks]))
    return d.DiffReport("main", "0" * 40, diffs, [], {})


@pytest.mark.parametrize("r", ROWS, ids=[r.id for r in ROWS])
def test_gate_contract(r: Row, base: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    report = gate(tmp_path, base, r)
    kinds = {risk.kind for risk in report.all_risks}
    assert kinds == r.risks, "\n" + d.render_text(report)
    if r.noop:
        assert not any(sd.resources for sd in report.stacks), d.render_text(report)
    rendered = d.render_text(report)
    for needle in r.says:
        assert needle in rendered, f"{needle!r} missing:\n{rendered}"
    # Text, Markdown and JSON carry the same verdict.
    md, data = d.render_markdown(report), json.loads(d.to_json(report))
    count = len(report.all_risks)
    assert data["exitCode"] == (1 if count else 0) and data["summary"]["risks"] == count
    assert {x["kind"] for x in data["risks"]} == kinds
    if count:
        assert rendered.endswith(f"{count} risk(s) found.") and f"**:warning: {count} risk(s) found**" in md
        # A gate that ignores these rules lets the change through: the row depends on them.
        assert d.verdict(report) == 1 and d.verdict(report, ignore=r.risks) == 0
        for kind in r.risks:
            assert kind in RULES, kind
    else:
        assert d.verdict(report) == 0
        assert rendered.endswith("No risks found.") and "No risks found." in md
    assert "[secret:" not in rendered + md + json.dumps(data), "secret digests never leave the diff"


def test_the_table_covers_the_contract() -> None:
    """At least 30 rows, safe and risky ones, on bridges and customers."""
    assert len(ROWS) >= 30
    assert sum(1 for r in ROWS if r.risks) >= 15 and sum(1 for r in ROWS if not r.risks) >= 12
    assert {s for r in ROWS for s in r.stacks} >= {"dev", "dev.acme", "cwan"}


@pytest.mark.parametrize(("row_id", "changed"), [
    ("edge-location-retiring", {"directconnect-cloudwan"}),
    ("edge-location-retired", {"backbone-policy"}),
    ("edge-location-dropped", {"directconnect-cloudwan", "backbone-policy"}),
])
def test_edge_location_removal_in_the_order_aws_accepts(row_id: str, changed: set[str],
                                                         base: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    """Run 1 moves the Direct Connect gateway attachment off the location while the policy keeps it;
    run 2 changes only the policy. Dropping it at once changes both in one run (flagged two-runs)."""
    r = next(r for r in ROWS if r.id == row_id)
    [sd] = gate(tmp_path, base, r).stacks
    assert {c.name for c in sd.resources if c.action == "update"} == changed
    assert not [c for c in sd.resources if c.action != "update"]


def test_connections_replace_on_leaves_only() -> None:
    """The guard against a provider diff on a whole a-side or z-side block (equinix/terraform-provider-
    equinix#1062): Pulumi replaces when a replaceOnChanges path contains the changed path, so only
    the listed leaves (and what is under them) replace a connection."""
    from bridgectl.replacements import replace_on_changes_covers
    from components.cloud_router import CONNECTION_REPLACE_ON

    patterns = list(CONNECTION_REPLACE_ON)
    for path in ("aSide", "zSide", "zSide.accessPoint", "zSide.accessPoint.linkProtocol.vlanTag",
                 "zSide.accessPoint.providerConnectionId", "bandwidth", "name", "notifications[type=ALL].emails"):
        assert replace_on_changes_covers(patterns, path) is None, path
    for path in ("zSide.accessPoint.location.metroCode", "aSide.accessPoint.router.uuid", "redundancy.group",
                 "zSide.accessPoint.profile.uuid"):
        assert replace_on_changes_covers(patterns, path) is not None, path
