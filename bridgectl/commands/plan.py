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
                    "print a one-line summary, its address plan, its BGP sessions and every resource it registers, "
                    "as a tree like `pulumi preview`. A customer stack's bridge outputs come from the bridge's own "
                    "offline plan.")
    p.add_argument("stack", metavar="STACK", help="stack name (dev, dev.acme) or path to its file")
    p.add_argument("--json", action="store_true",
                   help='print {"stack", "kind", "resources", "outputs", "messages", "notes"} as JSON (secrets as '
                        '"[secret]"; docs/cli.md)')
    p.add_argument("--outputs", action="store_true", help="also print the stack outputs the program exports")
    p.add_argument("--first-run", action="store_true",
                   help="plan the first `pulumi up` of a bridge: the circuit is not provisioned yet, so no "
                        "private peering (the default shows the steady state)")
    p.add_argument("--addresses-only", action="store_true",
                   help="print only the address plan and BGP sessions (no Pulumi run)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bridgectl.console import progress_enabled
    from stacks.loader import project_dir

    return show(project_dir(args.project_dir), args.stack, as_json=args.json, first_run=args.first_run,
                addresses_only=args.addresses_only, with_outputs=args.outputs,
                progress=progress_enabled(args.quiet))


def show(project: Path, stack: str, *, as_json: bool = False, first_run: bool = False,
         addresses_only: bool = False, with_outputs: bool = False, progress: bool = False,
         out: TextIO | None = None) -> int:
    """Print a stack's plan; raises ConfigError for a bad stack (exit 2). The program runs before
    anything is printed, so a stack that cannot be planned prints only its errors."""
    from bridgectl.console import print_json, print_line
    from bridgectl.render import bridge_plan_text, customer_plan_text
    from stacks.loader import load_stack
    from stacks.plan import plan_bridge, plan_customer
    from stacks.spec import BridgeSpec

    out = out or sys.stdout
    loaded = load_stack(project, stack)
    spec = loaded.spec
    detail = ""
    if isinstance(spec, BridgeSpec):
        address_plan = plan_bridge(spec)
        addresses = bridge_plan_text(address_plan, notes=addresses_only)
        detail = f"{len(address_plan.sessions)} BGP sessions"
    else:
        bridge = load_stack(project, spec.bridge_stack).spec
        assert isinstance(bridge, BridgeSpec)
        addresses = customer_plan_text(plan_customer(spec, bridge))
        detail = f"{len(spec.endpoints)} endpoint(s) on bridge {spec.bridge_stack}"
    if not as_json:
        for warning in loaded.warnings:
            print_line(warning.line(loaded.path.name), sys.stderr)
    if addresses_only and not as_json:
        print(addresses, file=out)
        return 0
    plan = run_offline_plan(project, stack, first_run=first_run, progress=progress)
    if as_json:
        print_json(plan, out)
        return 0
    print(summary_line(plan, detail), file=out)
    print("", file=out)
    print(addresses, file=out)
    print("", file=out)
    print(resource_tree(plan), file=out)
    if with_outputs:
        print("", file=out)
        print(outputs_text(plan["outputs"]), file=out)
    print_messages(plan, out)
    return 0


def run_offline_plan(project: Path, stack: str, *, first_run: bool = False, progress: bool = False) -> dict[str, Any]:
    """The offline plan, with a spinner and the elapsed time on stderr while the program runs."""
    from bridgectl.console import progress as spinner
    from bridgectl.offline import offline_plan

    label = f"planning {stack}: running the Pulumi program under mocks"
    with spinner(label, enabled=progress):
        return offline_plan(project, stack, circuit_state="NotProvisioned" if first_run else "Provisioned")


def summary_line(plan: dict[str, Any], detail: str = "") -> str:
    """One line: what the plan would create, under which assumption."""
    resources = plan["resources"]
    custom = sum(1 for r in resources if r["custom"] and not r["type"].startswith("pulumi:providers:"))
    protected = sum(1 for r in resources if r["protect"])
    read = sum(1 for r in resources if r["options"].get("read"))
    parts = [f"{len(resources)} resources ({custom} cloud resources, {protected} protected"
             + (f", {read} read" if read else "") + ")"]
    if detail:
        parts.append(detail)
    return (f"Plan of {plan['kind']} stack {plan['stack']}: " + ", ".join(parts)
            + " (offline, under Pulumi mocks: no cloud was contacted)")


def print_messages(plan: dict[str, Any], out: TextIO) -> None:
    """The program's warnings and the plan's notes, each once."""
    from bridgectl.console import print_line

    seen: set[str] = set()
    for message in plan["messages"]:
        if str(message["message"]).startswith(("warning: ", "error: ")):
            continue  # a config problem the program re-logs: shown above, with its file
        line = f"{message['severity']}: {message['message']}"
        if line not in seen:
            seen.add(line)
            print_line(line, out)
    for note in plan["notes"]:
        if note not in seen:
            seen.add(note)
            print_line(f"note: {note}", out)


def resource_tree(plan: dict[str, Any]) -> str:
    """The resources as a tree of parents and children, like `pulumi preview`, every column headed."""
    from bridgectl.render import table

    resources = plan["resources"]
    children: dict[str | None, list[dict[str, Any]]] = {}
    urns = {r["urn"] for r in resources}
    for r in resources:
        parent = r["parent"] if r["parent"] in urns else None
        children.setdefault(parent, []).append(r)
    rows: list[list[object]] = [["+", "pulumi:pulumi:Stack", f"bridge-{plan['stack']}", ""]]

    def walk(parent: str | None, prefix: str) -> None:
        items = sorted(children.get(parent, []), key=lambda r: (r["custom"], r["type"], r["name"]))
        for i, r in enumerate(items):
            last = i == len(items) - 1
            flags = []
            if r["protect"]:
                flags.append("protect")
            if r["options"].get("read"):
                flags.append("read")
            rows.append(["+", prefix + ("└─ " if last else "├─ ") + r["type"], r["name"], ", ".join(flags)])
            walk(r["urn"], prefix + ("   " if last else "│  "))

    walk(None, "")
    return "Resources (+ create)\n" + table(["op", "type", "name", "options"], rows)


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
