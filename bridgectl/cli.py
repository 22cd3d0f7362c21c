"""The ``bridgectl`` command line.

Commands live in :mod:`bridgectl.commands`, one module each, found at start-up; a module defines
``ORDER`` (its place in ``--help``) and ``register(subparsers)``, which adds its parser and sets
``func``. Modules import heavy dependencies (Pulumi, the provider SDKs, rich) inside their run
function, so ``--help`` and ``validate`` stay fast.

Exit codes (docs/cli.md): 0 success; 1 a check found problems (risks in a diff, policy violations, a
failed twin property, an invalid customer in a list); 2 bad input (configuration, usage, a path that
cannot be written); 3 a missing prerequisite (root, FRR, Graphviz, git); 130 interrupted (Ctrl-C).
Never a traceback: :func:`main` turns every error into one line on stderr. The conventions a command
follows (atomic writes, ``--json``, progress, colour) are in :mod:`bridgectl.console`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence
from typing import Any

from stacks.problems import ConfigError

from . import commands
from .console import (
    EXIT_FAILED,
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PREREQUISITE,
    OutputError,
    PrerequisiteMissing,
    UsageError,
    print_json,
    print_line,
)

__all__ = ["EXIT_FAILED", "EXIT_INPUT", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_PREREQUISITE", "OutputError",
           "PrerequisiteMissing", "UsageError", "build_parser", "main"]


class _Version(argparse.Action):
    """``--version``: the installed package's version and the Pulumi SDK it plans with."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from importlib.metadata import PackageNotFoundError, version

        parts = []
        for dist in ("bridge", "pulumi", "pulumi-aws", "pulumi-azure-native", "pulumi-equinix"):
            try:
                parts.append(f"{dist} {version(dist)}")
            except PackageNotFoundError:
                parts.append(f"{dist} (not installed)")
        print(f"bridgectl {parts[0].split()[-1]} ({', '.join(parts[1:])}; Python {sys.version.split()[0]})")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bridgectl",
        description="Validate, plan, diff, draw, police and rehearse the AWS-to-Azure bridge's stacks.",
        epilog="Exit codes: 0 ok, 1 a check found problems, 2 bad input, 3 a missing prerequisite, 130 "
               "interrupted. Colour only on a terminal and never with NO_COLOR; shell completion: "
               "`bridgectl completion bash|zsh` (docs/cli.md).")
    parser.add_argument("--version", action=_Version, help="print the version of bridgectl and of the Pulumi SDKs")
    parser.add_argument("-C", "--project-dir", metavar="DIR",
                        help="the Pulumi project directory (default: the nearest with Pulumi.yaml)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    modules = []
    for info in pkgutil.iter_modules(commands.__path__):
        if info.name.startswith("_"):
            continue
        modules.append(importlib.import_module(f"{commands.__name__}.{info.name}"))
    for module in sorted(modules, key=lambda m: (getattr(m, "ORDER", 100), m.__name__)):
        module.register(sub)
    return parser


def _errors_as_json(args: argparse.Namespace, errors: list[dict[str, Any]], code: int) -> None:
    """With --json, a failed command still prints one JSON document: ``{"errors": [...], "exitCode"}``."""
    if getattr(args, "json", False) or getattr(args, "format", None) == "json":
        print_json({"errors": errors, "exitCode": code})


def _message_error(message: str) -> dict[str, Any]:
    return {"severity": "error", "file": None, "path": None, "value": None, "reason": message, "fix": None}


def _quiet_asyncio() -> None:
    """After Ctrl-C inside a Pulumi program the event loop's abandoned tasks are collected later and
    asyncio would log "Task exception was never retrieved" with a traceback; the run is over, so
    nothing it logs matters any more."""
    import logging

    logging.getLogger("asyncio").disabled = True


def _on_interrupt(signum: int, frame: Any) -> None:
    """SIGINT: silence asyncio at once, before the interrupted program's clean-up runs (its tasks are
    collected while the exception unwinds), then stop as Python's default handler does."""
    global _interrupted
    if not _interrupted:
        _interrupted = True
        _quiet_asyncio()
        import threading

        watchdog = threading.Timer(INTERRUPT_GRACE_S, _give_up)
        watchdog.daemon = True
        watchdog.start()
    raise KeyboardInterrupt


# How long the interrupted command may take to unwind. Ctrl-C can land inside a library's machinery
# (the Pulumi SDK's event loop and worker threads) and leave it waiting for work that will never
# come; the user asked to stop, so stop.
INTERRUPT_GRACE_S = 3.0
_interrupted = False
_reported = False


def _give_up() -> None:
    if not _reported:
        print_line("interrupted", sys.stderr)
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def _unraisable(hook: Any) -> None:
    """Python swallows an exception raised in a finalizer or a weakref callback, and prints it: a
    Ctrl-C that lands there would be lost (the command would run on) and show a traceback. Deliver
    it again a moment later, in the main thread's ordinary code; report anything else as Python does."""
    if isinstance(hook.exc_value, KeyboardInterrupt):
        import _thread
        import threading

        threading.Timer(0.01, _thread.interrupt_main).start()
        return
    sys.__unraisablehook__(hook)


def _stdout_gone() -> None:
    """stdout's reader went away (``bridgectl plan dev | head``): send what is left to /dev/null so the
    interpreter's final flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    import signal

    global _interrupted, _reported
    _interrupted = _reported = False

    from bridgectl import _interrupted_while_starting

    if signal.getsignal(signal.SIGINT) in (signal.default_int_handler, _interrupted_while_starting):
        signal.signal(signal.SIGINT, _on_interrupt)
        sys.unraisablehook = _unraisable
    try:
        code = _main(argv)
        if _interrupted and code != EXIT_INTERRUPTED:
            # The interrupt was swallowed on its way (some library code catches BaseException during its
            # clean-up) and the command ran on: still, the user stopped it.
            print_line("interrupted", sys.stderr)
            _reported = True
            return EXIT_INTERRUPTED
        return code
    finally:
        if signal.getsignal(signal.SIGINT) is _on_interrupt:
            # The command is over (its exit code decided): a Ctrl-C while the interpreter shuts down
            # changes nothing, and must not kill it with a signal status instead of that code.
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _main(argv: Sequence[str] | None) -> int:
    global _reported
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        print_line("interrupted", sys.stderr)
        _reported = True
        return EXIT_INTERRUPTED
    try:
        code = args.func(args)
        return EXIT_OK if code is None else int(code)
    except ConfigError as exc:
        for problem in exc.problems:
            print_line(problem.line(exc.source), sys.stderr)
        _errors_as_json(args, [p.as_json(exc.source) for p in exc.problems], EXIT_INPUT)
        return EXIT_INPUT
    except UsageError as exc:  # OutputError too: a path that cannot be written is bad input
        print_line(f"error: {exc}", sys.stderr)
        _errors_as_json(args, [_message_error(str(exc))], EXIT_INPUT)
        return EXIT_INPUT
    except PrerequisiteMissing as exc:
        print_line(f"error: {exc}", sys.stderr)
        _errors_as_json(args, [_message_error(str(exc))], EXIT_PREREQUISITE)
        return EXIT_PREREQUISITE
    except KeyboardInterrupt:
        _quiet_asyncio()
        note = getattr(args, "interrupted_note", None)
        print_line("interrupted" + (f": {note}" if note else ""), sys.stderr)
        _reported = True
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _stdout_gone()
        return EXIT_OK
    except OSError as exc:
        # An I/O error no command anticipated (a file vanished, a disk filled): one line, bad input.
        where = f"{exc.filename}: " if exc.filename else ""
        message = f"{where}{exc.strerror or exc} (fix: check the path, the free space and the permissions)"
        print_line(f"error: {message}", sys.stderr)
        _errors_as_json(args, [_message_error(message)], EXIT_INPUT)
        return EXIT_INPUT
    except Exception as exc:  # a bug: say so in one line, keep the traceback for BRIDGECTL_DEBUG=1
        if os.environ.get("BRIDGECTL_DEBUG"):
            raise
        if _after_interrupt(exc):
            # Ctrl-C cut an import short (a partially initialized module): that is the interrupt.
            print_line("interrupted", sys.stderr)
            return 130
        print_line(f"error: internal error in bridgectl {args.command}: {type(exc).__name__}: {exc} (this is a "
                   "bug; run again with BRIDGECTL_DEBUG=1 for the traceback and report it)", sys.stderr)
        return EXIT_INTERNAL


def _after_interrupt(exc: BaseException) -> bool:
    """Whether a KeyboardInterrupt is in the exception's context chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__context__ or current.__cause__
    return "partially initialized module" in str(exc)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
