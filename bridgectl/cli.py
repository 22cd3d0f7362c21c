"""The ``bridgectl`` command line.

Commands live in :mod:`bridgectl.commands`, one module each, found at start-up; a module defines
``ORDER`` (its place in ``--help``) and ``register(subparsers)``, which adds its parser and sets
``func``. Modules import heavy dependencies (Pulumi, the provider SDKs) inside their run function,
so ``--help`` and ``validate`` stay fast.

Exit codes: 0 success; 1 a check found problems (risks in a diff, policy violations, a failed twin
property); 2 bad input (configuration or usage); 3 a missing prerequisite (root, FRR, Graphviz).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from stacks.problems import ConfigError

from . import commands

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INPUT = 2
EXIT_PREREQUISITE = 3


class PrerequisiteMissing(Exception):
    """Something outside the project is missing (root, FRR, Graphviz); the message says how to get it."""


class UsageError(Exception):
    """Bad arguments that argparse cannot catch; the message names the argument and the fix."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bridgectl",
        description="Validate, plan, diff, draw, police and rehearse the AWS-to-Azure bridge's stacks.",
        epilog="Exit codes: 0 ok, 1 a check found problems, 2 bad input, 3 a missing prerequisite.",
    )
    parser.add_argument("-C", "--project-dir", metavar="DIR",
                        help="the Pulumi project directory (default: the nearest with Pulumi.yaml)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    modules = []
    for info in pkgutil.iter_modules(commands.__path__):
        if info.name.startswith("_"):
            continue
        modules.append(importlib.import_module(f"{commands.__name__}.{info.name}"))
    for module in sorted(modules, key=lambda m: (getattr(m, "ORDER", 100), m.__name__)):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
        return EXIT_OK if code is None else int(code)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem.line(exc.source), file=sys.stderr)
        return EXIT_INPUT
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except PrerequisiteMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PREREQUISITE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
