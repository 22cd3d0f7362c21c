"""bridgectl diff [--base REV] [--shard I/N] [STACK...] | --merge REPORT...: offline plans of a revision
and of the working tree, compared."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ORDER = 30
# The defaults of bridgectl/diff.py, repeated so --help imports nothing heavy (tests/test_scale.py checks).
DEFAULT_STACKS_PER_PROCESS = 100
DEFAULT_TIMEOUT = 1800.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "diff", help="compare offline plans of a git revision and the working tree, and flag risks",
        description="Plan the changed stacks (or the named ones) offline at REV and in the working tree, each "
                    "with its own code, and compare them resource by resource: added, removed, changed inputs, "
                    "replacements, which propagate to everything that consumes a replaced resource's ids, "
                    "addresses or keys. Flags risks from the resources themselves: a replacement; a deleted "
                    "customer-facing resource; an in-place change the cloud refuses or that interrupts traffic; "
                    "an endpoint pointed at another service; lower redundancy; BGP session, link and prefix "
                    "budget changes; changes that need two runs (`--rules` lists them all). Exit 1 when risks "
                    "are found. No cloud, credentials or Pulumi CLI needed (docs/ci.md, \"The risk model\").",
        epilog="Stacks compared when none are named: every stack whose file changed, the customers of a changed "
               "bridge stack file, and every stack when the program changed (__main__.py, Pulumi.yaml, "
               "components/, stacks/, pyproject.toml, uv.lock).")
    p.add_argument("stacks", nargs="*", metavar="STACK", help="stacks to compare (default: the changed ones)")
    p.add_argument("--base", metavar="REV",
                   help="git revision to compare with (default: the merge base of HEAD with origin/main, else "
                        "with main, else HEAD)")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                   help="text for a terminal (default), markdown for a pull-request comment, json for tools")
    p.add_argument("--json", action="store_true", help="the same as --format json (docs/cli.md)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout")
    p.add_argument("--list", action="store_true",
                   help='only print the stacks that would be compared, as JSON {"bridges", "customers", '
                        '"removed", ...} (no planning; for CI matrices)')
    p.add_argument("--shard", metavar="I/N",
                   help="compare only slice I of N of the selected stacks (deterministic: every Nth, bridges "
                        "first) and write a partial report (with --format json) for --merge; CI runs the N "
                        "slices in parallel (docs/ci.md, \"How the gate and the deploys scale\")")
    p.add_argument("--merge", nargs="+", metavar="REPORT",
                   help="combine the JSON reports of every shard of one diff into one report with one verdict "
                        "(plans nothing)")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="planning processes at once (default: the machine's cores)")
    p.add_argument("--stacks-per-process", type=int, metavar="N",
                   help="stacks a planning process plans before a fresh one takes over, which bounds memory "
                        f"(default {DEFAULT_STACKS_PER_PROCESS})")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help=f"time one planning process may take (default {DEFAULT_TIMEOUT:.0f})")
    p.add_argument("--rules", action="store_true",
                   help="print every kind of risk the gate reports, with what it means, and exit")
    p.add_argument("--replacement-table", action="store_true",
                   help="print the table of inputs that force a replacement, with sources, and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bridgectl import diff as d
    from bridgectl.cli import PrerequisiteMissing, UsageError
    from stacks.loader import project_dir

    if args.rules:
        from bridgectl.risks import RULES

        for kind, meaning in RULES.items():
            print(f"{kind}\t{meaning}")
        return 0
    if args.replacement_table:
        for typ, prop, rule in d.replacement_table_rows():
            print(f"{typ}\t{prop}\t{rule.kind}\t{rule.why}\t{rule.source}")
        return 0
    from bridgectl.console import check_writable, progress, progress_enabled

    if args.json:
        args.format = "json"
    project = project_dir(args.project_dir)
    if args.output:  # refused before the plans run, not after
        check_writable(Path(args.output), option="-o")
    for flag, value in (("--jobs", args.jobs), ("--stacks-per-process", args.stacks_per_process),
                        ("--timeout", args.timeout)):
        if value is not None and value <= 0:
            raise UsageError(f"{flag} {value:g}: must be more than 0")
    if args.merge and (args.shard or args.list or args.stacks):
        raise UsageError("--merge combines reports already made: give it no stacks, --shard or --list")
    try:
        if args.merge:
            report = d.merge_reports([_read_report(name) for name in args.merge], args.merge)
        elif args.list:
            text = json.dumps(d.list_selection(project, args.base, args.stacks), indent=2) + "\n"
            _emit(text, args.output)
            return 0
        else:
            shard = d.Shard.parse(args.shard) if args.shard else None
            with progress("diff: planning both revisions under Pulumi mocks",
                          enabled=progress_enabled(args.quiet)) as update:
                planner = d.Planner(progress=_eta(update))
                if args.jobs:
                    planner.workers = args.jobs
                if args.stacks_per_process:
                    planner.per_process = args.stacks_per_process
                if args.timeout:
                    planner.timeout = args.timeout
                report = d.run_diff(project, args.base, args.stacks, shard=shard, planner=planner)
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
    return d.verdict(report)


def _eta(update: Callable[[str], None]) -> Callable[[int, int, str], None]:
    """Progress as stacks planned, of how many, and the time left at the pace so far."""
    start = time.monotonic()

    def show(done: int, total: int, what: str) -> None:
        elapsed = time.monotonic() - start
        left = elapsed / done * (total - done) if done else 0.0
        update(f"diff: planned {done} of {total} stack plans ({what}), about {left:.0f} s left")
    return show


def _read_report(name: str) -> dict[str, Any]:
    from bridgectl.cli import UsageError

    try:
        data = json.loads(Path(name).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--merge {name}: cannot be read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise UsageError(f"--merge {name}: not JSON ({exc}); write shard reports with --format json") from None
    if not isinstance(data, dict):
        raise UsageError(f"--merge {name}: not a shard's report")
    return data


def _emit(text: str, output: str | None) -> None:
    if output:
        from bridgectl.console import atomic_write

        atomic_write(Path(output), text, option="-o")
    else:
        sys.stdout.write(text)
