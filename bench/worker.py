"""One measurement in a fresh interpreter (so imports and memory are the program's own).

    python -m bench.worker plan PROJECT STACK     -> JSON: cold and warm plan times, resources, the
                                                     time the same number of plain resources takes
                                                     to register under the same mocks, and the
                                                     Python function calls of one plan
    python -m bench.worker imports                -> JSON: time to import the program's modules
"""

from __future__ import annotations

import cProfile
import gc
import importlib
import json
import pstats
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPEATS = 11


def _snake(name: str) -> str:
    """Wire name to Python name: peerASN -> peer_asn, publicIPAllocationMethod -> public_ip_allocation_method."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def _snake_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {_snake(k): _snake_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake_keys(v) for v in value]
    return value


def sdk_class(token: str) -> type | None:
    """The provider SDK class of a type token (aws:ec2transitgateway/transitGateway:TransitGateway ->
    pulumi_aws.ec2transitgateway.TransitGateway)."""
    package, module, cls = token.split(":")
    roots = {"aws": "pulumi_aws", "azure-native": "pulumi_azure_native", "equinix": "pulumi_equinix",
             "random": "pulumi_random"}
    if package not in roots:
        return None
    path = module.split("/")[0]
    mod = importlib.import_module(roots[package] if path == "index" else f"{roots[package]}.{path}")
    found = getattr(mod, cls, None)
    return found if isinstance(found, type) else None


def plain_resource(reg: Any, index: int) -> None:
    """One recorded resource created plainly: its provider SDK class with the same inputs (generic
    CustomResource with the SDK's type aliases where the class is not found), flat, no options."""
    import pulumi

    cls = sdk_class(reg.type) if reg.custom else None
    if cls is not None:
        try:
            cls(f"{reg.name}-{index}", **_snake_keys(dict(reg.inputs)))
            return
        except TypeError:
            pass  # an input whose Python name the conversion missed: register it generically
    aliases = [pulumi.Alias(type_=t) for t in reg.alias_types]
    pulumi.CustomResource(reg.type, f"{reg.name}-{index}", dict(reg.inputs),
                          opts=pulumi.ResourceOptions(aliases=aliases or None))


def plain_registration(registrations: list[Any], stack: str) -> float:
    """Seconds to create the same resources plainly (see :func:`plain_resource`), under the same
    mocks, recording monitor and runtime settings: what registering them costs without this
    project's components, dependencies, spec, plan, invokes and exports."""
    import asyncio

    import pulumi

    from bridgectl.offline import MockContext, Recorder, offline_mocks, offline_runtime, recording_monitor

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    mocks = offline_mocks(MockContext(stack=stack))
    start = time.perf_counter()
    # The same runtime settings as the offline plan, so the two are compared like with like; the
    # clock stops once the runtime is left, as the plan's does, so each pays for its own garbage.
    with offline_runtime():
        pulumi.runtime.set_mocks(mocks, project="bridge", stack=stack, preview=False,
                                 monitor=recording_monitor(mocks, Recorder()))
        try:

            @pulumi.runtime.test
            def program() -> None:
                for i, r in enumerate(registrations):
                    plain_resource(r, i)

            program()
        finally:
            pulumi.runtime.reset_options()
            asyncio.set_event_loop(None)
            loop.close()
    return time.perf_counter() - start


def plan(project: str, stack: str) -> dict[str, Any]:
    from bridgectl.offline import ProgramRun, offline_plan

    start = time.perf_counter()
    result = offline_plan(Path(project), stack)
    cold = time.perf_counter() - start
    # Interleaved and repeated; the minimum is the least disturbed by other load on the machine.
    # Each timed run starts from a collected heap, so neither pays for the garbage the other left.
    warm_runs, plain_runs = [], []
    for _ in range(REPEATS):
        runs: list[ProgramRun] = []
        gc.collect()
        start = time.perf_counter()
        offline_plan(Path(project), stack, runs=runs)
        warm_runs.append(time.perf_counter() - start)
        # A customer plan runs its bridge's program too (for the StackReference): replay both.
        registrations = [r for run in runs for r in run.registrations]
        gc.collect()
        plain_runs.append(plain_registration(registrations, stack))
    # Python function calls of one plan: a measure of the work that machine noise does not move.
    profile = cProfile.Profile()
    profile.enable()
    offline_plan(Path(project), stack)
    profile.disable()
    calls = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]  # set by Stats, not in typeshed
    return {"stack": stack, "kind": result["kind"], "resources": len(result["resources"]), "pythonCalls": calls,
            "registered": len(registrations), "coldSeconds": cold, "warmSeconds": min(warm_runs),
            "plainSeconds": min(plain_runs), "warmMedianSeconds": statistics.median(warm_runs),
            "plainMedianSeconds": statistics.median(plain_runs),
            "warmRuns": warm_runs, "plainRuns": plain_runs,
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
