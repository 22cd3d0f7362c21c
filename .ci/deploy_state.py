#!/usr/bin/env python3
"""What the deploy workflow must update, and the record of what it updated (docs/ci.md, "Deploys").

A stack is *deployed at* a revision once `pulumi up` of that revision succeeded in CI. The deploy workflow
records that as the lightweight tag ``deployed/<stack>`` on that revision, moved only forward, so a run
never depends on which merge triggered it:

``select``  the stacks to update at HEAD: every stack without a tag (never deployed by CI), and every stack
            whose files changed between its tag and HEAD (the offline diff's rule,
            ``bridgectl.diff.list_selection``: its stack file, its bridge's stack file, or the program).
            A merge whose run was cancelled while pending, or whose stack failed, is therefore picked up
            by the next run. Writes JSON (bridges first, then customers, with reasons) and, in GitHub
            Actions, the ``bridges``/``customers`` outputs and a step summary.
``guard``   exit 1 when a stack's tag is not an ancestor of HEAD: this run is older than what is deployed
            (a re-run of an old run) and must not roll the stack back.
``record``  for each marker file ``DIR/<stack>`` (written by a deploy job after its `pulumi up`
            succeeded, holding the revision), move ``deployed/<stack>`` to HEAD in one atomic push, each
            tag with a lease on its old value; tags already past HEAD are left alone.

Exit codes: 0 ok, 1 a guard refused, 2 bad input (an unknown stack name, a bad revision).
``select`` needs the project's environment (it imports bridgectl); ``guard`` and ``record`` only git.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

TAG_PREFIX = "refs/tags/deployed/"
# Stack names as Pulumi.<stack>.yaml file names carry them; anything else is refused before it reaches git.
STACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class InputError(Exception):
    """Bad input: exit code 2."""


def git(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise InputError(f"git {' '.join(args)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def head() -> str:
    return git("rev-parse", "HEAD").stdout.strip()


def is_ancestor(old: str, new: str) -> bool:
    return git("merge-base", "--is-ancestor", old, new, check=False).returncode == 0


def deployed_tags() -> dict[str, str]:
    """stack -> commit of its deployed/<stack> tag (annotated tags are peeled)."""
    out = git("for-each-ref", "--format=%(refname)%09%(objectname)%09%(*objectname)", TAG_PREFIX).stdout
    tags: dict[str, str] = {}
    for line in out.splitlines():
        ref, obj, peeled = [*line.split("\t"), "", ""][:3]
        tags[ref[len(TAG_PREFIX):]] = peeled or obj
    return tags


def head_stacks(project: Path) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in project.glob("Pulumi.*.yaml"))


def is_bridge(stack: str) -> bool:
    return "." not in stack


def check_name(stack: str, known: list[str]) -> str:
    if not STACK_NAME.match(stack) or stack not in known:
        raise InputError(f"stack {stack!r}: no Pulumi.{stack}.yaml at this revision "
                         f"(known: {', '.join(known) or 'none'}); name an existing stack")
    return stack


def select(project: Path, named: list[str], base: str | None) -> dict[str, Any]:
    from bridgectl.diff import DiffInputError, list_selection  # the project's environment

    now = head()
    stacks = head_stacks(project)
    tags = deployed_tags()
    reasons: dict[str, str] = {}
    ahead: dict[str, str] = {}
    by_base: dict[str, list[str]] = {}
    for stack in stacks:
        tag = tags.get(stack)
        if tag is None:
            reasons[stack] = f"never deployed by CI (no tag deployed/{stack})"
        elif tag != now:
            by_base.setdefault(tag, []).append(stack)
    for tag, group in sorted(by_base.items()):
        if not is_ancestor(tag, now):
            for stack in group:
                ahead[stack] = tag
            continue
        try:
            changed = list_selection(project, tag, ())
        except DiffInputError as exc:
            raise InputError(str(exc)) from None
        for stack in group:
            if stack in changed["reasons"]:
                reasons[stack] = f"{changed['reasons'][stack]} since deployed/{stack} ({tag[:12]})"
    if base:
        try:
            since = list_selection(project, base, ())
        except DiffInputError as exc:
            raise InputError(str(exc)) from None
        for stack in since["bridges"] + since["customers"]:
            if stack not in ahead:
                reasons.setdefault(stack, f"{since['reasons'][stack]} since {base} (manual run)")
    for name in named:
        stack = check_name(name, stacks)
        if stack in ahead:
            raise InputError(f"stack {stack}: deployed/{stack} ({ahead[stack][:12]}) is not an ancestor of this "
                             "revision; run the deploy workflow on the current main")
        reasons.setdefault(stack, "named in the manual run")
    chosen = sorted(reasons, key=lambda s: (not is_bridge(s), s))
    return {
        "head": now,
        "bridges": [s for s in chosen if is_bridge(s)],
        "customers": [s for s in chosen if not is_bridge(s)],
        "reasons": {s: reasons[s] for s in chosen},
        "ahead": ahead,
        "orphaned": sorted(s for s in tags if s not in stacks),
    }


def write_github_outputs(result: dict[str, Any]) -> None:
    out = os.environ.get("GITHUB_OUTPUT")
    if out:
        with open(out, "a", encoding="utf-8") as fh:
            fh.write(f"bridges={json.dumps(result['bridges'])}\n")
            fh.write(f"customers={json.dumps(result['customers'])}\n")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        lines = ["| stack | why it is deployed |", "|---|---|"]
        lines += [f"| `{s}` | {r} |" for s, r in result["reasons"].items()] or ["| (none) | every stack is deployed |"]
        lines += [f"\n`{s}`: deployed/{s} is at {t[:12]}, newer than this run; left alone."
                  for s, t in result["ahead"].items()]
        lines += [f"\n`{s}`: tag deployed/{s} has no stack file (destroy the stack deliberately, then delete "
                  "the tag)." for s in result["orphaned"]]
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")


def guard(stack: str) -> int:
    if not STACK_NAME.match(stack):
        raise InputError(f"stack {stack!r}: not a stack name")
    tag = deployed_tags().get(stack)
    now = head()
    if tag and not is_ancestor(tag, now):
        print(f"error: deployed/{stack} is at {tag[:12]}, which this run's revision {now[:12]} does not contain: "
              "a newer revision is deployed, and this run would roll it back. Re-run the newest deploy "
              "run instead (or dispatch the workflow on main).", file=sys.stderr)
        return 1
    print(f"{stack}: deployed/{stack} {'at ' + tag[:12] if tag else 'absent'}; this run deploys {now[:12]}")
    return 0


def record(markers: Path, remote: str, dry_run: bool) -> int:
    now = head()
    tags = deployed_tags()
    leases: list[str] = []
    refspecs: list[str] = []
    files = sorted(p for p in markers.iterdir() if p.is_file()) if markers.is_dir() else []
    for marker in files:
        stack = marker.name
        revision = marker.read_text(encoding="utf-8").strip()
        if not STACK_NAME.match(stack) or not Path(f"Pulumi.{stack}.yaml").is_file():
            print(f"warning: marker {marker.name!r} names no stack of this revision; ignored", file=sys.stderr)
            continue
        if revision != now:
            print(f"warning: {stack}: marker for {revision[:12]}, not this run's {now[:12]}; ignored", file=sys.stderr)
            continue
        old = tags.get(stack)
        if old == now:
            continue
        if old and not is_ancestor(old, now):
            print(f"{stack}: deployed/{stack} is already at {old[:12]}, past {now[:12]}; left alone")
            continue
        leases.append(f"--force-with-lease={TAG_PREFIX}{stack}:{old or ''}")
        refspecs.append(f"{now}:{TAG_PREFIX}{stack}")
        print(f"{stack}: deployed/{stack} {old[:12] if old else '(new)'} -> {now[:12]}")
    if not refspecs:
        print("no deployed/* tag to move")
        return 0
    if dry_run:
        return 0
    git("push", "--atomic", "--no-verify", *leases, remote, *refspecs)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=".ci/deploy_state.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_select = sub.add_parser("select", help="the stacks this revision must deploy")
    p_select.add_argument("--stack", action="append", default=[], help="deploy this stack even if unchanged")
    p_select.add_argument("--base", help="also deploy the stacks changed since this revision")
    p_select.add_argument("-o", "--output", type=Path, help="write the JSON here (default: standard output)")
    p_guard = sub.add_parser("guard", help="refuse when a newer revision of STACK is deployed")
    p_guard.add_argument("stack")
    p_record = sub.add_parser("record", help="move deployed/<stack> to HEAD for each marker in DIR")
    p_record.add_argument("markers", type=Path)
    p_record.add_argument("--remote", default="origin")
    p_record.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.command == "select":
            result = select(Path.cwd(), args.stack, args.base)
            text = json.dumps(result, indent=2) + "\n"
            if args.output:
                args.output.write_text(text, encoding="utf-8")
            sys.stdout.write(text)
            write_github_outputs(result)
            return 0
        if args.command == "guard":
            return guard(args.stack)
        return record(args.markers, args.remote, args.dry_run)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
