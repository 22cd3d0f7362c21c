"""Run the twin from the host: render, start the sandboxes, follow them, collect results, leave nothing.

Each lab runs in a sandbox: ``unshare`` gives :mod:`twin.runner` new PID, mount, network, UTS and IPC
namespaces, so every namespace, veth link, FRR daemon and probe it makes lives inside. Teardown
does not depend on that code behaving:

* the runner is process 1 of its PID namespace: when it exits, for any reason, the kernel kills
  everything else in the sandbox, and the namespaces and links go with their last process;
* ``unshare --kill-child`` kills the runner when unshare dies, and ``setpriv --pdeathsig KILL`` kills
  unshare when this process dies, even by SIGKILL;
* on Ctrl-C, SIGTERM, an error or normal exit, :meth:`Sandbox.stop` asks the runner to stop (it
  kills its daemons and deletes its namespaces) and kills the sandbox if it does not.

The silent-cut scenario without BFD waits out a 90 s hold timer; it runs in its own sandbox (a copy
of the lab with BFD off on that session) while the other scenarios run, so a full run stays
within a few minutes.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import fnmatch
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any, Literal

from stacks.plan import BridgePlan

from .lab import CHARON, DAEMONS, FRR_DIR, KERNEL_LIBIPSEC
from .model import Lab
from .render import build_lab
from .runner import SANDBOX_ENV
from .scenarios import Result, Scenario, exposures, plan_scenarios

# A whole run may take this long before it is stopped (a dev or prod run takes two to four minutes).
RUN_TIMEOUT_S = 600.0
# How long a sandbox gets to stop cleanly before it is killed.
STOP_GRACE_S = 10.0

PROGRAMS = {"ip": "iproute2", "tc": "iproute2", "unshare": "util-linux", "setpriv": "util-linux",
            "mount": "mount"}
INSTALL_HINT = "install it with `apt-get install frr` (Debian package frr, 8.4 or later)"
# The VPN backup's IPsec (twin.render, "the VPN backup's IPsec"): strongSwan's IKE daemon, its userspace
# ESP backend and swanctl, each with the Debian package that has it.
IPSEC_FILES = {CHARON: "strongswan-charon", KERNEL_LIBIPSEC: "libcharon-extra-plugins",
               Path("/usr/sbin/swanctl"): "strongswan-swanctl"}
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def missing_prerequisites(euid: int | None = None, frr_dir: Path = FRR_DIR,
                          which: Callable[[str], str | None] = shutil.which,
                          ipsec_files: dict[Path, str] | None = None, ipsec: bool = True) -> list[str]:
    """What this machine lacks to run the twin, one sentence each with the fix; strongSwan only when the lab
    has VPN tunnels (``ipsec``)."""
    out = []
    if (os.geteuid() if euid is None else euid) != 0:
        out.append("the twin needs root (it creates network namespaces and runs FRR): run it with sudo")
    absent = [d for d in DAEMONS if not os.access(frr_dir / d, os.X_OK)]
    if absent:
        out.append(f"FRR is not installed ({', '.join(str(frr_dir / d) for d in absent)} missing): {INSTALL_HINT}")
    programs = [p for p in PROGRAMS if which(p) is None]
    if programs:
        packages = sorted({PROGRAMS[p] for p in programs})
        out.append(f"missing {', '.join(programs)}: install them with `apt-get install {' '.join(packages)}`")
    files = (IPSEC_FILES if ipsec_files is None else ipsec_files) if ipsec else {}
    absent_ipsec = {path: pkg for path, pkg in files.items() if not path.exists()}
    if absent_ipsec:
        out.append(f"strongSwan is not installed ({', '.join(str(p) for p in absent_ipsec)} missing; the VPN "
                   f"backup's tunnels run IKEv2 and ESP in it): install it with `apt-get install "
                   f"{' '.join(sorted(set(absent_ipsec.values())))}`")
    return out


def select_scenarios(scenarios: list[Scenario], patterns: Iterable[str] | None) -> list[Scenario]:
    """Scenarios whose name or kind matches any of the shell-style patterns (all when there are none)."""
    pats = list(patterns or [])
    if not pats:
        return scenarios
    return [s for s in scenarios if any(fnmatch.fnmatchcase(s.name, p) or s.kind == p for p in pats)]


@dataclass
class Report:
    stack: str
    converged: bool
    checks: list[dict[str, Any]]
    scenarios: list[Result]
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: main lab: from the sandbox's start until every FRR daemon runs (namespaces, links, daemons)
    bring_up_ms: int | None = None
    #: main lab: from the daemons' start until every session and route is in place
    convergence_ms: int | None = None
    #: double failures the plan's topology cannot survive (computed from the plan; not run)
    exposures: list[dict[str, Any]] = field(default_factory=list)
    #: the plan's single points of failure, as validate names them
    single_points: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.converged and not self.problems and all(r.passed for r in self.scenarios)

    def to_json(self) -> dict[str, Any]:
        return {"stack": self.stack, "converged": self.converged,
                "scenarios": [r.to_json() for r in self.scenarios], "checks": self.checks,
                "problems": self.problems, "seconds": round(self.seconds, 1),
                "bringUpMs": self.bring_up_ms, "convergenceMs": self.convergence_ms,
                "singlePoints": self.single_points, "exposures": self.exposures}


Event = dict[str, Any]
_LIVE: set[Sandbox] = set()


class Sandbox:
    """One lab in its own namespaces, running ``python -m twin.runner``."""

    def __init__(self, name: str, lab: Lab, scenarios: list[Scenario], *, keep: Path | None,
                 max_seconds: float, converge_timeout_s: float | None = None) -> None:
        self.name, self.lab, self.scenarios = name, lab, scenarios
        self.job = {"lab": lab.to_json(), "scenarios": [dataclasses.asdict(s) for s in scenarios],
                    "keep": str(keep / name) if keep else None, "max_seconds": max_seconds,
                    # how long the lab may take to converge (None: twin.checks.CONVERGE_TIMEOUT_S)
                    "converge_timeout_s": converge_timeout_s}
        self.proc: subprocess.Popen[str] | None = None
        self.stderr: deque[str] = deque(maxlen=40)
        self.events: list[Event] = []
        self.readers: list[threading.Thread] = []

    def start(self, sink: queue.Queue[tuple[str, Event | None]]) -> None:
        cmd = ["setpriv", "--pdeathsig", "KILL", "--",
               "unshare", "--pid", "--fork", "--kill-child=SIGKILL", "--mount", "--propagation", "private",
               "--mount-proc", "--net", "--uts", "--ipc", "--",
               sys.executable, "-m", "twin.runner"]
        env = {**os.environ, SANDBOX_ENV: "1",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))}
        # Its own session: a Ctrl-C at the terminal reaches this process only, which then stops the
        # sandbox in order.
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env, cwd=PROJECT_ROOT, start_new_session=True)
        _LIVE.add(self)
        assert self.proc.stdin is not None and self.proc.stdout is not None and self.proc.stderr is not None
        self.proc.stdin.write(json.dumps(self.job))
        self.proc.stdin.close()
        self.readers = [threading.Thread(target=self._read_events, args=(self.proc.stdout, sink), daemon=True),
                        threading.Thread(target=self._read_stderr, args=(self.proc.stderr,), daemon=True)]
        for t in self.readers:
            t.start()

    def _read_events(self, stream: IO[str], sink: queue.Queue[tuple[str, Event | None]]) -> None:
        for line in stream:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                self.stderr.append(line.rstrip())
                continue
            self.events.append(event)
            sink.put((self.name, event))
        sink.put((self.name, None))  # end of stream

    def _read_stderr(self, stream: IO[str]) -> None:
        for line in stream:
            self.stderr.append(line.rstrip())

    def _runner_pid(self) -> int | None:
        assert self.proc is not None
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except OSError:
            return None
        return int(children[0]) if children else None

    def stop(self, grace: float = STOP_GRACE_S) -> None:
        """Stop the sandbox: politely, then by force. Safe to call more than once."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            runner = self._runner_pid()
            if runner is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(runner, signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()  # unshare; --kill-child takes the runner and with it the whole sandbox
                proc.wait(10)
        for t in self.readers:
            t.join(5)
        _LIVE.discard(self)


@atexit.register
def _stop_all() -> None:
    for sandbox in list(_LIVE):
        sandbox.stop(grace=2.0)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Let SIGTERM unwind like Ctrl-C, so the sandboxes are stopped in order either way."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


#: what bench compares: the design as planned, the same without BFD on the private path, the VPN alone
Variant = Literal["planned", "no-bfd", "ipsec-only"]


def run(plan: BridgePlan, *, backbone_asn: int | None = None, patterns: Iterable[str] | None = None,
        keep: Path | None = None, on_event: Callable[[str, Event], None] = lambda name, event: None,
        timeout: float = RUN_TIMEOUT_S, variant: Variant = "planned") -> Report:
    """Run the twin of ``plan`` and report; ``patterns`` select scenarios by name or kind. ``variant`` other
    than "planned" renders the lab without BFD on any private session, or with the VPN backup alone."""
    started = time.monotonic()
    main_lab = build_lab(plan, backbone_asn=backbone_asn, private=variant != "ipsec-only",
                         bfd_off=[s.id for s in plan.sessions] if variant == "no-bfd" else ())
    scenarios = select_scenarios(plan_scenarios(main_lab), patterns)
    sandboxes = [Sandbox("main", main_lab, [s for s in scenarios if s.lab == "main"], keep=keep, max_seconds=timeout)]
    for i, sc in enumerate(s for s in scenarios if s.lab == "hold"):
        lab = build_lab(plan, backbone_asn=backbone_asn, bfd_off=[sc.target])
        sandboxes.append(Sandbox(f"hold-{i + 1}", lab, [sc], keep=keep, max_seconds=timeout))

    sink: queue.Queue[tuple[str, Event | None]] = queue.Queue()
    problems: list[str] = []
    with _terminate_as_interrupt():
        try:
            # Every sandbox starts before any reader thread exists in this process.
            for sb in sandboxes:
                sb.start(sink)
            open_streams = len(sandboxes)
            deadline = started + timeout
            while open_streams:
                try:
                    name, event = sink.get(timeout=0.5)
                except queue.Empty:
                    if time.monotonic() > deadline:
                        problems.append(f"the twin did not finish within {timeout:.0f} s")
                        break
                    continue
                if event is None:
                    open_streams -= 1
                else:
                    on_event(name, event)
        finally:
            for sb in sandboxes:
                sb.stop()
    report = _report(plan.stack, sandboxes, scenarios, problems, time.monotonic() - started)
    report.exposures = exposures(main_lab)
    # The plan's single points of the private path; with a VPN backup none of them cuts AWS from Azure.
    covered = " (the VPN backup carries the traffic)" if main_lab.tunnels else ""
    report.single_points = [sp.describe() + covered for sp in main_lab.single_points]
    return report


def _report(stack: str, sandboxes: list[Sandbox], scenarios: list[Scenario], problems: list[str],
            seconds: float) -> Report:
    results: dict[str, Result] = {}
    checks: list[dict[str, Any]] = []
    converged = True
    bring_up_ms = convergence_ms = None
    for sb in sandboxes:
        kinds = {e["event"] for e in sb.events}
        if sb.name == "main":
            started = next((e["t"] for e in sb.events if e["event"] == "routers-started"), None)
            settled = next((e["t"] for e in sb.events if e["event"] == "converged" and e["ok"]), None)
            if started is not None:
                bring_up_ms = round(started * 1000)
                if settled is not None:
                    convergence_ms = round((settled - started) * 1000)
        for e in sb.events:
            if e["event"] == "scenario":
                r = e["result"]
                results[r["name"]] = Result.from_json(r)
            elif e["event"] == "checks" and sb.name == "main":
                checks = e["checks"]
            elif e["event"] == "checks" and not all(c["passed"] for c in e["checks"]):
                failed = [c["name"] for c in e["checks"] if not c["passed"]]
                problems.append(f"{sb.name} lab: checks failed: {', '.join(failed)}")
            elif e["event"] == "converged" and not e["ok"]:
                converged = False
                problems.append(f"{sb.name} lab did not converge: " + "; ".join(e["problems"][:5]))
            elif e["event"] == "error":
                problems.append(f"{sb.name} lab: {e['text']}")
        if "done" not in kinds:
            converged = False
            tail = " | ".join(list(sb.stderr)[-5:])
            code = sb.proc.returncode if sb.proc else None
            problems.append(f"{sb.name} lab stopped before finishing (exit {code})" + (f": {tail}" if tail else ""))
    if sandboxes and any(not c.get("passed") for c in checks):
        converged = False
    if not checks:
        converged = False
    ordered = [results.get(s.name) or Result.not_run(s, "its lab stopped before running it") for s in scenarios]
    return Report(stack, converged, checks, ordered, problems, seconds, bring_up_ms, convergence_ms)
