#!/usr/bin/env python3
"""How the workflows fan stacks out under GitHub Actions' matrix limit (docs/ci.md, "How the gate and
the deploys scale").

A matrix makes at most 256 jobs per workflow run
(https://docs.github.com/en/actions/writing-workflows/choosing-what-your-workflow-does/running-variations-of-jobs-in-a-workflow),
and a bridge can have a thousand customers. So stacks go to jobs in batches:

``batches FILE KEY... [--max-jobs N]``
    the stacks listed under KEY... of the JSON object in FILE (in that order: bridges before
    customers), cut into at most N consecutive batches of near-equal size; prints
    ``[{"index": 1, "stacks": "a b c", "count": 3}, ...]`` (an empty list when there are none).
``shards FILE KEY... [--per-shard N] [--max M]``
    how many shards ``bridgectl diff --shard I/N`` should run for those stacks: one per N stacks,
    at most M, at least one; prints ``[1, 2, ..., N]``.
``limit FILE KEY... --max N``
    the first N of those stacks, as a JSON list (the real previews, which comment once per stack).

Only the standard library: the workflows run it before anything is installed. Exit 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

#: GitHub Actions' limit on the jobs one matrix generates
MATRIX_LIMIT = 256


def stacks_of(data: Any, keys: list[str]) -> list[str]:
    if not isinstance(data, dict):
        raise ValueError("the file must hold a JSON object (bridgectl diff --list, deploy_state.py select)")
    out: list[str] = []
    for key in keys:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
            raise ValueError(f"{key}: expected a list of stack names")
        out += [s for s in value if s not in out]
    return out


def batches(stacks: list[str], max_jobs: int) -> list[dict[str, Any]]:
    """At most ``max_jobs`` consecutive batches, sizes differing by at most one, order kept."""
    if not 1 <= max_jobs <= MATRIX_LIMIT:
        raise ValueError(f"--max-jobs {max_jobs}: must be 1 to {MATRIX_LIMIT} (GitHub's matrix limit)")
    if not stacks:
        return []
    jobs = min(max_jobs, len(stacks))
    size, extra = divmod(len(stacks), jobs)
    out, start = [], 0
    for i in range(jobs):
        end = start + size + (1 if i < extra else 0)
        out.append({"index": i + 1, "stacks": " ".join(stacks[start:end]), "count": end - start})
        start = end
    return out


def shards(count: int, per_shard: int, max_shards: int) -> list[int]:
    if per_shard < 1 or not 1 <= max_shards <= MATRIX_LIMIT:
        raise ValueError(f"--per-shard must be at least 1 and --max 1 to {MATRIX_LIMIT}")
    return list(range(1, max(1, min(max_shards, -(-count // per_shard))) + 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=".ci/batches.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("batches", "shards", "limit"):
        p = sub.add_parser(name)
        p.add_argument("file")
        p.add_argument("keys", nargs="+")
        if name == "batches":
            p.add_argument("--max-jobs", type=int, default=64)
        if name == "shards":
            p.add_argument("--per-shard", type=int, default=100)
            p.add_argument("--max", type=int, default=20)
        if name == "limit":
            p.add_argument("--max", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        stacks = stacks_of(json.loads(Path(args.file).read_text(encoding="utf-8")), args.keys)
        if args.command == "batches":
            result: Any = batches(stacks, args.max_jobs)
        elif args.command == "shards":
            result = shards(len(stacks), args.per_shard, args.max)
        else:
            if not 0 <= args.max <= MATRIX_LIMIT:
                raise ValueError(f"--max {args.max}: must be 0 to {MATRIX_LIMIT}")
            result = stacks[:args.max]
    except (OSError, ValueError) as exc:
        print(f"error: {args.file}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
