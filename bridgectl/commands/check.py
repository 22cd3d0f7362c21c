"""bridgectl check STACK: the policy pack's rules over the stack's offline plan (exit 1 on violations)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ORDER = 50


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "check", help="run the policy pack (policy/) over a stack's offline plan",
        description="Run the CrossGuard rules of policy/rules.py over every resource of the stack's offline plan, "
                    "as `pulumi preview --policy-pack policy` would (protection, secret BGP keys, BFD, closed "
                    "endpoints, no public IPs, required tags, routes only toward the planned prefixes). Exit 1 "
                    "when a rule is violated. No cloud, credentials or Pulumi CLI needed.")
    p.add_argument("stacks", nargs="+", metavar="STACK", help="stack name (dev, dev.acme) or path to its file")
    p.add_argument("--policy-config-out", metavar="FILE",
                   help="also write the pack's config for this stack (its planned prefixes) as JSON, for "
                        "`pulumi preview --policy-pack-config FILE` (one stack only)")
    p.add_argument("--json", action="store_true",
                   help='print [{"stack", "resources", "violations", "notEvaluated", "notApplicable"}] as JSON '
                        "(docs/cli.md)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bridgectl.cli import PrerequisiteMissing, UsageError
    from bridgectl.console import atomic_write, check_writable, progress, progress_enabled
    from bridgectl.policycheck import PolicySdkMissing, check_stack, policy_config
    from stacks.loader import project_dir

    project = project_dir(args.project_dir)
    if args.policy_config_out and len(args.stacks) != 1:
        raise UsageError("--policy-config-out writes one stack's config: name exactly one STACK")
    if args.policy_config_out:  # a path that cannot be written is refused before the plans run
        check_writable(Path(args.policy_config_out), option="--policy-config-out")
    results = []
    try:
        with progress(f"checking {args.stacks[0]}", enabled=progress_enabled(args.quiet)) as update:
            for stack in args.stacks:
                update(f"checking {stack}: planning under Pulumi mocks, then the policy pack's rules")
                result, _ = check_stack(project, stack)
                results.append(result)
    except PolicySdkMissing as exc:
        raise PrerequisiteMissing(str(exc)) from None
    if args.policy_config_out:
        atomic_write(Path(args.policy_config_out), json.dumps(policy_config(project, args.stacks[0]), indent=2) + "\n",
                     option="--policy-config-out")
    if args.json:
        print(json.dumps([{"stack": r.stack, "resources": r.resources,
                           "violations": [v.__dict__ for v in r.violations],
                           "notEvaluated": r.not_evaluated, "notApplicable": r.not_applicable} for r in results],
                         indent=2))
    else:
        for r in results:
            if r.violations:
                print(f"{r.stack}: {len(r.violations)} violation(s) in {r.resources} resources")
                for v in r.violations:
                    print(f"  [{v.policy}] {v.message}")
            else:
                print(f"{r.stack}: {r.resources} resources pass every rule")
            for note in r.not_evaluated:
                print(f"  not evaluated: {note}")
            for note in r.not_applicable:
                print(f"  not applicable: {note}")
    return 1 if any(r.violations for r in results) else 0
