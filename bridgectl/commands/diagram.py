"""bridgectl diagram STACK -o FILE.svg|FILE.png: the stack's topology as a picture (Graphviz)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ORDER = 40


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "diagram", help="draw the topology of a stack (SVG or PNG, with Graphviz)",
        description="Draw a stack from its address plan: clouds, routers, every BGP link with its /30, the "
                    "address of each end, both ASNs, BFD and the VLAN, and which ExpressRoute link is primary. "
                    "A customer stack shows its endpoints, where they live and the names that resolve to them. "
                    "Needs Graphviz's dot (Debian package graphviz) except for -o FILE.dot.")
    p.add_argument("stack", metavar="STACK", help="stack name (dev, dev.acme) or path to its file")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="FILE.svg, FILE.png or FILE.dot (default: DOT source on stdout)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bridgectl.cli import PrerequisiteMissing, UsageError
    from bridgectl.console import check_writable
    from bridgectl.diagram import FORMATS, DotFailed, DotMissing, render, stack_dot
    from stacks.loader import project_dir

    output = Path(args.output) if args.output else None
    fmt = output.suffix.lstrip(".").lower() if output else "dot"
    if fmt not in FORMATS:
        raise UsageError(f"-o {args.output}: the file name must end in .svg, .png or .dot")
    if output is not None:
        check_writable(output, option="-o")
    text = stack_dot(project_dir(args.project_dir), args.stack)
    if output is None:
        sys.stdout.write(text)
        return 0
    try:
        render(text, output, fmt)
    except DotMissing as exc:
        raise PrerequisiteMissing(str(exc)) from None
    except DotFailed as exc:  # the DOT text is ours: a failure is Graphviz's, a prerequisite that does not work
        raise PrerequisiteMissing(f"{exc} (fix: reinstall Graphviz: apt-get install --reinstall graphviz)") from None
    print(f"wrote {output}")
    return 0
