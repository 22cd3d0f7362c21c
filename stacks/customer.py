"""Compose a customer stack: that customer's private endpoints, private zones and DNS records, on its bridge.

The bridge's deployed ids (the hub's resource group and endpoint subnet) come through a
StackReference to the bridge stack; what the bridge's config already says (its VPCs, their CIDRs)
comes from its stack file, so the plan is known before either stack is deployed. A customer stack
owns its DNS: one Route 53 private zone per name it publishes (docs/dns.md), on the bridge's SaaS
VPCs. It touches nothing of the bridge's, and ``pulumi destroy`` removes exactly one customer.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from components.private_endpoints import (
    AzureTarget,
    EndpointArgs,
    PrivateEndpoints,
    PrivateEndpointsArgs,
    RecordArgs,
)

from . import preflight
from .bridge import base_tags
from .handoff import handoff_text
from .plan import CustomerPlan, plan_customer
from .spec import BridgeSpec, CustomerSpec


def bridge_reference_name(bridge_stack: str) -> str:
    """The fully qualified name of the bridge stack: <organization>/<project>/<stack>."""
    return f"{pulumi.get_organization()}/{pulumi.get_project()}/{bridge_stack}"


def endpoint_subnet_id(attachment: dict[str, Any], spoke: str | None) -> str:
    """The endpoint subnet a customer's Azure private endpoints go in: the hub's, or that of its endpoint
    spoke (bridge:customer.endpointSpoke), as the bridge exports them under customerAttachment.azure."""
    azure = attachment["azure"]
    if spoke is None:
        return str(azure["endpointSubnetId"])
    spokes = azure.get("endpointSpokes") or {}
    if spoke not in spokes:
        raise pulumi.RunError(f"bridge:customer.endpointSpoke: the bridge stack exports no endpoint spoke {spoke} "
                              "(fix: deploy the bridge with the spoke in bridge:azure.endpointSpokes first)")
    return str(spokes[spoke]["endpointSubnetId"])


def build_customer(spec: CustomerSpec, bridge: BridgeSpec, plan: CustomerPlan | None = None) -> dict[str, Any]:
    plan = plan or plan_customer(spec, bridge)
    tags = {**base_tags(spec.stack, bridge.tags), **spec.tags, "customer": spec.id}
    ref = pulumi.StackReference(bridge_reference_name(spec.bridge_stack))
    attachment = ref.require_output("customerAttachment")
    # Pinned like the bridge's: the endpoints and their DNS live in the SaaS account's VPCs.
    aws_provider = preflight.aws_provider("aws", bridge.aws_region, bridge.aws.account_id)
    azure_provider = azure_native.Provider("azure-native", location=bridge.azure_location,
                                           subscription_id=bridge.azure_subscription_id)
    preflight.check_aws_account(bridge.aws.account_id, aws_provider)
    preflight.check_vpcs(bridge.aws.vpcs, aws_provider)
    vpcs = {v.name: v for v in bridge.aws.vpcs}
    endpoints = []
    for ep in plan.endpoints:
        vpc = vpcs[ep.vpc] if ep.vpc else None
        # Named after the endpoint's first name (renamedFrom): a rename keeps every cloud resource.
        endpoints.append(EndpointArgs(
            name=ep.identity or ep.name, platform=ep.platform, kind=ep.kind, service=ep.service,
            records=[RecordArgs(r.name, r.zone, r.target) for r in ep.records], ports=list(ep.ports),
            group_ids=list(ep.group_ids), request_message=ep.request_message,
            allowed_cidrs=[str(c) for c in ep.allowed_cidrs], vpc_id=vpc.vpc_id if vpc else None,
            subnet_ids=list(vpc.subnet_ids) if vpc else [], cluster=ep.cluster, owner_account=ep.owner_account,
            browser_auth=ep.browser_auth_region is not None))
    has_azure = any(ep.cloud == "azure" for ep in plan.endpoints)
    azure = None
    if has_azure:
        azure = AzureTarget(
            resource_group_name=attachment.apply(lambda a: a["azure"]["resourceGroupName"]),
            location=bridge.azure_location,
            subnet_id=attachment.apply(lambda a: endpoint_subnet_id(a, spec.endpoint_spoke)))
    # The stack's own private zones, one per published name (stacks/dns.py), on every SaaS VPC: the VPC
    # ids come from the bridge's stack file, so nothing DNS needs waits for the bridge's outputs.
    # Each child takes the provider of its own cloud.
    pe = PrivateEndpoints("endpoints", PrivateEndpointsArgs(
        customer=spec.id, endpoints=endpoints, azure=azure, zones=list(plan.zones),
        vpc_ids=[v.vpc_id for v in bridge.aws.vpcs], region=bridge.aws_region, tags=tags),
        opts=pulumi.ResourceOptions(providers={"aws": aws_provider, "azure-native": azure_provider}))

    # The component's endpoints are keyed by their cloud name; the outputs by the name in the file.
    by_name = {e.name: e for e in plan.endpoints}
    built = {e.name: pe.endpoints[e.identity or e.name] for e in plan.endpoints}
    endpoint_out: dict[str, dict[str, Any]] = {
        name: {"endpointId": out.endpoint_id, "address": out.address, "connectionName": out.connection_name,
               "hostnames": list(by_name[name].hostnames),
               **({"browserAuthEndpointId": out.browser_auth.endpoint_id,
                   "browserAuthAddress": out.browser_auth.address,
                   "browserAuthConnectionName": out.browser_auth.connection_name} if out.browser_auth else {})}
        for name, out in built.items()}

    def endpoint_ids(name: str) -> dict[str, Any]:
        ep = by_name[name]
        out = built[name]
        vpc = vpcs[ep.vpc] if ep.vpc else None
        auth = {"browserAuthEndpointId": out.browser_auth.endpoint_id,
                "browserAuthAddress": out.browser_auth.address} if out.browser_auth else {}
        return {"endpointId": out.endpoint_id, "connectionName": out.connection_name, "address": out.address,
                "privateIp": out.address if ep.cloud == "azure" else "",
                "vpcId": vpc.vpc_id if vpc else "", "region": bridge.aws_region,
                "subscriptionId": bridge.azure_subscription_id, **auth}

    ids: pulumi.Output[Any] = pulumi.Output.from_input({name: endpoint_ids(name) for name in built})

    def render_handoff(values: dict[str, dict[str, str]]) -> str:
        return handoff_text(list(plan.endpoints), values, stack=spec.stack, customer=spec.id,
                            aws_account=bridge.aws.account_id)

    handoff = ids.apply(render_handoff)
    outputs: dict[str, Any] = {
        "kind": "customer",
        "customer": spec.id,
        "bridgeStack": spec.bridge_stack,
        "endpoints": endpoint_out,
        "dnsNames": {h: ep.name for ep in plan.endpoints for h in ep.hostnames},
        # The Route 53 private zones this stack owns: one per name in a platform's domain (docs/dns.md).
        "dnsZones": pe.zone_ids,
        "handoff": handoff,
    }
    for key, value in outputs.items():
        pulumi.export(key, value)
    return outputs
