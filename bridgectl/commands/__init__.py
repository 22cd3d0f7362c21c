"""One module per bridgectl command; each defines ``register(subparsers)`` and an ``ORDER`` for --help."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stacks.plan import BridgePlan
    from stacks.spec import BridgeSpec


def bridge_plan(args: argparse.Namespace, command: str, needs: str) -> tuple[BridgePlan, BridgeSpec]:
    """The plan and spec of ``args.stack``, a bridge stack; its warnings on stderr. A customer stack is bad
    input for ``command``, which ``needs`` a bridge stack's sessions (the message says what for)."""
    from stacks.loader import load_stack, project_dir
    from stacks.plan import plan_bridge
    from stacks.problems import MISSING, ConfigError, Problem
    from stacks.spec import BridgeSpec

    loaded = load_stack(project_dir(args.project_dir), args.stack)
    for warning in loaded.warnings:
        print(warning.line(loaded.path.name), file=sys.stderr)
    spec = loaded.spec
    if not isinstance(spec, BridgeSpec):
        bridge = getattr(spec, "bridge_stack", "its bridge stack")
        raise ConfigError([Problem(
            "bridge:customer", MISSING, f"is a customer stack: it has no BGP sessions; {needs}",
            f"run `bridgectl {command} {bridge}`, its bridge stack")], loaded.path.name)
    return plan_bridge(spec), spec
