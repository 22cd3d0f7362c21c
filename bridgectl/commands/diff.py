"""bridgectl diff [--base REV] [STACK...]: offline plans of a revision and of the working tree, compared."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ORDER = 30


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "diff", help="compare offline plans of a git revision and the working tree, and flag risks",
        description="Plan the changed stacks (or the named ones) offline at REV and in the working tree, each "
                    "with its own code, and compare them resource by resource: added, removed, changed inputs, "
                    "replacements. Flags risks: a protected resource replaced or removed; a BGP session changed "
                    "(ASN, addresses, VLAN, key, BFD); a renumbered link; a prefix budget past 80% of its limit; "
                    "a bridge stack changed in the same pull request as customer stack files. Exit 1 when risks "
                    "are found. No cloud, credentials or Pulumi CLI needed (docs/ci.md).",
        epilog="Stacks compared when none are named: every stack whose file changed, the customers of a changed "
               "bridge stack file, and every stack when the program changed (__main__.py, Pulumi.yaml, "
               "components/, stacks/, pyproject.toml, uv.lock).")
    p.add_argument("stacks", nargs="*", metavar="STACK", help="stacks to compare (default: the changed ones)")
    p.add_argument("--base", metavar="REV",
                   help="git revision to compare with (default: the merge base of HEAD with origin/main, else "
                        "with main, else HEAD)")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                   help="text for a terminal (default), markdown for a pull-request comment, json for tools")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout")
    p.add_argument("--list", action="store_true",
                   help='only print the stacks that would be compared, as JSON {"bridges", "customers", '
                        '"removed", ...} (no planning; for CI matrices)')
    p.add_argument("--replacement-table", action="store_true",
                   help="print the table of inputs that force a replacement, with sources, and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bridgectl import diff as d
    from bridgectl.cli import PrerequisiteMissing, UsageError
    from stacks.loader import project_dir

    if args.replacement_table:
        for typ, prop, rule in d.replacement_table_rows():
            print(f"{typ}\t{prop}\t{rule.kind}\t{rule.why}\t{rule.source}")
        return 0
    project = project_dir(args.project_dir)
    try:
        if args.list:
            text = json.dumps(d.list_selection(project, args.base, args.stacks), indent=2) + "\n"
            _emit(text, args.output)
            return 0
        report = d.run_diff(project, args.base, args.stacks)
    except d.GitMissing as exc:
        raise PrerequisiteMissing(str(exc)) from None
    except d.DiffInputError as exc:
        raise UsageError(str(exc)) from None
    if args.format == "markdown":
        text = d.render_markdown(report)
    elif args.format == "json":
        text = d.to_json(report)
    else:
        text = d.render_text(report) + "\n"
    _emit(text, args.output)
    if args.output and args.format != "text":
        # Keep the terminal informed even when the report goes to a file (CI logs).
        print(d.render_text(report), file=sys.stderr)
    return 1 if report.all_risks else 0


def _emit(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
