"""bridgectl validate STACK: check a stack file against every rule (exit 0, or 2 with one line per problem)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ORDER = 10


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "validate", help="check stack files against every rule",
        description="Check stack files (bridge or customer) against every rule of docs/stack-config.md. "
                    "Prints warnings and exits 0, or prints one line per problem and exits 2.")
    p.add_argument("stacks", nargs="+", metavar="STACK",
                   help="stack name (dev, dev.acme) or path to a Pulumi.<stack>.yaml")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing when the stack is valid")
    p.add_argument("--json", action="store_true",
                   help='print [{"stack", "file", "kind", "valid", "errors": [...], "warnings": [...]}] on stdout '
                        "(problems still go to stderr; docs/cli.md)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bridgectl.console import print_json
    from stacks.loader import one_snapshot, project_dir

    project = project_dir(args.project_dir)
    report: list[dict[str, Any]] = []
    with one_snapshot():  # a bridge's customer files are read once, however many are validated
        worst = max(_validate_one(args, project, name, report) for name in args.stacks)
    if args.json:
        print_json(report)
    return worst


def _validate_one(args: argparse.Namespace, project: Path, name: str, report: list[dict[str, Any]]) -> int:
    """Validate one stack, print its lines, add its entry to ``report``; 0, or 2 when it is not valid."""
    from bridgectl.console import print_line
    from stacks.loader import load_stack, resolve_stack
    from stacks.problems import ConfigError

    stack, path = resolve_stack(project, name)
    entry: dict[str, Any] = {"stack": stack, "file": path.name, "kind": None, "valid": True, "errors": [],
                             "warnings": []}
    report.append(entry)
    try:
        loaded = load_stack(project, name)
    except ConfigError as exc:
        for problem in exc.problems:
            print_line(problem.line(exc.source), sys.stderr)
        entry["valid"] = False
        entry["errors"] = [p.as_json(exc.source) for p in exc.problems if p.severity == "error"]
        entry["warnings"] = [p.as_json(exc.source) for p in exc.problems if p.severity == "warning"]
        return 2
    entry["kind"] = loaded.spec.kind
    entry["warnings"] = [w.as_json(loaded.path.name) for w in loaded.warnings]
    for warning in loaded.warnings:
        print_line(warning.line(loaded.path.name), sys.stderr)
    if not args.quiet and not args.json:
        extra = f", {len(loaded.warnings)} warning(s)" if loaded.warnings else ""
        print(f"{loaded.path.name}: valid {loaded.spec.kind} stack{extra}")
    return 0
