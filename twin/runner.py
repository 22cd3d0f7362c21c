"""The twin inside its sandbox: build the lab, converge, check, run the scenarios, report.

:mod:`twin.sandbox` starts ``python -m twin.runner`` as process 1 of fresh PID, mount, network, UTS
and IPC namespaces. It reads its job (JSON) on stdin and writes events, one JSON object a line, on
stdout. It refuses to run anywhere else, because it mounts over /run.

Whatever happens here, nothing outlives the sandbox: when process 1 of a PID namespace exits the
kernel kills every other process in it, and the namespaces (with their links) go with them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import Any

from .checks import CONVERGE_TIMEOUT_S, converged_checks, unconverged_checks, wait_converged
from .lab import LabError, RunningLab
from .model import Lab, from_data
from .render import RUN_DIR
from .scenarios import Result, Scenario, converged_before, execute

SANDBOX_ENV = "BRIDGE_TWIN_SANDBOX"
# Private tmpfs mounts: /run (named namespaces, FRR's sockets and pids, the lab's configs and logs)
# and /var/tmp (FRR's per-process crash buffers). Nothing the lab writes there reaches the host.
PRIVATE_MOUNTS = ("/run", "/var/tmp")

_T0 = time.monotonic()


class Interrupted(Exception):
    pass


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, "t": round(time.monotonic() - _T0, 3), **fields}), flush=True)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name)


def _private_mounts() -> None:
    for target in PRIVATE_MOUNTS:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755,size=256m", "twin", target], check=True)


def _keep(rl: RunningLab, keep: str, results: list[Result]) -> None:
    dest = Path(keep)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(RUN_DIR, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.vici"))
    (dest / "lab.json").write_text(rl.lab.to_json(), encoding="utf-8")
    (dest / "results.json").write_text(json.dumps([r.to_json() for r in results], indent=1), encoding="utf-8")


def run_job(job: dict[str, Any]) -> int:
    lab = Lab.from_json(job["lab"])
    scenarios = [from_data(Scenario, s) for s in job["scenarios"]]
    rl = RunningLab(lab)
    results: list[Result] = []
    try:
        emit("progress", text=f"building {len(lab.nodes)} namespaces and {len(lab.links)} links")
        rl.build()
        emit("progress", text=f"starting FRR on {len(lab.routers)} routers")
        rl.start_routers()
        emit("routers-started")
        rl.start_echo(float(job["max_seconds"]))
        problems = wait_converged(rl, float(job.get("converge_timeout_s") or CONVERGE_TIMEOUT_S))
        emit("converged", ok=not problems, problems=problems[:10])
        checks = converged_checks(rl) if not problems else unconverged_checks(rl)
        emit("checks", checks=[c.to_json() for c in checks])
        converged = not problems and all(c.passed for c in checks)
        why_not = "the lab did not converge" if not converged else ""
        for sc in scenarios:
            if why_not:
                results.append(Result.not_run(sc, why_not))
            else:
                emit("scenario-start", name=sc.name)
                try:
                    left = converged_before(rl)
                    if left:
                        raise LabError("the lab was not converged: " + "; ".join(left[:3]))
                    result = execute(rl, sc, say=lambda text: emit("progress", text=text))
                except LabError as exc:
                    result = Result(sc.name, sc.kind, sc.target, False, detail=str(exc), failures=[str(exc)],
                                    healed=False, single_points=list(sc.exercises))
                results.append(result)
                if not result.healed:
                    why_not = f"the lab did not heal after {sc.name}"
            emit("scenario", result=results[-1].to_json())
        emit("done", converged=converged, problems=problems[:10])
        return 0
    finally:
        if job.get("keep"):
            try:
                _keep(rl, job["keep"], results)
            except OSError as exc:
                emit("progress", text=f"could not keep the lab's files: {exc}")
        rl.teardown()


def main() -> int:
    if os.getpid() != 1 or os.environ.get(SANDBOX_ENV) != "1":
        print("twin.runner runs only inside the sandbox bridgectl twin creates", file=sys.stderr)
        return 2
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    try:
        job = json.loads(sys.stdin.read())
        _private_mounts()
        return run_job(job)
    except Interrupted as exc:
        emit("error", text=f"interrupted ({exc})")
        return 130
    except Exception as exc:  # reported to the host, which shows it; the sandbox dies either way
        traceback.print_exc()
        emit("error", text=f"{type(exc).__name__}: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
