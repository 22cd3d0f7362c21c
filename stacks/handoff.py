"""What the customer must do on their side, per platform and cloud, once the endpoint exists.

Private connectivity is two-sided: the SaaS creates an endpoint, and the platform owner (the
customer) authorizes or approves it. The steps depend on the platform and the cloud; the ids they
need (the private endpoint's resource id, the VPC endpoint id, the SaaS account) are known only
after ``pulumi up``, so each step takes them from ``ids`` and says where to find any that are
missing.

Sources: Snowflake SYSTEM$AUTHORIZE_PRIVATELINK (azure.md §5.2, aws.md §5.2); Azure Databricks
front-end Private Link approval (azure.md §5.3); AWS endpoint services accept connection requests
(aws.md §5.1, §5.3); Redshift-managed endpoints need the owner's authorization first (aws.md §5.4);
Starburst and other Private Link services are approved by their owner (azure.md §5.4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .plan import EndpointPlan


@dataclass(frozen=True)
class Step:
    who: str          # "customer" (the platform owner) or "support" (the SaaS side)
    when: str         # "before deploy" or "after deploy"
    text: str


def _id(ids: Mapping[str, str], key: str, placeholder: str) -> str:
    value = ids.get(key)
    return value if value else f"<{placeholder}>"


def handoff_steps(ep: EndpointPlan, ids: Mapping[str, str], *, stack: str, aws_account: str) -> list[Step]:
    """The steps for one endpoint. ``ids`` holds what the deployed stack exported for it:
    ``endpointId`` (Azure private endpoint resource id or AWS VPC endpoint id), ``endpointName``,
    ``privateIp``; missing ids are shown as placeholders naming the stack output to read."""
    later = f"pulumi stack output endpoints -s {stack}"
    endpoint_id = _id(ids, "endpointId", f"endpoint id: {later}")
    steps: list[Step] = []
    if ep.platform == "snowflake" and ep.cloud == "azure":
        steps.append(Step("customer", "after deploy",
                          "In Snowflake, as ACCOUNTADMIN, authorize the SaaS private endpoint: "
                          f"SELECT SYSTEM$AUTHORIZE_PRIVATELINK('{endpoint_id}', '<token>'); where <token> is "
                          "the output of `az account get-access-token --subscription <SaaS subscription>` run "
                          "by the SaaS team (send it over a secure channel; it expires within the hour)."))
        steps.append(Step("customer", "after deploy",
                          "Check with SELECT SYSTEM$GET_PRIVATELINK_AUTHORIZED_ENDPOINTS(); the endpoint's "
                          "connection then turns Approved."))
    elif ep.platform == "snowflake" and ep.cloud == "aws":
        steps.append(Step("customer", "before deploy",
                          "In Snowflake, as ACCOUNTADMIN, authorize the SaaS AWS account: "
                          f"SELECT SYSTEM$AUTHORIZE_PRIVATELINK('{aws_account}', '<federated token>'); the token "
                          "comes from `aws sts get-federation-token --name snowflake` in that account, run by "
                          "the SaaS team."))
        steps.append(Step("support", "after deploy",
                          f"Confirm the VPC endpoint {endpoint_id} is Available "
                          f"(`aws ec2 describe-vpc-endpoints --vpc-endpoint-ids {endpoint_id}`)."))
    elif ep.platform == "databricks" and ep.cloud == "azure":
        name = _id(ids, "connectionName", f"connection name: {later}")
        steps.append(Step("customer", "after deploy",
                          f"Approve the pending private endpoint connection {name} on workspace {ep.service} "
                          "(Azure portal: the workspace > Networking > Private endpoint connections; or "
                          f"`az network private-endpoint-connection approve --resource-id <connection id>`). "
                          f"The SaaS endpoint is {endpoint_id}."))
    elif ep.cloud == "aws" and ep.platform == "redshift" and ep.cluster:
        steps.append(Step("customer", "before deploy",
                          f"In account {ep.owner_account}, authorize the SaaS account to create a Redshift-managed "
                          f"endpoint: `aws redshift authorize-endpoint-access --cluster-identifier {ep.cluster} "
                          f"--account {aws_account} --vpc-ids <the bridge VPC {ep.vpc}>`."))
    elif ep.cloud == "aws":
        steps.append(Step("customer", "before deploy",
                          f"Allow the SaaS account on the endpoint service {ep.service}: add the principal "
                          f"arn:aws:iam::{aws_account}:root to its allowed principals."))
        steps.append(Step("customer", "after deploy",
                          f"Accept the connection request of VPC endpoint {endpoint_id}: "
                          f"`aws ec2 accept-vpc-endpoint-connections --service-id <{ep.service} id> "
                          f"--vpc-endpoint-ids {endpoint_id}` (or the console: Endpoint services > "
                          "Endpoint connections)."))
    else:  # a Private Link service on Azure (Starburst and other self-hosted platforms)
        steps.append(Step("customer", "after deploy",
                          f"Approve the pending connection from private endpoint {endpoint_id} on the Private Link "
                          f"service {ep.service} (Azure portal: Private Link Center > Private link services > "
                          "Private endpoint connections)."))
    if ep.hostnames:
        ip = ids.get("privateIp") or ("the endpoint's private address" if ep.cloud == "azure"
                                      else "the endpoint's DNS name")
        hosts = ", ".join(ep.hostnames)
        steps.append(Step("support", "after deploy",
                          f"Verify from a SaaS VPC host that {hosts} resolve to {ip} and that TCP "
                          f"{'/'.join(map(str, ep.ports))} connects."))
    return steps


def handoff_text(endpoints: list[EndpointPlan], ids: Mapping[str, Mapping[str, str]], *, stack: str,
                 customer: str, aws_account: str) -> str:
    """The hand-off for a whole customer: numbered steps per endpoint."""
    lines = [f"Hand-off for customer {customer} (stack {stack})"]
    for ep in endpoints:
        lines.append("")
        lines.append(f"{ep.name}: {ep.platform} on {ep.cloud} ({ep.service or ep.cluster})")
        for n, step in enumerate(handoff_steps(ep, ids.get(ep.name, {}), stack=stack, aws_account=aws_account), 1):
            lines.append(f"  {n}. [{step.who}, {step.when}] {step.text}")
    return "\n".join(lines)
