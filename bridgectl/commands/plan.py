"""bridgectl plan STACK: the offline plan of a stack (address plan, BGP sessions, every resource)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

ORDER = 20


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "plan", help="the offline plan: address plan, BGP sessions and every resource",
        description="Run the stack's Pulumi program under Pulumi's mocks (no CLI, credentials or network) and "
                    "print its address plan, its BGP sessions and every resource it registers, as a tree like "
                    "`pulumi preview`. A customer stack's bridge outputs come from the bridge's own offline plan.")
    p.add_argument("stack", metavar="STACK", help="stack name (dev, dev.acme) or path to its file")
    p.add_argument("--json", action="store_true",
                   help='print {"stack", "kind", "resources", "outputs", ...} as JSON (secrets as "[secret]")')
    p.add_argument("--first-run", action="store_true",
                   help="plan the first `pulumi up` of a bridge: the circuit is not provisioned yet, so no "
                        "private peering (the default shows the steady state)")
    p.add_argument("--addresses-only", action="store_true",
                   help="print only the address plan and BGP sessions (no Pulumi run)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stacks.loader import project_dir

    return show(project_dir(args.project_dir), args.stack, as_json=args.json, first_run=args.first_run,
                addresses_only=args.addresses_only)


def show(project: Path, stack: str, *, as_json: bool = False, first_run: bool = False,
         addresses_only: bool = False, out: TextIO | None = None) -> int:
    """Print a stack's plan; raises ConfigError for a bad stack (exit 2)."""
    from bridgectl.render import bridge_plan_text, customer_plan_text
    from stacks.loader import load_stack
    from stacks.plan import plan_bridge, plan_customer
    from stacks.spec import BridgeSpec

    out = out or sys.stdout
    loaded = load_stack(project, stack)
    spec = loaded.spec
    if not as_json:
        for warning in loaded.warnings:
            print(warning.line(loaded.path.name), file=sys.stderr)
        if isinstance(spec, BridgeSpec):
            print(bridge_plan_text(plan_bridge(spec)), file=out)
        else:
            bridge = load_stack(project, spec.bridge_stack).spec
            assert isinstance(bridge, BridgeSpec)
            print(customer_plan_text(plan_customer(spec, bridge)), file=out)
        if addresses_only:
            return 0
    from bridgectl.offline import offline_plan

    plan = offline_plan(project, stack, circuit_state="NotProvisioned" if first_run else "Provisioned")
    if as_json:
        json.dump(plan, out, indent=2, sort_keys=False)
        out.write("\n")
        return 0
    print("", file=out)
    print(resource_tree(plan), file=out)
    print("", file=out)
    print(outputs_text(plan["outputs"]), file=out)
    for message in plan["messages"]:
        print(f"{message['severity']}: {message['message']}", file=out)
    for note in plan["notes"]:
        print(f"note: {note}", file=out)
    return 0


def resource_tree(plan: dict[str, Any]) -> str:
    """The resources as a tree of parents and children, like `pulumi preview`."""
    resources = plan["resources"]
    children: dict[str | None, list[dict[str, Any]]] = {}
    urns = {r["urn"] for r in resources}
    for r in resources:
        parent = r["parent"] if r["parent"] in urns else None
        children.setdefault(parent, []).append(r)
    rows: list[tuple[str, str, str]] = [("", "pulumi:pulumi:Stack", f"bridge-{plan['stack']}")]

    def walk(parent: str | None, prefix: str) -> None:
        items = sorted(children.get(parent, []), key=lambda r: (r["custom"], r["type"], r["name"]))
        for i, r in enumerate(items):
            last = i == len(items) - 1
            flags = []
            if r["protect"]:
                flags.append("protect")
            if r["options"].get("read"):
                flags.append("read")
            rows.append((prefix + ("└─ " if last else "├─ "), r["type"], r["name"] + (
                f"  [{', '.join(flags)}]" if flags else "")))
            walk(r["urn"], prefix + ("   " if last else "│  "))

    walk(None, "")
    width = max(len(a) + len(b) for a, b, _ in rows) + 2
    lines = [f"Offline plan of stack {plan['stack']} ({plan['kind']}): {len(resources)} resources "
             "(run under Pulumi mocks; no cloud was contacted)", "", f"    {'Type'.ljust(width)}Name"]
    for branch, typ, name in rows:
        lines.append(f" +  {(branch + typ).ljust(width)}{name}")
    return "\n".join(lines)


def outputs_text(outputs: dict[str, Any]) -> str:
    import yaml

    lines = ["Outputs:"]
    for key, value in outputs.items():
        if isinstance(value, str) and "\n" in value:
            lines.append(f"    {key}: |")
            lines.extend(f"        {line}" for line in value.splitlines())
        elif isinstance(value, dict | list) and value:
            lines.append(f"    {key}:")
            text = yaml.safe_dump(value, sort_keys=False, default_flow_style=False, width=200)
            lines.extend(f"        {line}" for line in text.splitlines())
        else:
            lines.append(f"    {key}: {json.dumps(value)}")
    return "\n".join(lines)
