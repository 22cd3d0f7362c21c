"""Run components under Pulumi's mocks and look at what they registered (no CLI, no cloud).

Mocks are process-global in Pulumi, so every run sets them, uses its own event loop and resets
them afterwards (pytest imports all test modules first; module-level mocks would leak).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi

from bridgectl.offline import MockContext, Recorder, Registration, drain, offline_mocks, recording_monitor


@dataclass
class Run:
    registrations: list[Registration]
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    value: Any = None

    def of_type(self, typ: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == typ]

    def one(self, typ: str, name: str | None = None) -> Registration:
        found = [r for r in self.of_type(typ) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {typ} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.registrations if r.urn == urn)

    def depends(self, dependent: Registration, dependency: Registration) -> bool:
        return dependency.urn in dependent.depends_on


def run_components(build: Callable[[], Any], ctx: MockContext | None = None) -> Run:
    """Call ``build`` under mocks; it may return an awaitable/Output (awaited, so assertions in an
    ``apply`` fail the test)."""
    ctx = ctx or MockContext(stack="test", fcr_asn=65100)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    recorder = Recorder()
    mocks = offline_mocks(ctx)
    calls: list[tuple[str, dict[str, Any]]] = []
    original_call = mocks.call

    def recording_call(args: pulumi.runtime.MockCallArgs) -> Any:
        calls.append((args.token, dict(args.args)))
        return original_call(args)

    mocks.call = recording_call
    monitor = recording_monitor(mocks, recorder)
    run = Run(recorder.registrations, calls)
    try:
        pulumi.runtime.set_mocks(mocks, project="bridge", stack=ctx.stack, preview=False, monitor=monitor)

        @pulumi.runtime.test
        def go() -> Any:
            run.value = build()
            return run.value if isinstance(run.value, pulumi.Output) else None

        go()
    finally:
        pulumi.runtime.reset_options()
        drain(loop)
        asyncio.set_event_loop(None)
        loop.close()
    return run


async def resolved(output: pulumi.Output[Any]) -> tuple[Any, bool]:
    """An Output's value and whether it is secret."""
    return await output.future(), await output.is_secret()


#: a small customer stack of the dev bridge, as a file (the diff and gate tests add it)
GLOBEX = """\
config:
  aws:region: us-east-1
  azure-native:location: eastus2
  azure-native:subscriptionId: 00000000-0000-0000-0000-000000000000
  bridge:customer:
    id: globex
    bridgeStack: dev
    endpoints:
      - name: snowflake
        platform: snowflake
        cloud: azure
        service: sf-pvlinksvc-eastus2.a1b2c3d4-e5f6-7a8b-9c0d-e1f2a3b4c5d6.eastus2.azure.privatelinkservice
        hostnames:
          - globex-zz99999.east-us-2.privatelink.snowflakecomputing.com
"""
