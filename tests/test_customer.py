"""`bridgectl customer` end to end, through the CLI, in a temporary copy of the project.

Each test runs the command as a support engineer would (``bridgectl -C <dir> customer ...``) and
checks what matters to them: the file written (exact format, valid by `bridgectl validate`), that
nothing is written when anything is wrong, the messages that explain collisions, that edits keep
the user's comments and layout, and that the hand-off says what the customer has to do.
"""

from __future__ import annotations

import difflib
import io
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridgectl.cli import main
from bridgectl.onboarding import edited_text
from stacks.loader import load_stack, read_stack_config
from stacks.spec import CustomerSpec

ROOT = Path(__file__).resolve().parent.parent

SF_AZURE = "sf-pvlinksvc-eastus2.11111111-2222-3333-4444-555555555555.eastus2.azure.privatelinkservice"
SF_AWS = "com.amazonaws.vpce.us-east-1.vpce-svc-0abcdef0123456789"
DBX_WS = ("/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-globex/providers/"
          "Microsoft.Databricks/workspaces/globex-ws")
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"

# A customer file as a person keeps it: comments, a flow list, blank lines, a quoted value.
ACME_WS = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-acme/providers/Microsoft.Databricks"
COMMENTED = f"""\
# yaml-language-server: $schema=./schema/stack.schema.json
# Customer acme: ticket SUP-123.
config:
  aws:region: us-east-1
  azure-native:location: eastus2
  azure-native:subscriptionId: '00000000-0000-0000-0000-000000000000'   # quoted on purpose
  bridge:customer:
    id: acme
    bridgeStack: dev
    endpoints:
      # Snowflake prod account
      - name: snowflake
        platform: snowflake
        cloud: azure
        service: sf-pvlinksvc-eastus2.a1b2c3d4-e5f6-7a8b-9c0d-e1f2a3b4c5d6.eastus2.azure.privatelinkservice
        hostnames: [acme-xy12345.east-us-2.privatelink.snowflakecomputing.com]   # flow style

      # Lakehouse, SUP-140
      - name: lakehouse
        platform: databricks
        cloud: azure
        service: {ACME_WS}/workspaces/acme-ws
        hostnames:
          - adb-1234567890123456.7.privatelink.azuredatabricks.net
      # Warehouse on AWS
      - name: warehouse
        platform: snowflake
        cloud: aws
        service: com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0
        hostnames:
          - acme-ab54321.us-east-1.privatelink.snowflakecomputing.com
# end of file
"""


@pytest.fixture
def proj(project: Path) -> Path:
    """The shared `project` copy with the dev bridge and its customer acme only (the expectations below
    count customers), plus the program, so the offline plan can run there."""
    for path in project.glob("Pulumi.*.yaml"):
        if path.name not in ("Pulumi.dev.yaml", "Pulumi.dev.acme.yaml"):
            path.unlink()
    shutil.copy(ROOT / "__main__.py", project / "__main__.py")
    return project


def run(proj: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["-C", str(proj), "customer", *args])
    out, err = capsys.readouterr()
    return code, out, err


def stack_files(proj: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(proj.glob("*.yaml"))} | {
        p.name: "" for p in proj.glob(".*")}  # leftover temporary files count as a change


def add_snowflake(proj: Path, capsys: pytest.CaptureFixture[str], customer: str = "globex",
                  *extra: str) -> tuple[int, str, str]:
    return run(proj, capsys, "add", "dev", customer, "--platform", "snowflake", "--cloud", "azure",
               "--service", SF_AZURE, "--hostname", f"{customer}-ab12345.east-us-2.privatelink.snowflakecomputing.com",
               *extra)


# --- add ------------------------------------------------------------------------------------------


def test_add_writes_the_documented_format_validates_and_plans(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = add_snowflake(proj, capsys)
    assert code == 0, err
    text = (proj / "Pulumi.dev.globex.yaml").read_text()
    assert text == f"""\
# yaml-language-server: $schema=./schema/stack.schema.json
# Customer globex on the dev bridge, written by `bridgectl customer add`.
# Change endpoints with `bridgectl customer endpoint add|remove` or by hand; see docs/runbook-support.md.
config:
  aws:region: us-east-1
  azure-native:location: eastus2
  azure-native:subscriptionId: {SUBSCRIPTION}
  bridge:customer:
    id: globex
    bridgeStack: dev
    endpoints:
      - name: snowflake
        platform: snowflake
        cloud: azure
        service: {SF_AZURE}
        hostnames:
          - globex-ab12345.east-us-2.privatelink.snowflakecomputing.com
"""
    loaded = load_stack(proj, "dev.globex")
    assert isinstance(loaded.spec, CustomerSpec) and loaded.spec.id == "globex"
    assert "Wrote Pulumi.dev.globex.yaml" in out
    assert "Pulumi.dev.globex.yaml: valid customer stack" in out
    assert "Plan of customer stack dev.globex: " in out
    assert "azure-native:network:PrivateEndpoint" in out
    assert "Hand-off for customer globex (stack dev.globex)" in out
    assert "SYSTEM$AUTHORIZE_PRIVATELINK" in out
    assert "git add Pulumi.dev.globex.yaml" in out
    # The OCSP name is not written: the stack publishes it with its account name.
    assert "also answered privately: ocsp.globex-ab12345.east-us-2.privatelink.snowflakecomputing.com" in err
    assert "ocsp.globex-ab12345.east-us-2.privatelink.snowflakecomputing.com" in out  # in the plan and hand-off
    assert main(["-C", str(proj), "validate", "dev.globex"]) == 0


def test_add_turns_what_platforms_hand_out_into_private_names(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(proj, capsys, "add", "dev", "globex", "--platform", "databricks", "--cloud", "azure",
                       "--service", DBX_WS, "--hostname", "https://ADB-42.7.azuredatabricks.net/?o=42", "--no-plan")
    assert code == 0, err
    config = read_stack_config(proj / "Pulumi.dev.globex.yaml")
    ep = config["bridge:customer"]["endpoints"][0]
    assert ep == {"name": "databricks", "platform": "databricks", "cloud": "azure", "service": DBX_WS,
                  "hostnames": ["adb-42.7.privatelink.azuredatabricks.net"]}
    assert "is the public name; using its private name adb-42.7.privatelink.azuredatabricks.net" in err


def test_add_from_snowflake_privatelink_config(proj: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    sf = tmp_path / "sf.json"
    sf.write_text(json.dumps(json.dumps({  # Snowflake returns the JSON as one string cell
        "privatelink-vpce-id": SF_AWS,
        "privatelink-account-url": "hooli-ab99.us-east-1.privatelink.snowflakecomputing.com",
        "privatelink-ocsp-url": "ocsp.hooli-ab99.us-east-1.privatelink.snowflakecomputing.com"})))
    code, _, err = run(proj, capsys, "add", "dev", "hooli", "--snowflake-config", str(sf), "--no-plan")
    assert code == 0, err
    ep = read_stack_config(proj / "Pulumi.dev.hooli.yaml")["bridge:customer"]["endpoints"][0]
    assert ep == {"name": "snowflake", "platform": "snowflake", "cloud": "aws", "service": SF_AWS,
                  "hostnames": ["hooli-ab99.us-east-1.privatelink.snowflakecomputing.com"]}
    assert "also answered privately: ocsp.hooli-ab99.us-east-1.privatelink.snowflakecomputing.com" in err


def test_add_drops_listed_ocsp_names_they_are_published_anyway(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    host = "globex-ab12345.east-us-2.privatelink.snowflakecomputing.com"
    code, _, err = run(proj, capsys, "add", "dev", "globex", "--platform", "snowflake", "--cloud", "azure",
                       "--service", SF_AZURE, "--hostname", f"{host},ocsp.{host}", "--no-plan")
    assert code == 0, err
    ep = read_stack_config(proj / "Pulumi.dev.globex.yaml")["bridge:customer"]["endpoints"][0]
    assert ep["hostnames"] == [host]
    assert f"not listing ocsp.{host}: published automatically with its account name" in err
    assert main(["-C", str(proj), "validate", "dev.globex"]) == 0


def test_add_databricks_with_browser_authentication(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(proj, capsys, "add", "dev", "globex", "--platform", "databricks", "--cloud", "azure",
                         "--service", DBX_WS, "--hostname", "adb-42.7.azuredatabricks.net",
                         "--browser-authentication", "--workspace-region", "westeurope")
    assert code == 0, err
    ep = read_stack_config(proj / "Pulumi.dev.globex.yaml")["bridge:customer"]["endpoints"][0]
    assert ep["browserAuthentication"] is True and ep["workspaceRegion"] == "westeurope"
    assert "westeurope.pl-auth.privatelink.azuredatabricks.net" in out  # in the plan and the hand-off
    assert "browser_authentication" in out and "pe-globex-databricks-auth" in out


def test_add_redshift_cluster_and_databricks_aws_defaults(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(proj, capsys, "add", "dev", "initech", "--platform", "redshift", "--cluster", "analytics",
                         "--owner-account", "444455556666", "--no-plan")
    assert code == 0, err
    text = (proj / "Pulumi.dev.initech.yaml").read_text()
    assert 'ownerAccount: "444455556666"' in text and "cloud: aws" in text
    assert "aws redshift authorize-endpoint-access --region us-east-1 --cluster-identifier analytics " \
           "--account 111122223333 --vpc-ids vpc-0a1b2c3d4e5f60718" in out
    code, _, err = run(proj, capsys, "add", "dev", "umbrella", "--platform", "databricks", "--cloud", "aws",
                       "--service", SF_AWS, "--no-plan")
    assert code == 0, err
    ep = read_stack_config(proj / "Pulumi.dev.umbrella.yaml")["bridge:customer"]["endpoints"][0]
    assert ep["hostnames"] == ["us-east-1.privatelink.cloud.databricks.com"]
    assert "Databricks on AWS workspace URLs are CNAMEs" in err


def test_dry_run_prints_file_and_plan_and_writes_nothing(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = stack_files(proj)
    code, out, err = add_snowflake(proj, capsys, "globex", "--dry-run")
    assert code == 0, err
    assert stack_files(proj) == before
    assert "# Pulumi.dev.globex.yaml (dry run: not written)" in out
    assert "bridgeStack: dev" in out
    assert "Plan of customer stack dev.globex: " in out
    assert "Hand-off for customer globex" in out
    assert "Dry run: Pulumi.dev.globex.yaml was not written." in out


COLLISIONS: list[tuple[list[str], str]] = [
    (["add", "dev", "acme", "--platform", "snowflake"],
     "error: Pulumi.dev.acme.yaml: already exists: acme is already a customer of bridge dev with endpoint(s) "
     "snowflake, lakehouse, warehouse; it is never overwritten (fix: add an endpoint with `bridgectl customer "
     "endpoint add dev acme ...`, or choose another customer id)"),
    (["add", "prod", "globex", "--platform", "snowflake"],
     'error: bridge:customer.bridgeStack: "prod" names no stack in this project (Pulumi.prod.yaml is missing) '
     "(fix: use one of dev)"),
    (["add", "dev.acme", "globex", "--platform", "snowflake"],
     'error: bridge:customer.bridgeStack: "dev.acme" names a customer stack, not a bridge stack'),
    (["add", "dev", "Globex Inc", "--platform", "snowflake"],
     'error: bridge:customer.id: "Globex Inc" must be 1-40 of a-z, 0-9 and -'),
    (["add", "dev", "globex", "--platform", "snowflake", "--cloud", "azure", "--service", SF_AZURE,
      "--hostname", "acme-xy12345.east-us-2.privatelink.snowflakecomputing.com", "--no-ocsp"],
     '"acme-xy12345.east-us-2.privatelink.snowflakecomputing.com" is already published by customer stack dev.acme'),
    (["add", "dev", "globex", "--platform", "databricks", "--cloud", "azure", "--service",
      "https://adb-1.2.azuredatabricks.net", "--hostname", "adb-1.2.privatelink.azuredatabricks.net"],
     'error: Pulumi.dev.globex.yaml: bridge:customer.endpoints[0].service: "https://adb-1.2.azuredatabricks.net" '
     "is not an Azure Databricks workspace resource id"),
    (["add", "dev", "globex", "--platform", "snowflake", "--cloud", "azure", "--service", SF_AZURE,
      "--hostname", "globex.example.com"],
     'error: Pulumi.dev.globex.yaml: bridge:customer.endpoints[0].hostnames[0]: "globex.example.com" is outside '
     "the snowflake private domain privatelink.snowflakecomputing.com (fix: use a name ending in "
     ".privatelink.snowflakecomputing.com)"),
    (["add", "dev", "globex", "--platform", "redshift", "--cloud", "azure", "--cluster", "rs1",
      "--owner-account", "444455556666"],
     'bridge:customer.endpoints[0].cloud: "azure" is not available for redshift: Redshift runs only on AWS'),
    (["add", "dev", "globex", "--platform", "databricks", "--yes"],
     "error: missing --cloud, --service, --hostname (fix: pass them, e.g. --platform databricks"),
    (["endpoint", "add", "dev", "acme", "--platform", "snowflake", "--cloud", "aws", "--service", SF_AWS,
      "--hostname", "acme-zz.us-east-1.privatelink.snowflakecomputing.com", "--name", "lakehouse"],
     'error: Pulumi.dev.acme.yaml: bridge:customer.endpoints[3].name: "lakehouse" is already an endpoint of '
     "customer acme (databricks on azure, "),
    (["endpoint", "add", "dev", "nobody", "--platform", "snowflake"],
     "error: Pulumi.dev.nobody.yaml: does not exist: nobody is not a customer of bridge dev (its customers: acme) "
     "(fix: create it with `bridgectl customer add dev nobody ...`)"),
    (["endpoint", "remove", "dev", "acme", "lake"],
     'error: Pulumi.dev.acme.yaml: bridge:customer.endpoints: "lake" names no endpoint of customer acme '
     "(fix: use one of snowflake, lakehouse, warehouse)"),
]


@pytest.mark.parametrize(("args", "message"), COLLISIONS, ids=[
    "file-exists", "no-bridge", "bridge-is-customer", "bad-id", "hostname-of-sibling", "bad-service",
    "host-outside-zone", "redshift-on-azure", "missing-flags", "endpoint-name-taken", "no-such-customer",
    "no-such-endpoint"])
def test_collisions_are_explained_and_nothing_is_written(proj: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch, args: list[str],
                                                          message: str) -> None:
    monkeypatch.setattr("sys.stdin", _Lines([]))  # not a terminal: never ask
    before = stack_files(proj)
    code, _, err = run(proj, capsys, *args)
    assert code == 2
    assert message in err, err
    assert all(line.startswith(("error: ", "note: ")) for line in err.splitlines()), err  # one line each
    assert "Traceback" not in err
    assert stack_files(proj) == before


def test_a_customer_id_taken_by_a_copied_file_is_a_collision(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (proj / "Pulumi.dev.copy.yaml").write_text((proj / "Pulumi.dev.acme.yaml").read_text().replace(
        "id: acme", "id: globex").replace("acme-", "copy-").replace("adb-1234567890123456", "adb-99"))
    code, _, err = add_snowflake(proj, capsys, "globex", "--no-plan")
    assert code == 2
    assert 'bridge:customer.id: "globex" is already used by stack dev.copy' in err
    assert not (proj / "Pulumi.dev.globex.yaml").exists()


# --- endpoint add / remove ------------------------------------------------------------------------


def changed_lines(old: str, new: str) -> tuple[list[str], list[str]]:
    removed, added = [], []
    for line in difflib.ndiff(old.splitlines(), new.splitlines()):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def test_endpoint_add_appends_and_keeps_every_other_byte(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = proj / "Pulumi.dev.acme.yaml"
    path.write_text(COMMENTED)
    code, out, err = run(proj, capsys, "endpoint", "add", "dev", "acme", "--platform", "snowflake", "--cloud", "aws",
                         "--service", SF_AWS, "--hostname", "acme-zz999.us-east-1.privatelink.snowflakecomputing.com",
                         "--no-ocsp", "--no-plan")
    assert code == 0, err
    new = path.read_text()
    removed, added = changed_lines(COMMENTED, new)
    assert removed == []
    assert added == ["      - name: snowflake-aws", "        platform: snowflake", "        cloud: aws",
                     f"        service: {SF_AWS}", "        hostnames:",
                     "          - acme-zz999.us-east-1.privatelink.snowflakecomputing.com"]
    assert new.endswith("acme-zz999.us-east-1.privatelink.snowflakecomputing.com\n# end of file\n")
    assert "endpoint name snowflake is taken in Pulumi.dev.acme.yaml; using snowflake-aws" in err
    assert "+      - name: snowflake-aws" in out  # the change is shown as a diff
    assert "Hand-off for customer acme" in out and "snowflake-aws: Snowflake on AWS" in out
    assert "lakehouse:" not in out  # the hand-off is the new endpoint's only
    assert main(["-C", str(proj), "validate", "dev.acme"]) == 0


def test_endpoint_remove_takes_the_endpoint_and_its_comment_only(proj: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = proj / "Pulumi.dev.acme.yaml"
    path.write_text(COMMENTED)
    code, out, err = run(proj, capsys, "endpoint", "remove", "dev", "acme", "lakehouse", "--no-plan")
    assert code == 0, err
    removed, added = changed_lines(COMMENTED, path.read_text())
    assert added == []
    assert removed == [
        "      # Lakehouse, SUP-140", "      - name: lakehouse", "        platform: databricks", "        cloud: azure",
        "        service: /subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-acme/providers/"
        "Microsoft.Databricks/workspaces/acme-ws",
        "        hostnames:", "          - adb-1234567890123456.7.privatelink.azuredatabricks.net"]
    assert "deletes the databricks endpoint lakehouse" in out
    code, _, err = run(proj, capsys, "endpoint", "remove", "dev", "acme", "warehouse", "--no-plan")
    assert code == 0, err
    assert path.read_text().endswith("# flow style\n\n# end of file\n")


def test_removing_the_last_endpoint_says_how_to_remove_the_customer(proj: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert add_snowflake(proj, capsys, "globex", "--no-plan")[0] == 0
    before = stack_files(proj)
    code, _, err = run(proj, capsys, "endpoint", "remove", "dev", "globex", "snowflake")
    assert code == 2
    assert ('error: Pulumi.dev.globex.yaml: bridge:customer.endpoints: "snowflake" is the last endpoint of customer '
            "globex; a customer stack needs at least one (fix: remove the customer instead, in one pull request: "
            "`pulumi destroy -s dev.globex`, then `pulumi stack rm dev.globex`, then `git rm Pulumi.dev.globex.yaml`"
            ) in err
    assert stack_files(proj) == before


def test_endpoint_changes_dry_run_and_plan(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = stack_files(proj)
    code, out, err = run(proj, capsys, "endpoint", "remove", "dev", "acme", "warehouse", "--dry-run")
    assert code == 0, err
    assert "-      - name: warehouse" in out
    assert "Plan of customer stack dev.acme: " in out
    assert "endpoints-warehouse" not in out  # the plan is of the file without it
    assert stack_files(proj) == before
    code, out, err = run(proj, capsys, "endpoint", "add", "dev", "acme", "--platform", "starburst", "--cloud", "aws",
                         "--service", "com.amazonaws.vpce.us-east-1.vpce-svc-0fedcba9876543210",
                         "--zone", "starburst.acme.internal", "--hostname", "sep.starburst.acme.internal", "--dry-run")
    assert code == 0, err
    assert "aws:route53/zone:Zone" in out and "endpoints-starburst" in out
    assert "--add-allowed-principals arn:aws:iam::111122223333:root" in out
    assert stack_files(proj) == before


def test_edit_falls_back_to_a_full_rewrite_for_unusual_layouts() -> None:
    text = ("config:\n  bridge:customer:\n    id: acme\n    bridgeStack: dev\n"
            "    endpoints: [{name: a, platform: snowflake}]  # flow\n")
    config = yaml.safe_load(text)["config"]
    new = edited_text(text, config, add={"name": "b", "platform": "snowflake"})
    assert yaml.safe_load(new)["config"]["bridge:customer"]["endpoints"] == [
        {"name": "a", "platform": "snowflake"}, {"name": "b", "platform": "snowflake"}]


# --- list -----------------------------------------------------------------------------------------


def test_list_shows_customers_endpoints_and_invalid_files(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert add_snowflake(proj, capsys, "globex", "--no-plan")[0] == 0
    (proj / "Pulumi.dev.broken.yaml").write_text(
        "config:\n  bridge:customer:\n    id: broken\n    bridgeStack: dev\n"
        "    endpoints:\n      - name: x\n        platform: snowflake\n        cloud: gcp\n")
    code, out, err = run(proj, capsys, "list", "dev")
    assert code == 1, err  # an invalid customer file is a problem found: exit 1
    lines = out.splitlines()
    assert lines[0] == "Customers of bridge dev (Pulumi.dev.yaml: AWS us-east-1, Azure eastus2)"
    rows = [line.split() for line in lines if line.startswith("  ") and not line.startswith("  -")]
    assert ["acme", "ok", "snowflake", "snowflake", "azure", "acme-xy12345.east-us-2.privatelink.snowflakecomputing.com"
            ] in rows
    assert ["lakehouse", "databricks", "azure", "adb-1234567890123456.7.privatelink.azuredatabricks.net"] in rows
    assert ["broken", "INVALID", "x", "snowflake", "gcp"] in rows
    assert "3 customer(s), 5 endpoint(s) (3 on azure, 1 on aws); 1 file(s) fail validation:" in out
    assert 'Pulumi.dev.broken.yaml: error: Pulumi.dev.broken.yaml: bridge:customer.endpoints[0].cloud: "gcp"' in out
    code, out, _ = run(proj, capsys, "list", "dev", "--json")
    assert code == 1
    data = json.loads(out)
    assert [c["customer"] for c in data["customers"]] == ["acme", "broken", "globex"]
    assert [c["valid"] for c in data["customers"]] == [True, False, True]
    code, _, err = run(proj, capsys, "list", "prod")
    assert code == 2 and "Pulumi.prod.yaml is missing" in err
    (proj / "Pulumi.dev.broken.yaml").unlink()
    assert run(proj, capsys, "list", "dev")[0] == 0


# --- handoff --------------------------------------------------------------------------------------


def outputs_json(path: Path) -> Path:
    """What `pulumi stack output --json -s dev.acme` prints once deployed."""
    path.write_text(json.dumps({
        "kind": "customer", "customer": "acme", "bridgeStack": "dev",
        "endpoints": {
            "snowflake": {"endpointId": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-bridge-dev/providers/"
                                        "Microsoft.Network/privateEndpoints/pe-acme-snowflake",
                          "address": "10.20.1.9", "connectionName": "acme-snowflake", "hostnames": []},
            "lakehouse": {"endpointId": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-bridge-dev/providers/"
                                        "Microsoft.Network/privateEndpoints/pe-acme-lakehouse",
                          "address": "10.20.1.8", "connectionName": "acme-lakehouse"},
            "warehouse": {"endpointId": "vpce-0aaaabbbbccccdddd", "connectionName": "acme-warehouse",
                          "address": "vpce-0aaaabbbbccccdddd-xyz.vpce-svc-0123456789abcdef0.us-east-1.vpce."
                                     "amazonaws.com"},
        },
        "handoff": "..."}))
    return path


def test_handoff_from_the_plan_says_how_to_get_the_ids(proj: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(proj, capsys, "handoff", "dev", "acme")
    assert code == 0, err
    assert out.startswith("Hand-off for customer acme (stack dev.acme)\n")
    assert "SELECT SYSTEM$AUTHORIZE_PRIVATELINK('<endpoints.snowflake.endpointId of stack dev.acme>'" in out
    assert "[customer, after deploy] Approve the pending private endpoint connection from pe-acme-lakehouse" in out
    assert "SELECT SYSTEM$AUTHORIZE_PRIVATELINK('111122223333', '<federation token JSON>');" in out
    assert "pulumi stack output --json -s dev.acme > dev.acme.outputs.json && bridgectl customer handoff dev acme " \
           "--outputs dev.acme.outputs.json" in out


def test_handoff_with_outputs_fills_in_the_ids(proj: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = outputs_json(tmp_path / "acme.json")
    code, out, err = run(proj, capsys, "handoff", "dev", "acme", "--outputs", str(outputs))
    assert code == 0, err
    assert "<endpoints." not in out
    assert ("SELECT SYSTEM$AUTHORIZE_PRIVATELINK('/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/"
            "rg-bridge-dev/providers/Microsoft.Network/privateEndpoints/pe-acme-snowflake', '<access token>');") in out
    assert "resolves to 10.20.1.9" in out
    assert "--vpc-endpoint-ids vpce-0aaaabbbbccccdddd" in out
    monkeypatch.setattr("sys.stdin", io.StringIO(outputs.read_text()))
    code, piped, _ = run(proj, capsys, "handoff", "dev", "acme", "--outputs", "-")
    assert code == 0 and piped == out
    code, md, _ = run(proj, capsys, "handoff", "dev", "acme", "--outputs", str(outputs), "--format", "markdown")
    assert code == 0
    assert md.startswith("## Private connectivity hand-off: acme (stack `dev.acme`)")
    assert "- [ ] **customer, before deploy**: In Snowflake, as ACCOUNTADMIN, authorize the SaaS AWS account" in md
    assert "  ```\n  aws sts get-federation-token --name snowflake\n  ```" in md


@pytest.mark.parametrize(("content", "message"), [
    ("not json", "--outputs {path}: is not JSON"),
    ('{"kind": "bridge"}', "--outputs {path}: has no `endpoints` output"),
    ('{"customer": "globex", "endpoints": {}}', "holds the outputs of customer globex, not acme"),
])
def test_handoff_rejects_wrong_outputs(proj: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str,
                                       message: str) -> None:
    path = tmp_path / "out.json"
    path.write_text(content)
    code, _, err = run(proj, capsys, "handoff", "dev", "acme", "--outputs", str(path))
    assert code == 2
    assert message.format(path=path) in err


# --- interactive ----------------------------------------------------------------------------------


def test_interactive_add_checks_each_answer(proj: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    answers = [
        "9",            # platform: not a choice
        "1",            # snowflake
        "1",            # azure
        "",             # name: the default (snowflake)
        "foo",          # service: wrong form
        SF_AZURE,
        "globex.example.com",  # outside the zone
        "https://globex-ab12345.east-us-2.azure.snowflakecomputing.com",  # public URL: turned private
        "y",            # another endpoint
        "2", "1",       # databricks on azure
        "snowflake",    # name taken
        "lakehouse",
        DBX_WS,
        "adb-7.1.azuredatabricks.net",
        "n",            # no more endpoints
        "y",            # write it
    ]
    monkeypatch.setattr("sys.stdin", _Lines(answers))
    code, out, err = run(proj, capsys, "add", "dev", "globex", "--interactive", "--no-plan")
    assert code == 0, err
    assert "Choose 1-4: " in out
    assert "'9' is not one of the choices: answer with a number from 1 to 4" in out
    assert '! "foo" is not an Azure Private Link service alias' in out
    assert '! "globex.example.com" is outside the snowflake private domain privatelink.snowflakecomputing.com' in out
    assert "note: also answered privately: ocsp.globex-ab12345.east-us-2.azure.privatelink.snowflakecomputing.com" \
        in out
    assert "! 'snowflake' is already an endpoint of this customer (fix: choose another name, e.g. databricks)" in out
    assert "Pulumi.dev.globex.yaml will be:" in out
    endpoints = read_stack_config(proj / "Pulumi.dev.globex.yaml")["bridge:customer"]["endpoints"]
    assert endpoints == [
        {"name": "snowflake", "platform": "snowflake", "cloud": "azure", "service": SF_AZURE,
         "hostnames": ["globex-ab12345.east-us-2.azure.privatelink.snowflakecomputing.com"]},
        {"name": "lakehouse", "platform": "databricks", "cloud": "azure", "service": DBX_WS,
         "hostnames": ["adb-7.1.privatelink.azuredatabricks.net"]}]
    assert "Hand-off for customer globex" in out


def test_interactive_checks_the_service_against_the_bridge_at_once(proj: Path, capsys: pytest.CaptureFixture[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule across keys (the service's region against the bridge's) speaks when the service is given,
    not after the last question."""
    monkeypatch.setattr("sys.stdin", _Lines(["2", "", SF_AWS.replace("us-east-1", "us-west-2"), SF_AWS,
                                             "globex-ab.us-east-1.privatelink.snowflakecomputing.com", "n", "n"]))
    code, out, err = run(proj, capsys, "add", "dev", "globex", "--platform", "snowflake", "-i", "-y", "--no-plan")
    assert code == 0, err
    service_prompts = out.split("Service: ")
    assert len(service_prompts) == 3  # asked twice
    assert "is in us-west-2, but the bridge's VPCs are in us-east-1" in service_prompts[1]
    ep = read_stack_config(proj / "Pulumi.dev.globex.yaml")["bridge:customer"]["endpoints"][0]
    assert ep["service"] == SF_AWS


def test_interactive_flags_answer_their_questions(proj: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", _Lines(["com.amazonaws.vpce.us-east-1.vpce-svc-0fedcba9876543210", "sb.corp",
                                             "db.sb.corp", "n"]))
    code, out, err = run(proj, capsys, "add", "dev", "globex", "--interactive", "--yes", "--no-plan",
                         "--platform", "starburst", "--cloud", "aws", "--name", "sep")
    assert code == 0, err
    assert "Platform: starburst (from --platform)" in out
    assert "Endpoint name (unique in this customer): sep (from --name)" in out
    ep = read_stack_config(proj / "Pulumi.dev.globex.yaml")["bridge:customer"]["endpoints"][0]
    assert ep == {"name": "sep", "platform": "starburst", "cloud": "aws",
                  "service": "com.amazonaws.vpce.us-east-1.vpce-svc-0fedcba9876543210", "hostnames": ["db.sb.corp"],
                  "zone": "sb.corp"}


def test_interactive_input_ending_early_writes_nothing(proj: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    before = stack_files(proj)
    monkeypatch.setattr("sys.stdin", _Lines(["1", "1"]))
    code, _, err = run(proj, capsys, "add", "dev", "globex", "--interactive")
    assert code == 2
    assert "input ended before every question was answered; nothing was written" in err
    assert stack_files(proj) == before


def test_interactive_declined_writes_nothing(proj: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", _Lines(["1", "2", "", SF_AWS, "globex-ab.us-east-1.privatelink."
                                             "snowflakecomputing.com", "n", "n", "n"]))
    code, _, err = run(proj, capsys, "add", "dev", "globex", "-i")
    assert code == 2 and "nothing was written (not confirmed)" in err
    assert not (proj / "Pulumi.dev.globex.yaml").exists()


def test_interactive_through_the_console_script(proj: Path) -> None:
    """The installed command with answers piped in, as a script or a person would."""
    answers = "\n".join(["4", "", "1", "analytics", "444455556666", "", "n", "y"]) + "\n"
    result = subprocess.run([sys.executable, "-m", "bridgectl", "-C", str(proj), "customer", "add", "dev", "initech",
                             "--interactive", "--no-plan"], input=answers, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "Cloud: aws (redshift runs only there)" in result.stdout
    ep = read_stack_config(proj / "Pulumi.dev.initech.yaml")["bridge:customer"]["endpoints"][0]
    assert ep == {"name": "redshift", "platform": "redshift", "cloud": "aws", "cluster": "analytics",
                  "ownerAccount": "444455556666"}


def test_a_terminal_without_required_flags_is_asked(proj: Path) -> None:
    """In a terminal, a missing flag starts the questions instead of failing (a pseudo-terminal here)."""
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, with the pseudo-terminal as its terminal
        os.execv(sys.executable, [sys.executable, "-m", "bridgectl", "-C", str(proj), "customer", "add", "dev",
                                  "globex", "--platform", "snowflake", "--cloud", "aws", "--no-plan"])
    transcript = ""

    def expect(text: str) -> None:
        nonlocal transcript
        deadline = time.monotonic() + 60
        while text not in transcript:
            assert time.monotonic() < deadline, f"no {text!r} in:\n{transcript}"
            ready, _, _ = select.select([fd], [], [], 1)
            if ready:
                try:
                    transcript += os.read(fd, 4096).decode()
                except OSError:
                    break

    def send(line: str) -> None:
        os.write(fd, (line + "\n").encode())

    try:
        expect("Platform: snowflake (from --platform)")
        expect("Endpoint name (unique in this customer) [snowflake]: ")
        send("")
        expect("Service: ")
        send(SF_AWS)
        expect("Hostnames: ")
        send("globex-ab.us-east-1.privatelink.snowflakecomputing.com")
        expect("also answered privately: ocsp.globex-ab.us-east-1.privatelink.snowflakecomputing.com")
        expect("Add another endpoint? [y/N] ")
        send("")
        expect("Write Pulumi.dev.globex.yaml? [Y/n] ")
        send("y")
        expect("Next steps")
    finally:
        status = _reap(pid)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, transcript
    assert load_stack(proj, "dev.globex").spec.kind == "customer"


def _reap(pid: int) -> int:
    """The child's exit status; a child still waiting for input after a failed test is killed."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


# --- help -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["customer"], ["customer", "add"], ["customer", "endpoint"], ["customer", "endpoint", "add"],
    ["customer", "endpoint", "remove"], ["customer", "list"], ["customer", "handoff"]])
def test_every_level_has_help(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*args, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: bridgectl ")
    assert len(out.splitlines()) > 5


class _Lines:
    """Standard input holding the given answers, one per line (not a terminal)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = [f"{line}\n" for line in lines]

    def readline(self, *_: Any) -> str:
        return self.lines.pop(0) if self.lines else ""

    def isatty(self) -> bool:
        return False

    def read(self) -> str:
        rest, self.lines = "".join(self.lines), []
        return rest


def test_endpoint_rename_keeps_the_first_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`customer endpoint rename` sets name and renamedFrom, keeps every other line, and a second
    rename keeps the first name; an unknown endpoint is bad input."""
    for name in ("Pulumi.yaml", "__main__.py", "Pulumi.dev.yaml", "Pulumi.dev.acme.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    before = (tmp_path / "Pulumi.dev.acme.yaml").read_text()
    args = ["-C", str(tmp_path), "customer", "endpoint", "rename", "dev", "acme"]
    assert main([*args, "lakehouse", "analytics", "--no-plan"]) == 0
    after = (tmp_path / "Pulumi.dev.acme.yaml").read_text()
    changed = {line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"}
    assert changed == {"+       - name: analytics", "+         renamedFrom: lakehouse", "-       - name: lakehouse"}
    assert main([*args, "analytics", "lh3", "--no-plan"]) == 0
    spec = load_stack(tmp_path, "dev.acme").spec
    assert isinstance(spec, CustomerSpec)
    assert [(e.name, e.renamed_from) for e in spec.endpoints][1] == ("lh3", "lakehouse")
    capsys.readouterr()
    assert main([*args, "nothere", "x", "--no-plan"]) == 2
    assert "names no endpoint of customer acme" in capsys.readouterr().err
