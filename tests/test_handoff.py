"""The hand-off (stacks/handoff.py): per platform and cloud, what the customer and support do, when.

Each case builds the endpoint the way the program does (spec -> plan) and checks the steps a
support engineer forwards: who acts, before or after deployment, and the exact command with the
ids filled in, or a placeholder that names the stack output holding the id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stacks.handoff import AFTER, BEFORE, CUSTOMER, SUPPORT, Step, handoff_markdown, handoff_steps, handoff_text
from stacks.loader import load_stack
from stacks.plan import EndpointPlan, plan_customer
from stacks.spec import BridgeSpec, CustomerSpec, parse_config

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "111122223333"
SUB = "00000000-0000-0000-0000-000000000000"
PE_ID = f"/subscriptions/{SUB}/resourceGroups/rg-bridge-dev/providers/Microsoft.Network/privateEndpoints/pe-acme-x"
WS = ("/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-acme/providers/"
      "Microsoft.Databricks/workspaces/acme-ws")


@pytest.fixture(scope="module")
def bridge() -> BridgeSpec:
    spec = load_stack(ROOT, "dev").spec
    assert isinstance(spec, BridgeSpec)
    return spec


def endpoint(bridge: BridgeSpec, **ep: Any) -> EndpointPlan:
    config = {"bridge:customer": {"id": "acme", "bridgeStack": "dev", "endpoints": [{"name": "x", **ep}]}}
    spec, _ = parse_config("dev.acme", config)
    assert isinstance(spec, CustomerSpec)
    return plan_customer(spec, bridge).endpoints[0]


def steps(ep: EndpointPlan, **ids: str) -> list[Step]:
    return handoff_steps(ep, ids, stack="dev.acme", aws_account=ACCOUNT)


def commands(found: list[Step]) -> str:
    return "\n".join(s.command for s in found)


def test_snowflake_on_azure_is_authorized_after_deploy_with_the_endpoint_id(bridge: BridgeSpec) -> None:
    ep = endpoint(bridge, platform="snowflake", cloud="azure",
                  service="sf-pvlinksvc-eastus2.a1b2c3d4-e5f6-7a8b-9c0d-e1f2a3b4c5d6.eastus2.azure.privatelinkservice",
                  hostnames=["acme-xy.east-us-2.privatelink.snowflakecomputing.com"])
    found = steps(ep, endpointId=PE_ID, privateIp="10.20.1.5")
    assert {s.when for s in found} == {AFTER}
    assert [s.who for s in found] == [SUPPORT, CUSTOMER, CUSTOMER, SUPPORT, SUPPORT]
    cmds = commands(found)
    assert f"az account get-access-token --subscription {SUB} --query accessToken -o tsv" in cmds
    assert f"SELECT SYSTEM$AUTHORIZE_PRIVATELINK('{PE_ID}', '<access token>');" in cmds
    assert "SYSTEM$GET_PRIVATELINK_AUTHORIZED_ENDPOINTS()" in cmds
    assert "nc -vz -w 5 acme-xy.east-us-2.privatelink.snowflakecomputing.com 80" in cmds  # OCSP over HTTP
    assert "resolves to 10.20.1.5" in found[-1].text


def test_snowflake_on_aws_authorizes_the_saas_account_before_deploy(bridge: BridgeSpec) -> None:
    ep = endpoint(bridge, platform="snowflake", cloud="aws",
                  service="com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
                  hostnames=["acme-ab.us-east-1.privatelink.snowflakecomputing.com"])
    found = steps(ep)
    before = [s for s in found if s.when == BEFORE]
    assert [s.who for s in before] == [SUPPORT, CUSTOMER]
    assert before[0].command == "aws sts get-federation-token --name snowflake"
    assert f"SELECT SYSTEM$AUTHORIZE_PRIVATELINK('{ACCOUNT}', '<federation token JSON>');" in before[1].command
    assert "--vpc-endpoint-ids <endpoints.x.endpointId of stack dev.acme>" in commands(found)
    assert found.index(before[-1]) < len(before)  # before-deploy steps come first


def test_databricks_on_azure_is_approved_on_the_workspace(bridge: BridgeSpec) -> None:
    ep = endpoint(bridge, platform="databricks", cloud="azure", service=WS,
                  hostnames=["adb-1.2.privatelink.azuredatabricks.net"])
    found = steps(ep, endpointId=PE_ID)
    assert [(s.who, s.when) for s in found] == [(CUSTOMER, BEFORE), (CUSTOMER, AFTER), (SUPPORT, AFTER),
                                                (SUPPORT, AFTER)]
    assert "Premium plan" in found[0].text
    approve = found[1]
    assert WS in approve.text and "pe-acme-x" in approve.text and ep.request_message in approve.text
    assert f"{WS}/privateEndpointConnections?api-version=" in approve.command
    assert "'/pe-acme-x'" in approve.command
    assert '"status": "Approved"' in approve.command
    # Without the deployed id, the private endpoint's name still identifies the connection.
    assert "'/pe-acme-x'" in steps(ep)[1].command


def test_databricks_browser_authentication_is_approved_too(bridge: BridgeSpec) -> None:
    ep = endpoint(bridge, platform="databricks", cloud="azure", service=WS, browserAuthentication=True,
                  hostnames=["adb-1.2.privatelink.azuredatabricks.net"])
    assert ep.hostnames == ("adb-1.2.privatelink.azuredatabricks.net",
                            "eastus2.pl-auth.privatelink.azuredatabricks.net")
    found = steps(ep, endpointId=PE_ID, privateIp="10.20.1.4", browserAuthEndpointId=f"{PE_ID}-auth",
                  browserAuthAddress="10.20.1.6")
    auth = next(s for s in found if "browser_authentication" in s.text)
    assert (auth.who, auth.when) == (CUSTOMER, AFTER) and "pe-acme-x-auth" in auth.text and "eastus2" in auth.text
    assert f"--ids {PE_ID}-auth" in commands(found)
    verify = found[-1]
    assert "resolves to 10.20.1.4, the browser-authentication name to 10.20.1.6" in verify.text
    assert "dig +short eastus2.pl-auth.privatelink.azuredatabricks.net" in verify.command
    # Before deploy, the names of the outputs that will hold the ids.
    assert "<endpoints.x.browserAuthEndpointId of stack dev.acme>" in commands(steps(ep))


def test_snowflake_ocsp_names_are_verified_too(bridge: BridgeSpec) -> None:
    ep = endpoint(bridge, platform="snowflake", cloud="aws",
                  service="com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
                  hostnames=["acme-ab.us-east-1.privatelink.snowflakecomputing.com",
                             "acme-org.privatelink.snowflakecomputing.com",
                             "app-acme-org.privatelink.snowflakecomputing.com"])
    # Account names (regional and regionless) bring their OCSP names; Snowsight's has none.
    assert ep.hostnames == ("acme-ab.us-east-1.privatelink.snowflakecomputing.com",
                            "ocsp.acme-ab.us-east-1.privatelink.snowflakecomputing.com",
                            "acme-org.privatelink.snowflakecomputing.com",
                            "ocsp.acme-org.privatelink.snowflakecomputing.com",
                            "app-acme-org.privatelink.snowflakecomputing.com")
    cmds = commands(steps(ep))
    assert "dig +short ocsp.acme-org.privatelink.snowflakecomputing.com" in cmds


def test_databricks_on_aws_registers_the_vpc_endpoint(bridge: BridgeSpec) -> None:
    ep = endpoint(bridge, platform="databricks", cloud="aws",
                  service="com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
                  hostnames=["us-east-1.privatelink.cloud.databricks.com"])
    found = steps(ep, endpointId="vpce-0aaaabbbbccccdddd")
    assert "Enterprise tier" in found[0].text and found[0].when == BEFORE
    register = found[1]
    assert register.who == CUSTOMER and register.when == AFTER
    assert "register the SaaS VPC endpoint vpce-0aaaabbbbccccdddd" in register.text
    assert '"aws_vpc_endpoint_id": "vpce-0aaaabbbbccccdddd", "region": "us-east-1"' in register.command


def test_redshift_cluster_is_authorized_by_its_owner_before_deploy(bridge: BridgeSpec) -> None:
    ep = endpoint(bridge, platform="redshift", cloud="aws", cluster="analytics", ownerAccount="444455556666")
    found = steps(ep, vpcId="vpc-0a1b2c3d4e5f60718", region="us-east-1")
    assert found[0].who == CUSTOMER and found[0].when == BEFORE and "444455556666" in found[0].text
    assert found[0].command == ("aws redshift authorize-endpoint-access --region us-east-1 --cluster-identifier "
                                f"analytics --account {ACCOUNT} --vpc-ids vpc-0a1b2c3d4e5f60718")
    assert "nc -vz -w 5 <the endpoint's DNS name: endpoints.x.address> 5439" in commands(found)
    # Without the bridge's VPC id, the placeholder says where it comes from.
    assert "--vpc-ids <the VPC id of bridge VPC saas>" in steps(ep)[0].command


@pytest.mark.parametrize("platform", ["starburst", "redshift"])
def test_aws_endpoint_services_allow_the_account_then_accept(bridge: BridgeSpec, platform: str) -> None:
    ep = endpoint(bridge, platform=platform, cloud="aws",
                  service="com.amazonaws.vpce.us-east-1.vpce-svc-0fedcba9876543210", zone="sb.acme.internal",
                  hostnames=["db.sb.acme.internal"])
    found = steps(ep, endpointId="vpce-0aaaabbbbccccdddd")
    cmds = commands(found)
    assert ("aws ec2 modify-vpc-endpoint-service-permissions --region us-east-1 --service-id "
            f"vpce-svc-0fedcba9876543210 --add-allowed-principals arn:aws:iam::{ACCOUNT}:root") in cmds
    assert ("aws ec2 accept-vpc-endpoint-connections --region us-east-1 --service-id vpce-svc-0fedcba9876543210 "
            "--vpc-endpoint-ids vpce-0aaaabbbbccccdddd") in cmds
    allow = next(s for s in found if "modify-vpc-endpoint-service-permissions" in s.command)
    assert (allow.who, allow.when) == (CUSTOMER, BEFORE)
    assert ("TLS certificate must cover db.sb.acme.internal" in found[0].text) == (platform == "starburst")


def test_starburst_on_azure_approves_on_the_private_link_service(bridge: BridgeSpec) -> None:
    ep = endpoint(bridge, platform="starburst", cloud="azure",
                  service="sep-pls.0e1f2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7.eastus2.azure.privatelinkservice",
                  zone="sb.acme.internal", hostnames=["db.sb.acme.internal"])
    found = steps(ep)
    assert "--visibility <the SaaS Azure subscription" in found[1].command
    assert f"--visibility {SUB}" in steps(ep, endpointId=PE_ID)[1].command  # read from the endpoint id
    approve = next(s for s in found if "approve" in s.command)
    assert approve.who == CUSTOMER and approve.when == AFTER


def test_text_and_markdown_cover_every_endpoint(bridge: BridgeSpec) -> None:
    spec = load_stack(ROOT, "dev.acme").spec
    assert isinstance(spec, CustomerSpec)
    eps = list(plan_customer(spec, bridge).endpoints)
    # The call the Pulumi program makes (stacks/customer.py).
    text = handoff_text(eps, {"snowflake": {"endpointId": PE_ID}}, stack="dev.acme", customer="acme",
                        aws_account=ACCOUNT)
    assert text.splitlines()[0] == "Hand-off for customer acme (stack dev.acme)"
    for ep in eps:
        assert f"\n{ep.name}: " in text
    assert "  1. [" in text and "\n       SELECT SYSTEM$AUTHORIZE_PRIVATELINK" in text
    assert "pulumi stack output handoff -s dev.acme" in text  # some ids are still missing
    md = handoff_markdown(eps, {}, stack="dev.acme", customer="acme", aws_account=ACCOUNT)
    assert md.count("\n### ") == len(eps)
    assert "- [ ] **customer, after deploy**" in md
    assert "&lt;endpoints." in md  # placeholders survive Markdown rendering
    assert "  ```\n" in md
