"""bridgectl schema: print or write the JSON Schema of stack files (for editors)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ORDER = 90


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "schema", help="print the JSON Schema of stack files",
        description="Print (or write with -o) the JSON Schema of bridge and customer stack files, generated "
                    "from the same model validate uses. The committed copy is schema/stack.schema.json.")
    p.add_argument("-o", "--output", metavar="FILE", help="write the schema to FILE instead of stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stacks.jsonschema import stack_schema

    text = json.dumps(stack_schema(), indent=2, sort_keys=False) + "\n"
    if args.output:
        from bridgectl.console import atomic_write

        atomic_write(Path(args.output), text, option="-o")
    else:
        print(text, end="")
    return 0
