"""Run the policy pack's rules (policy/rules.py) over an offline plan, as the engine would over a preview.

Each resource of the plan becomes the arguments a policy receives from ``pulumi preview``: its inputs
as camelCase props behind pulumi_policy's unknown-checking proxy (``[unknown]`` in the plan becomes
the engine's unknown sentinel), its options (protect, additionalSecretOutputs, ...), its provider;
stack policies get every resource with its parent and dependencies. Secrets read ``[secret]`` in the
plan, which lets the key rule also catch keys written in plain text (``plaintextVisible``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

UNKNOWN_MARK = "[unknown]"


class PolicySdkMissing(Exception):
    """pulumi-policy is not installed (it is a dev dependency)."""


@dataclass(frozen=True)
class Violation:
    policy: str
    name: str
    type: str
    urn: str
    message: str


@dataclass
class CheckResult:
    stack: str
    violations: list[Violation] = field(default_factory=list)
    not_evaluated: list[str] = field(default_factory=list)
    not_applicable: list[str] = field(default_factory=list)
    resources: int = 0


def load_rules() -> Any:
    try:
        from policy import rules
    except ImportError as exc:
        raise PolicySdkMissing(f"the policy pack needs pulumi-policy ({exc}); install the dev dependencies: "
                               "uv sync --group dev") from None
    return rules


def policy_config(project: Path, stack: str) -> dict[str, Any]:
    """The pack's config for a stack, from its address plan: the same file feeds ``pulumi preview
    --policy-pack-config`` in CI."""
    from stacks.loader import load_stack
    from stacks.plan import plan_bridge
    from stacks.spec import BridgeSpec

    spec = load_stack(project, stack).spec
    bridge = spec if isinstance(spec, BridgeSpec) else load_stack(project, spec.bridge_stack).spec
    assert isinstance(bridge, BridgeSpec)
    plan = plan_bridge(bridge)
    prefixes = [str(p) for p in plan.azure_prefixes]
    backup = [str(p) for p in plan.backup.to_azure] if plan.backup is not None else []
    return {"routes-to-planned-prefixes": {"plannedPrefixes": prefixes, "backupPrefixes": backup}}


def _seconds(text: str | None) -> float:
    if not text:
        return 0.0
    total = 0.0
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)([hms])", text):
        total += float(amount) * {"h": 3600, "m": 60, "s": 1}[unit]
    return total


def _engine_values(value: Any) -> Any:
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    if value == UNKNOWN_MARK:
        return UNKNOWN_STRING_VALUE
    if isinstance(value, dict):
        return {k: _engine_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_engine_values(v) for v in value]
    return value


def _props(resource: dict[str, Any]) -> Any:
    from pulumi_policy.proxy import unknown_checking_proxy

    return unknown_checking_proxy(_engine_values(resource.get("inputs") or {}))


def _options(resource: dict[str, Any]) -> Any:
    from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions

    opts = resource.get("options") or {}
    timeouts = opts.get("customTimeouts") or {}
    return PolicyResourceOptions(
        protect=bool(resource.get("protect")), ignore_changes=list(opts.get("ignoreChanges", [])),
        delete_before_replace=opts.get("deleteBeforeReplace"), aliases=[],
        custom_timeouts=PolicyCustomTimeouts(_seconds(timeouts.get("create")), _seconds(timeouts.get("update")),
                                             _seconds(timeouts.get("delete"))),
        additional_secret_outputs=list(opts.get("additionalSecretOutputs", [])), parent=resource.get("parent"))


def check_resources(stack: str, resources: Sequence[dict[str, Any]], config: dict[str, Any] | None = None, *,
                    offline: bool = True) -> CheckResult:
    """Run every rule over plan-shaped resources (``offline_plan(...)["resources"]``)."""
    rules = load_rules()  # first: it reports a missing pulumi-policy as a prerequisite
    from pulumi_policy import (
        PolicyProviderResource,
        PolicyResource,
        ResourceValidationArgs,
        ResourceValidationPolicy,
        StackValidationArgs,
        StackValidationPolicy,
    )
    from pulumi_policy.proxy import UnknownValueError

    config = dict(config or {})
    if offline:
        config.setdefault("bgp-keys-secret", {})["plaintextVisible"] = True
        config.setdefault("vpn-keys-secret", {})["plaintextVisible"] = True
    result = CheckResult(stack, resources=len(resources))
    by_urn = {r["urn"]: r for r in resources}

    def provider_of(r: dict[str, Any]) -> Any:
        ref = r.get("provider")
        urn = ref.rsplit("::", 1)[0] if ref else None
        p = by_urn.get(urn) if urn else None
        if p is None:
            return None
        return PolicyProviderResource(p["type"], _props(p), p["urn"], p["name"])

    def run(policy: Any, args: Any, urn: str, name: str, typ: str) -> None:
        def report(message: str, urn_: str | None = None) -> None:
            target = by_urn.get(urn_ or urn, {"name": name, "type": typ})
            result.violations.append(Violation(policy.name, target["name"], target["type"], urn_ or urn, message))

        try:
            policy.validate(args, report)
        except UnknownValueError as exc:
            result.not_evaluated.append(f"{policy.name} on {name}: {exc.message}")
        except Exception as exc:
            if type(exc).__name__ == "_NotApplicableError":
                result.not_applicable.append(f"{policy.name}: {getattr(exc, 'reason', '') or 'not applicable'}")
                return
            raise

    resource_policies = [p for p in rules.POLICIES if isinstance(p, ResourceValidationPolicy)]
    stack_policies = [p for p in rules.POLICIES if isinstance(p, StackValidationPolicy)]
    for r in resources:
        for policy in resource_policies:
            args = ResourceValidationArgs(r["type"], _props(r), r["urn"], r["name"], _options(r), provider_of(r),
                                          config=config.get(policy.name, {}))
            run(policy, args, r["urn"], r["name"], r["type"])

    objects: dict[str, Any] = {}
    for r in resources:
        objects[r["urn"]] = PolicyResource(r["type"], _props(r), r["urn"], r["name"], _options(r), provider_of(r),
                                           None, [], {})
    for r in resources:
        obj = objects[r["urn"]]
        obj.parent = objects.get(r.get("parent") or "")
        obj.dependencies = [objects[d] for d in r.get("dependsOn", []) if d in objects]
    for policy in stack_policies:
        args = StackValidationArgs(list(objects.values()), config=config.get(policy.name, {}))
        run(policy, args, "", stack, "pulumi:pulumi:Stack")
    # Each not-applicable reason once per policy.
    result.not_applicable = sorted(set(result.not_applicable))
    return result


def check_stack(project: Path, stack: str) -> tuple[CheckResult, dict[str, Any]]:
    """The rules over a stack's offline plan; returns the result and the policy config used."""
    from bridgectl.offline import offline_plan

    config = policy_config(project, stack)
    plan = offline_plan(project, stack)
    return check_resources(plan["stack"], plan["resources"], config), config


def normal_prefixes(prefixes: Sequence[str]) -> list[str]:
    return [str(ipaddress.ip_network(p, strict=False)) for p in prefixes]
