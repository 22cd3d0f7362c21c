"""One measurement in a fresh interpreter (so imports and memory are the program's own).

    python -m bench.worker plan PROJECT STACK     -> JSON: cold and warm plan times, resources, and
                                                     the time the same number of plain resources
                                                     takes to register under the same mocks
    python -m bench.worker imports                -> JSON: time to import the program's modules
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPEATS = 7


def plain_registration(registrations: list[Any], stack: str) -> float:
    """Seconds to register the same resources as plain ``pulumi.CustomResource`` objects (same
    types, names, inputs and SDK type aliases, no parents) under the same mocks and recording
    monitor: what registering them costs without this project's components, spec, plan, invokes
    and outputs."""
    import asyncio

    import pulumi

    from bridgectl.offline import GC_THRESHOLDS, MockContext, Recorder, offline_mocks, recording_monitor

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # The same collector settings as the offline plan, so the two are compared like with like.
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    mocks = offline_mocks(MockContext(stack=stack))
    pulumi.runtime.set_mocks(mocks, project="bridge", stack=stack, preview=False,
                             monitor=recording_monitor(mocks, Recorder()))
    try:
        start = time.perf_counter()

        @pulumi.runtime.test
        def program() -> None:
            for i, r in enumerate(registrations):
                aliases = [pulumi.Alias(type_=t) for t in r.alias_types]
                pulumi.CustomResource(r.type, f"{r.name}-{i}", dict(r.inputs),
                                      opts=pulumi.ResourceOptions(aliases=aliases or None))

        program()
        return time.perf_counter() - start
    finally:
        pulumi.runtime.reset_options()
        asyncio.set_event_loop(None)
        loop.close()
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def plan(project: str, stack: str) -> dict[str, Any]:
    from bridgectl.offline import ProgramRun, offline_plan

    start = time.perf_counter()
    result = offline_plan(Path(project), stack)
    cold = time.perf_counter() - start
    # Interleaved and repeated; the minimum is the least disturbed by other load on the machine.
    warm_runs, plain_runs = [], []
    for _ in range(REPEATS):
        runs: list[ProgramRun] = []
        start = time.perf_counter()
        offline_plan(Path(project), stack, runs=runs)
        warm_runs.append(time.perf_counter() - start)
        # A customer plan runs its bridge's program too (for the StackReference): replay both.
        registrations = [r for run in runs for r in run.registrations]
        plain_runs.append(plain_registration(registrations, stack))
    return {"stack": stack, "kind": result["kind"], "resources": len(result["resources"]),
            "registered": len(registrations), "coldSeconds": cold, "warmSeconds": min(warm_runs),
            "plainSeconds": min(plain_runs), "warmMedianSeconds": statistics.median(warm_runs),
            "plainMedianSeconds": statistics.median(plain_runs),
            # Each plan and its plain replay run back to back, under the same load: the median of those
            # pairs' ratios is the steadiest figure on a shared machine.
            "pairRatio": statistics.median(w / p for w, p in zip(warm_runs, plain_runs, strict=True))}


def imports() -> dict[str, Any]:
    start = time.perf_counter()
    import stacks.bridge
    import stacks.customer  # noqa: F401

    program_imports = time.perf_counter() - start
    return {"programImportSeconds": program_imports}


def main(argv: list[str]) -> None:
    if argv[0] == "plan":
        out = plan(argv[1], argv[2])
    elif argv[0] == "imports":
        out = imports()
    else:
        raise SystemExit(f"unknown measurement {argv[0]}")
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
