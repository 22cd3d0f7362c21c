"""What the customer must do on their side, per platform and cloud, once the endpoint exists.

Private connectivity is two-sided: the SaaS creates an endpoint, and the platform owner (the
customer) authorizes or approves it. Some of that must happen *before* ``pulumi up`` (an AWS
endpoint service that does not list the SaaS account as a principal cannot even be found, so the
deployment fails), the rest after it (a connection can only be approved once it was requested).

The ids the steps need (the Azure private endpoint's resource id, the VPC endpoint id) exist only
after ``pulumi up``; each step takes them from ``ids`` and, where one is missing, shows a
placeholder naming the stack output that holds it. ``ids`` may hold, per endpoint:

* ``endpointId``: the Azure private endpoint resource id, the VPC endpoint id, or the Redshift
  endpoint access id (stack output ``endpoints.<name>.endpointId``);
* ``connectionName``: the private link connection name (Azure) or Redshift endpoint name;
* ``privateIp`` (Azure) / ``address`` (any cloud): what the hostnames resolve to;
* ``vpcId``, ``subscriptionId``, ``region``: the SaaS side's ids, known from the bridge stack.

Sources: Snowflake SYSTEM$AUTHORIZE_PRIVATELINK (docs/sources.md#azure-5-2, docs/sources.md#aws-5-2); Azure Databricks
front-end Private Link approval and its prerequisites (docs/sources.md#azure-5-3); Databricks on AWS front-end
Private Link: VPC endpoint registration and private access settings (docs/sources.md#aws-5-3); AWS endpoint
services: allowed principals and connection acceptance (docs/sources.md#aws-5-1, #aws-5-5); Redshift-managed
endpoints need the owner's authorization first (docs/sources.md#aws-5-4); Starburst and other Private Link
services are approved by their owner (docs/sources.md#azure-5-4, docs/sources.md#aws-5-5).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .plan import EndpointPlan

CUSTOMER = "customer"
SUPPORT = "support"
BEFORE = "before deploy"
AFTER = "after deploy"

_PLATFORM_NAMES = {"snowflake": "Snowflake", "databricks": "Databricks", "starburst": "Starburst",
                   "redshift": "Amazon Redshift"}
_CLOUD_NAMES = {"azure": "Azure", "aws": "AWS"}
_VPCE_SERVICE = re.compile(r"com\.amazonaws\.vpce\.([a-z0-9-]+)\.(vpce-svc-[0-9a-f]+)")
# The Microsoft.Databricks API version that serves private endpoint connections (azure-native 3.x uses it).
DATABRICKS_API = "2024-05-01"
_SUBSCRIPTION = re.compile(r"/subscriptions/([0-9a-fA-F-]{36})/", re.IGNORECASE)


@dataclass(frozen=True)
class Step:
    who: str          # "customer" (the platform owner) or "support" (the SaaS side)
    when: str         # "before deploy" or "after deploy"
    text: str
    command: str = ""  # what to run, verbatim (SQL or a shell command); may span lines


def _id(ids: Mapping[str, str], key: str, placeholder: str) -> str:
    value = ids.get(key)
    return value if value else f"<{placeholder}>"


def platform_title(platform: str, cloud: str) -> str:
    return f"{_PLATFORM_NAMES.get(platform, platform)} on {_CLOUD_NAMES.get(cloud, cloud)}"


def _aws_service(service: str | None) -> tuple[str | None, str | None]:
    """(region, service id) of a VPC endpoint service name, or (None, None)."""
    m = _VPCE_SERVICE.fullmatch(service or "")
    return (m.group(1), m.group(2)) if m else (None, None)


def _verify(ep: EndpointPlan, ids: Mapping[str, str]) -> list[Step]:
    """Name resolution and TCP from the SaaS side: the proof the customer's approval took effect."""
    if ep.hostnames:
        names = list(ep.hostnames)
    elif ids.get("address"):
        names = [ids["address"]]
    else:
        names = [f"<the endpoint's DNS name: endpoints.{ep.name}.address>"]
    if ep.cloud == "azure":
        target = ids.get("privateIp") or ids.get("address") or f"<endpoints.{ep.name}.address>"
        expect = f"each name resolves to {target} (an A record in the customer stack's private zone of the name)"
        if ep.browser_auth_region:
            auth = ids.get("browserAuthAddress") or f"<endpoints.{ep.name}.browserAuthAddress>"
            expect = (f"each name resolves to {target}, the browser-authentication name to {auth} (A records in "
                      "the customer stack's private zones)")
    else:
        target = ids.get("address") or f"<endpoints.{ep.name}.address>"
        expect = (f"each name resolves to the private addresses of endpoint {target} in VPC {ep.vpc}"
                  if ep.hostnames else "the name resolves to private addresses of the SaaS VPC")
    lines = []
    for host in names:
        lines.append(f"dig +short {host}")
        lines.extend(f"nc -vz -w 5 {host} {port}" for port in ep.ports)
    return [Step(SUPPORT, AFTER, f"From a host in a SaaS VPC, check that {expect} and that TCP "
                 f"{'/'.join(map(str, ep.ports))} connects:", "\n".join(lines))]


def handoff_steps(ep: EndpointPlan, ids: Mapping[str, str], *, stack: str, aws_account: str) -> list[Step]:
    """The steps for one endpoint, those before deploy first. ``ids`` holds what the deployed stack
    exported for it (see the module doc); missing ids are shown as placeholders naming the stack
    output to read."""
    endpoint_id = _id(ids, "endpointId", f"endpoints.{ep.name}.endpointId of stack {stack}")
    subscription = ids.get("subscriptionId") or ""
    if not subscription:
        m = _SUBSCRIPTION.search(ids.get("endpointId", ""))
        subscription = m.group(1) if m else "<the SaaS Azure subscription: azure-native:subscriptionId of the bridge>"
    region, service_id = _aws_service(ep.service)
    region = region or ids.get("region") or ""
    region_flag = f" --region {region}" if region else ""
    steps: list[Step] = []
    if ep.platform == "snowflake" and ep.cloud == "azure":
        steps += [
            Step(SUPPORT, AFTER, "Create an Azure access token for the subscription of the SaaS private endpoint "
                 "and send it to the customer over a secure channel (it expires within about an hour):",
                 f"az account get-access-token --subscription {subscription} --query accessToken -o tsv"),
            Step(CUSTOMER, AFTER, "In Snowflake, as ACCOUNTADMIN, authorize the SaaS private endpoint "
                 "(the first argument is its Azure resource id, the second the token support sent):",
                 f"USE ROLE ACCOUNTADMIN;\nSELECT SYSTEM$AUTHORIZE_PRIVATELINK('{endpoint_id}', '<access token>');"),
            Step(CUSTOMER, AFTER, "Check that the endpoint is listed; Snowflake then approves the pending "
                 "connection within minutes:", "SELECT SYSTEM$GET_PRIVATELINK_AUTHORIZED_ENDPOINTS();"),
            Step(SUPPORT, AFTER, "Check that the connection is Approved:",
                 f"az network private-endpoint show --ids {endpoint_id} --query "
                 "\"manualPrivateLinkServiceConnections[0].privateLinkServiceConnectionState.status\" -o tsv"),
        ]
    elif ep.platform == "snowflake" and ep.cloud == "aws":
        steps += [
            Step(SUPPORT, BEFORE, f"In AWS account {aws_account}, create a federation token and send its whole "
                 "JSON output to the customer over a secure channel:",
                 "aws sts get-federation-token --name snowflake"),
            Step(CUSTOMER, BEFORE, f"In Snowflake, as ACCOUNTADMIN, authorize the SaaS AWS account {aws_account} "
                 "(the second argument is the JSON support sent). Until this is done the endpoint service is "
                 "invisible to the SaaS account and the deployment fails:",
                 f"USE ROLE ACCOUNTADMIN;\nSELECT SYSTEM$AUTHORIZE_PRIVATELINK('{aws_account}', "
                 "'<federation token JSON>');"),
            Step(SUPPORT, AFTER, "Check that the VPC endpoint is available (Snowflake accepts it once the "
                 "account is authorized):",
                 f"aws ec2 describe-vpc-endpoints{region_flag} --vpc-endpoint-ids {endpoint_id} "
                 "--query 'VpcEndpoints[0].State' --output text"),
        ]
    elif ep.platform == "databricks" and ep.cloud == "azure":
        workspace = ep.service or "<workspace resource id>"
        # The private endpoint's name (components/private_endpoints.py: pe-<customer>-<endpoint>).
        pe_name = (endpoint_id.rsplit("/", 1)[-1] if ids.get("endpointId")
                   else f"pe-{stack.rsplit('.', 1)[-1]}-{ep.name}")
        arm = "https://management.azure.com"
        steps += [
            Step(CUSTOMER, BEFORE, "Confirm the workspace can take front-end Private Link: Premium plan, deployed "
                 "in your own VNet (VNet injection) with secure cluster connectivity. Azure rejects the "
                 "private endpoint otherwise."),
            Step(CUSTOMER, AFTER, f"Approve the pending private endpoint connection from {pe_name} on workspace "
                 f"{workspace} (request message \"{ep.request_message}\"). Portal: the workspace > Networking > "
                 "Private endpoint connections > select it > Approve. Or with the Azure CLI (find the "
                 "connection, then approve it):",
                 f"az rest --method get --url \"{arm}{workspace}/privateEndpointConnections"
                 f"?api-version={DATABRICKS_API}\" --query \"value[?ends_with(properties.privateEndpoint.id, "
                 f"'/{pe_name}')].id\" -o tsv\n"
                 f"az rest --method put --url \"{arm}<the id printed above>?api-version={DATABRICKS_API}\" "
                 "--body '{\"properties\": {\"privateLinkServiceConnectionState\": {\"status\": \"Approved\", "
                 f"\"description\": \"SaaS access ({stack})\"}}}}}}'"),
            Step(SUPPORT, AFTER, "Check that the connection is Approved:",
                 f"az network private-endpoint show --ids {endpoint_id} --query "
                 "\"manualPrivateLinkServiceConnections[0].privateLinkServiceConnectionState.status\" -o tsv"),
        ]
        if ep.browser_auth_region:
            auth_id = _id(ids, "browserAuthEndpointId",
                          f"endpoints.{ep.name}.browserAuthEndpointId of stack {stack}")
            auth_name = (auth_id.rsplit("/", 1)[-1] if ids.get("browserAuthEndpointId")
                         else f"pe-{stack.rsplit('.', 1)[-1]}-{ep.name}-auth")
            steps += [
                Step(CUSTOMER, AFTER, f"Approve the second pending connection, from {auth_name} (sub-resource "
                     "browser_authentication: single sign-on callbacks for every Azure Databricks workspace of "
                     f"region {ep.browser_auth_region} reached through the SaaS), the same way. Keep the workspace "
                     "it targets: deleting it ends single sign-on through the SaaS for the whole region."),
                Step(SUPPORT, AFTER, "Check that the browser-authentication connection is Approved:",
                     f"az network private-endpoint show --ids {auth_id} --query "
                     "\"manualPrivateLinkServiceConnections[0].privateLinkServiceConnectionState.status\" -o tsv"),
            ]
    elif ep.platform == "databricks" and ep.cloud == "aws":
        steps += [
            Step(CUSTOMER, BEFORE, "Confirm the workspace can take front-end PrivateLink: Enterprise tier, "
                 "customer-managed VPC and secure cluster connectivity; and that the service "
                 f"{ep.service} is the workspace (REST API) endpoint service of region {region or '<region>'}."),
            Step(CUSTOMER, AFTER, f"In the Databricks account console, register the SaaS VPC endpoint {endpoint_id} "
                 f"(Cloud resources > Network > VPC endpoints > Register VPC endpoint, region {region or '<region>'}), "
                 "then allow it in the workspace's private access settings (access level ACCOUNT, or ENDPOINT "
                 "with this endpoint among the allowed ones). Or with the Databricks CLI, as an account admin:",
                 "databricks account vpc-endpoints create --json "
                 f"'{{\"vpc_endpoint_name\": \"saas-{stack.replace('.', '-')}-{ep.name}\", "
                 f"\"aws_vpc_endpoint_id\": \"{endpoint_id}\", \"region\": \"{region or '<region>'}\"}}'"),
            Step(SUPPORT, AFTER, "Check that the VPC endpoint is available (pendingAcceptance means the "
                 "registration is not done yet):",
                 f"aws ec2 describe-vpc-endpoints{region_flag} --vpc-endpoint-ids {endpoint_id} "
                 "--query 'VpcEndpoints[0].State' --output text"),
        ]
    elif ep.cloud == "aws" and ep.platform == "redshift" and ep.cluster:
        vpc_id = _id(ids, "vpcId", f"the VPC id of bridge VPC {ep.vpc}")
        endpoint_name = ids.get("connectionName") or f"<endpoints.{ep.name}.connectionName>"
        steps += [
            Step(CUSTOMER, BEFORE, f"In AWS account {ep.owner_account}, which owns cluster {ep.cluster} (an RA3 "
                 "cluster with cluster relocation or Multi-AZ on), allow the SaaS account to create a "
                 "Redshift-managed endpoint in its VPC. The deployment fails until this is done:",
                 f"aws redshift authorize-endpoint-access{region_flag} --cluster-identifier {ep.cluster} "
                 f"--account {aws_account} --vpc-ids {vpc_id}"),
            Step(SUPPORT, AFTER, "Check that the endpoint is active:",
                 f"aws redshift describe-endpoint-access{region_flag} --endpoint-name {endpoint_name} "
                 "--query 'EndpointAccessList[0].EndpointStatus' --output text"),
        ]
    elif ep.cloud == "aws":
        service = service_id or f"<the id of {ep.service}>"
        if ep.platform == "starburst":
            steps.append(Step(CUSTOMER, BEFORE, "The endpoint service is run by Starburst (Galaxy: ask Starburst "
                              "support to do the two steps below) or by you in front of the coordinator's "
                              "load balancer (Starburst Enterprise). Its TLS certificate must cover "
                              f"{', '.join(ep.hostnames) or 'the names the SaaS uses'}."))
        steps += [
            Step(CUSTOMER, BEFORE, f"On the endpoint service {ep.service}, allow the SaaS AWS account {aws_account}. "
                 "Until then the service is invisible to the SaaS account and the deployment fails:",
                 f"aws ec2 modify-vpc-endpoint-service-permissions{region_flag} --service-id {service} "
                 f"--add-allowed-principals arn:aws:iam::{aws_account}:root"),
            Step(CUSTOMER, AFTER, f"Accept the connection request of the SaaS VPC endpoint {endpoint_id} (console: "
                 "VPC > Endpoint services > the service > Endpoint connections), unless the service accepts "
                 "connections automatically:",
                 f"aws ec2 accept-vpc-endpoint-connections{region_flag} --service-id {service} "
                 f"--vpc-endpoint-ids {endpoint_id}"),
            Step(SUPPORT, AFTER, "Check that the VPC endpoint is available:",
                 f"aws ec2 describe-vpc-endpoints{region_flag} --vpc-endpoint-ids {endpoint_id} "
                 "--query 'VpcEndpoints[0].State' --output text"),
        ]
    else:  # an Azure Private Link service: Starburst Enterprise, or any platform's own service
        pls = ep.service or "<the Private Link service>"
        if ep.platform == "starburst":
            steps.append(Step(CUSTOMER, BEFORE, "The Private Link service fronts the Starburst coordinator's "
                              "internal load balancer (Starburst Enterprise on AKS; for Galaxy ask Starburst "
                              "support). Its TLS certificate must cover "
                              f"{', '.join(ep.hostnames) or 'the names the SaaS uses'}."))
        steps += [
            Step(CUSTOMER, BEFORE, f"If the Private Link service {pls} limits its visibility, add the SaaS "
                 f"subscription {subscription} to it (optionally also to auto-approval):",
                 f"az network private-link-service update -g <resource group> -n <service name> "
                 f"--visibility {subscription}"),
            Step(CUSTOMER, AFTER, f"Approve the pending connection from private endpoint {endpoint_id} "
                 f"(request message \"{ep.request_message}\"). Portal: Private Link Center > Private link "
                 "services > the service > Private endpoint connections > Approve. CLI:",
                 "az network private-endpoint-connection list --id <Private Link service resource id> -o table\n"
                 "az network private-endpoint-connection approve --id <connection id> "
                 f"--description \"SaaS access ({stack})\""),
            Step(SUPPORT, AFTER, "Check that the connection is Approved:",
                 f"az network private-endpoint show --ids {endpoint_id} --query "
                 "\"manualPrivateLinkServiceConnections[0].privateLinkServiceConnectionState.status\" -o tsv"),
        ]
    steps += _verify(ep, ids)
    return [s for s in steps if s.when == BEFORE] + [s for s in steps if s.when != BEFORE]


def _needs_outputs(endpoints: list[EndpointPlan], ids: Mapping[str, Mapping[str, str]]) -> bool:
    return any(not ids.get(ep.name, {}).get("endpointId") for ep in endpoints)


def _intro(endpoints: list[EndpointPlan], ids: Mapping[str, Mapping[str, str]], stack: str,
           aws_account: str) -> list[str]:
    lines = [f"SaaS side: AWS account {aws_account}.",
             "Steps marked \"before deploy\" must be done before the change is deployed (`pulumi up` fails "
             "without them); \"after deploy\" steps need the endpoints to exist. Send the customer the steps "
             "marked customer; support does the others."]
    if _needs_outputs(endpoints, ids):
        lines.append(f"Ids shown as <endpoints.…> exist once the stack is deployed: `pulumi stack output handoff "
                     f"-s {stack}` prints this hand-off with them filled in.")
    return lines


def handoff_text(endpoints: list[EndpointPlan], ids: Mapping[str, Mapping[str, str]], *, stack: str,
                 customer: str, aws_account: str) -> str:
    """The hand-off for a whole customer: per endpoint, numbered steps with who and when."""
    lines = [f"Hand-off for customer {customer} (stack {stack})", *_intro(endpoints, ids, stack, aws_account)]
    for ep in endpoints:
        lines.append("")
        target = ep.service or f"cluster {ep.cluster}"
        lines.append(f"{ep.name}: {platform_title(ep.platform, ep.cloud)}, {target}")
        if ep.hostnames:
            lines.append(f"  hostnames: {', '.join(ep.hostnames)}")
        for n, step in enumerate(handoff_steps(ep, ids.get(ep.name, {}), stack=stack, aws_account=aws_account), 1):
            lines.append(f"  {n}. [{step.who}, {step.when}] {step.text}")
            lines.extend(f"       {line}" for line in step.command.splitlines())
    return "\n".join(lines)


def handoff_markdown(endpoints: list[EndpointPlan], ids: Mapping[str, Mapping[str, str]], *, stack: str,
                     customer: str, aws_account: str) -> str:
    """The same hand-off as Markdown, for a ticket or an email: a checklist per endpoint."""
    lines = [f"## Private connectivity hand-off: {customer} (stack `{stack}`)", ""]
    lines += [line.replace("<", "&lt;").replace(">", "&gt;") for line in _intro(endpoints, ids, stack, aws_account)]
    for ep in endpoints:
        lines += ["", f"### {ep.name}: {platform_title(ep.platform, ep.cloud)}", "",
                  f"- service: `{ep.service or ep.cluster}`"]
        if ep.hostnames:
            lines.append(f"- hostnames: {', '.join(f'`{h}`' for h in ep.hostnames)}")
        lines.append("")
        for step in handoff_steps(ep, ids.get(ep.name, {}), stack=stack, aws_account=aws_account):
            text = step.text.replace("<", "&lt;").replace(">", "&gt;")
            lines.append(f"- [ ] **{step.who}, {step.when}**: {text}")
            if step.command:
                lines += ["", "  ```", *(f"  {line}" for line in step.command.splitlines()), "  ```", ""]
    return "\n".join(lines).rstrip() + "\n"


def handoff_json(endpoints: list[EndpointPlan], ids: Mapping[str, Mapping[str, str]], *, stack: str,
                 customer: str, aws_account: str) -> dict[str, object]:
    """The same hand-off as data (``bridgectl customer handoff --json``): ``{"stack", "customer",
    "awsAccount", "needsOutputs", "endpoints": [{"name", "platform", "cloud", "service", "hostnames",
    "steps": [{"who", "when", "text", "command"}]}]}``."""
    return {
        "stack": stack, "customer": customer, "awsAccount": aws_account,
        "needsOutputs": _needs_outputs(endpoints, ids),
        "endpoints": [{
            "name": ep.name, "platform": ep.platform, "cloud": ep.cloud, "service": ep.service or ep.cluster,
            "hostnames": list(ep.hostnames),
            "steps": [{"who": s.who, "when": s.when, "text": s.text, "command": s.command or None}
                      for s in handoff_steps(ep, ids.get(ep.name, {}), stack=stack, aws_account=aws_account)],
        } for ep in endpoints],
    }
