"""bridgectl validate STACK: check a stack file against every rule (exit 0, or 2 with one line per problem)."""

from __future__ import annotations

import argparse
import sys

ORDER = 10


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "validate", help="check stack files against every rule",
        description="Check stack files (bridge or customer) against every rule of docs/stack-config.md. "
                    "Prints warnings and exits 0, or prints one line per problem and exits 2.")
    p.add_argument("stacks", nargs="+", metavar="STACK",
                   help="stack name (dev, dev.acme) or path to a Pulumi.<stack>.yaml")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing when the stack is valid")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stacks.loader import load_stack, project_dir
    from stacks.problems import ConfigError

    project = project_dir(args.project_dir)
    worst = 0
    for name in args.stacks:
        try:
            loaded = load_stack(project, name)
        except ConfigError as exc:
            for problem in exc.problems:
                print(problem.line(exc.source), file=sys.stderr)
            worst = 2
            continue
        for warning in loaded.warnings:
            print(warning.line(loaded.path.name), file=sys.stderr)
        if not args.quiet:
            kind = loaded.spec.kind
            extra = f", {len(loaded.warnings)} warning(s)" if loaded.warnings else ""
            print(f"{loaded.path.name}: valid {kind} stack{extra}")
    return worst
