"""The Pulumi program's entry: read this stack's config once, validate it, plan it, build it.

``__main__.py`` calls :func:`main`. The config comes from the Pulumi engine (the stack file as the
CLI decrypted it); values of secret keys are replaced by opaque markers before validation, so the
spec and the plan never hold a secret in clear. The components read secrets as Pulumi secret
Outputs (``bgpAuthKeys``).

A configuration error is reported one line per problem through the engine's log and the program
stops before registering anything: never a traceback, never a partial deployment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi

from .loader import check_customer
from .problems import ConfigError
from .spec import BridgeSpec, CustomerSpec, Spec, parse_config


def _opaque(value: Any) -> Any:
    """Replace every leaf of a secret config value by a marker the spec treats as a secret."""
    if isinstance(value, dict):
        return {k: _opaque(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_opaque(v) for v in value]
    return {"secure": "[decrypted at deploy time]"}


def runtime_config() -> dict[str, Any]:
    """This stack's config as the engine passed it, structured values decoded, secrets opaque."""
    from pulumi.runtime import config as rc

    raw: dict[str, Any] = {**rc.get_config_env(), **rc.CONFIG.get()}
    secret_keys = set(rc.get_config_secret_keys_env()) | set(rc._SECRET_KEYS.get())
    out: dict[str, Any] = {}
    for key, value in raw.items():
        decoded = value
        if isinstance(value, str) and value[:1] in "{[":
            try:
                decoded = json.loads(value)
            except ValueError:
                decoded = value
        out[key] = _opaque(decoded) if key in secret_keys else decoded
    return out


def load_runtime_spec() -> Spec:
    stack = pulumi.get_stack()
    spec, warnings = parse_config(stack, runtime_config(), source=f"Pulumi.{stack}.yaml")
    for warning in warnings:
        pulumi.log.warn(warning.line())
    return spec


def main() -> None:
    try:
        spec = load_runtime_spec()
        bridge = None
        if isinstance(spec, CustomerSpec):
            # The same checks as `bridgectl validate`: the bridge stack beside this program (the
            # working directory is the project) and the bridge's other customers.
            bridge, warnings = check_customer(Path.cwd(), spec, source=f"Pulumi.{spec.stack}.yaml")
            for warning in warnings:
                pulumi.log.warn(warning.line())
    except ConfigError as exc:
        for problem in exc.problems:
            pulumi.log.error(problem.line(exc.source))
        raise pulumi.RunError(
            "the stack configuration is invalid (see the errors above); nothing was changed. "
            "Run `bridgectl validate` for the same report offline.") from None
    if isinstance(spec, BridgeSpec):
        from .bridge import build_bridge

        build_bridge(spec)
    else:
        from .customer import build_customer

        assert bridge is not None
        build_customer(spec, bridge)
