"""What the program reads from the clouds before it registers anything, and refuses on.

Both kinds of stack deploy into the SaaS account (``bridge:aws.accountId``: Equinix creates the
hosted connections there, and the customers' endpoints and DNS live on its VPCs) and into the
bridge's Azure subscription. The providers are pinned to them (``allowedAccountIds``,
``subscriptionId``), and before anything is registered the program asks each cloud who the
credentials are and reads the SaaS VPCs, so credentials for another account, or a VPC whose DNS
would ignore private zones, stop the run with a message that names the expected value, before
anything is created.

Each check here is a synchronous invoke: the program waits for the answer before it goes on, as it
does for the ExpressRoute circuit's state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

#: What AWS's provider says when the credentials belong to an account outside allowedAccountIds
#: (terraform-provider-aws, under pulumi-aws: "AWS account ID not allowed: <the credentials' account>").
_NOT_ALLOWED = ("not allowed", "forbidden")


def aws_provider(name: str, region: str, account_id: str, opts: pulumi.ResourceOptions | None = None) \
        -> aws.Provider:
    """The AWS provider of a stack, pinned to the SaaS account: any other account's credentials fail."""
    return aws.Provider(name, region=region, allowed_account_ids=[account_id], opts=opts)


def stop(lines: Sequence[str]) -> None:
    """Report each problem through the engine's log and stop the program before it registers anything."""
    for line in lines:
        pulumi.log.error(line)
    raise pulumi.RunError("the clouds refused what the stack needs (see the errors above); nothing was changed")


def check_aws_account(account_id: str, provider: pulumi.ProviderResource, *, key: str = "bridge:aws.accountId") \
        -> None:
    """Stop unless the AWS credentials belong to ``account_id``."""
    try:
        ident = aws.get_caller_identity(opts=pulumi.InvokeOptions(provider=provider))
    except Exception as exc:  # the provider's own refusal, or no credentials at all
        text = str(exc)
        if any(marker in text for marker in _NOT_ALLOWED):
            stop([f"the AWS credentials are not for account {account_id} ({key}), the account Equinix creates "
                   f"the hosted connections in: {text.strip()} (fix: use credentials or a role of account "
                   f"{account_id})"])
        stop([f"could not ask AWS which account the credentials belong to (expected {account_id}, {key}): "
               f"{text.strip()}"])
        return
    seen = str(getattr(ident, "account_id", "") or "")
    if seen != account_id:
        stop([f"the AWS credentials are for account {seen or '(unknown)'}, not {account_id} ({key}), the account "
               f"Equinix creates the hosted connections in (fix: use credentials or a role of account {account_id})"])


def check_vpcs(vpcs: Sequence[Any], provider: pulumi.ProviderResource) -> None:
    """Stop unless every SaaS VPC exists and has DNS support and DNS hostnames on: Route 53 private
    zones answer only in such VPCs
    (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/hosted-zone-private-considerations.html).
    ``vpcs`` are the bridge's VPC specs (``name``, ``vpc_id``)."""
    problems: list[str] = []
    for i, vpc in enumerate(vpcs):
        where = f"bridge:aws.vpcs[{i}].vpcId"
        try:
            found = aws.ec2.get_vpc(id=vpc.vpc_id, opts=pulumi.InvokeOptions(provider=provider))
        except Exception as exc:
            problems.append(f"{where}: {vpc.vpc_id} could not be read in the SaaS account: {str(exc).strip()} "
                            "(fix: check the VPC id and region)")
            continue
        for attr, flag, option in (("DNS support", found.enable_dns_support, "--enable-dns-support"),
                                   ("DNS hostnames", found.enable_dns_hostnames, "--enable-dns-hostnames")):
            if not flag:
                problems.append(
                    f"{where}: VPC {vpc.vpc_id} ({vpc.name}) has {attr} off; the private DNS names of the "
                    "customers' endpoints would not resolve there (fix: `aws ec2 modify-vpc-attribute --vpc-id "
                    f"{vpc.vpc_id} {option} '{{\"Value\":true}}'`)")
    if problems:
        stop(problems)
