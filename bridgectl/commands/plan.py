"""bridgectl plan STACK: the stack's address plan and BGP sessions (and, offline, every resource)."""

from __future__ import annotations

import argparse

ORDER = 20


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "plan", help="show a stack's address plan, BGP sessions and resources",
        description="Validate the stack and print its address plan and BGP sessions.")
    p.add_argument("stack", metavar="STACK", help="stack name (dev, dev.acme) or path to its file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from bridgectl.render import bridge_plan_text, customer_plan_text
    from stacks.loader import load_stack, project_dir
    from stacks.plan import plan_bridge, plan_customer
    from stacks.spec import BridgeSpec

    project = project_dir(args.project_dir)
    loaded = load_stack(project, args.stack)
    for warning in loaded.warnings:
        print(warning.line(loaded.path.name), file=sys.stderr)
    spec = loaded.spec
    if isinstance(spec, BridgeSpec):
        print(bridge_plan_text(plan_bridge(spec)))
    else:
        bridge = load_stack(project, spec.bridge_stack).spec
        assert isinstance(bridge, BridgeSpec)
        print(customer_plan_text(plan_customer(spec, bridge)))
    return 0
