"""The conventions every ``bridgectl`` command follows, in one place (docs/cli.md describes them).

* Exit codes (:data:`EXIT_OK` ...): 0 ok, 1 a check found problems, 2 bad input, 3 a missing
  prerequisite, 130 interrupted. A command returns 0 or 1, and raises for the others:
  :class:`stacks.problems.ConfigError` or :class:`UsageError` (2), :class:`PrerequisiteMissing` (3);
  :func:`bridgectl.cli.main` turns each into one line on stderr and its exit code.
* Files are written with :func:`atomic_write` (a temporary file beside the target, then a rename):
  an interrupted or failed write leaves the old file, or none; a path that cannot be written is
  bad input (:class:`OutputError`, exit 2).
* ``--json`` prints one JSON document on stdout with :func:`print_json` (docs/cli.md has the shape
  of each command's).
* :func:`progress` shows a spinner with the elapsed time on stderr while something long runs, only
  when stderr is a terminal and ``-q`` was not given.
* :func:`print_line` colours ``error:``, ``warning:`` and ``note:`` lines on a terminal, never when
  ``NO_COLOR`` is set (https://no-color.org) or the stream is not a terminal.

This module imports nothing heavy: ``rich`` (progress and colour) is imported only when it is used.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INPUT = 2
EXIT_PREREQUISITE = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C
EXIT_INTERNAL = 70  # EX_SOFTWARE (sysexits.h): a bug in bridgectl, never a verdict on the input


class PrerequisiteMissing(Exception):
    """Something outside the project is missing (root, FRR, Graphviz); the message says how to get it."""


class UsageError(Exception):
    """Bad arguments that argparse cannot catch; the message names the argument and the fix."""


class OutputError(UsageError):
    """A file or directory named on the command line cannot be written (bad input, exit 2)."""


# --- writing files ---------------------------------------------------------------------------------


def _cannot_write(option: str, path: Path, exc: OSError) -> OutputError:
    reason = exc.strerror or str(exc)
    parent = path.parent
    if not parent.exists():
        fix = f"create the directory {parent} first, or name a path in an existing directory"
    elif isinstance(exc, IsADirectoryError) or path.is_dir():
        fix = "name a file, not a directory"
    elif isinstance(exc, PermissionError) or exc.errno in (13, 30):  # EACCES, EROFS
        fix = "choose a path you can write (the directory is read-only or not yours)"
    else:
        fix = "check the path, the free space and the permissions"
    where = f"{option} {path}" if option else str(path)
    return OutputError(f"{where}: cannot be written ({reason}) (fix: {fix})")


def atomic_write(path: str | os.PathLike[str], data: str | bytes, *, option: str = "") -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part:
    write a temporary file in the same directory, flush it to disk, then rename it over ``path``
    (``os.replace`` is atomic on POSIX within one filesystem). A new file gets the usual permissions
    (0666 less the umask); an existing one keeps its own. Raises :class:`OutputError` naming
    ``option`` (the flag that named the path, e.g. ``-o``) when the path cannot be written; on any
    exception, Ctrl-C included, the temporary file is removed and ``path`` is untouched."""
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    except OSError as exc:
        raise _cannot_write(option, target, exc) from None
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".", prefix=f".{target.name}.",
                                   suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise _cannot_write(option, target, exc) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return target


def check_writable(path: str | os.PathLike[str], *, option: str = "") -> None:
    """Refuse early, before minutes of planning, an output path that cannot be written: a directory,
    a missing directory, a read-only one. :func:`atomic_write` still reports what this cannot foresee."""
    target = Path(path)
    where = f"{option} {target}" if option else str(target)
    parent = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise OutputError(f"{where}: is a directory (fix: name a file)")
    if not parent.is_dir():
        raise OutputError(f"{where}: cannot be written (no directory {parent}) (fix: create the directory "
                          "first, or name a file in an existing one)")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{where}: cannot be written (directory {parent} is read-only) (fix: choose a "
                          "path you can write)")


def atomic_write_tree(directory: str | os.PathLike[str], files: dict[str, str], *, option: str = "") -> Path:
    """Write ``files`` (relative path -> text) under ``directory``. A directory that does not exist
    yet is built whole beside it and renamed into place, so it appears complete or not at all; in an
    existing directory each file is written with :func:`atomic_write` (other files there stay)."""
    target = Path(directory)
    if target.exists() and not target.is_dir():
        raise OutputError(f"{option} {target}: is a file, not a directory (fix: name a directory)")
    if target.is_dir():
        for rel, text in files.items():
            path = target / rel
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise _cannot_write(option, path.parent, exc) from None
            atomic_write(path, text, option=option)
        return target
    parent = target.parent if str(target.parent) else Path(".")
    build: str | None = None
    try:
        parent.mkdir(parents=True, exist_ok=True)
        build = tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.", suffix=".tmp")
        for rel, text in files.items():
            path = Path(build) / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        os.chmod(build, 0o777 & ~_umask())
        os.rename(build, target)
        build = None
    except OSError as exc:
        raise _cannot_write(option, target, exc) from None
    finally:
        if build is not None:
            import shutil

            shutil.rmtree(build, ignore_errors=True)
    return target


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


# --- output ----------------------------------------------------------------------------------------


def print_json(data: Any, out: TextIO | None = None) -> None:
    """One JSON document on stdout (or ``out``), indented, ending in a newline."""
    stream = out or sys.stdout
    json.dump(data, stream, indent=2, ensure_ascii=False)
    stream.write("\n")


def color_enabled(stream: TextIO) -> bool:
    """Colour on a terminal only, and never with NO_COLOR set to anything but "" (https://no-color.org)
    or TERM=dumb; FORCE_COLOR forces it (as rich reads it)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


_STYLES = {"error:": "bold red", "warning:": "yellow", "note:": "cyan", "interrupted": "bold red"}


def print_line(text: str, stream: TextIO | None = None) -> None:
    """Print one line; on a colour terminal its leading ``error:``/``warning:``/``note:`` is coloured."""
    out = stream or sys.stderr
    style = next((s for prefix, s in _STYLES.items() if text.startswith(prefix)), None)
    if style is None or not color_enabled(out):
        print(text, file=out)
        return
    from rich.console import Console
    from rich.text import Text

    head, _, tail = text.partition(" ")
    line = Text(head, style=style)
    if tail:
        line.append(" " + tail)
    Console(file=out, highlight=False, soft_wrap=True, force_terminal=True).print(line)


def progress_enabled(quiet: bool = False, stream: TextIO | None = None) -> bool:
    """Progress on stderr only when it is a terminal (never in CI logs or pipes) and -q was not given."""
    out = stream or sys.stderr
    isatty = getattr(out, "isatty", None)
    return not quiet and bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


@contextlib.contextmanager
def progress(text: str, *, enabled: bool) -> Iterator[Callable[[str], None]]:
    """A spinner with ``text`` and the elapsed time on stderr while the body runs; it is erased when
    the body ends. Yields a function that replaces the text (``update("planning dev.acme")``).
    With ``enabled`` false (``-q``, or stderr not a terminal) nothing is shown and nothing imported."""
    if not enabled:
        yield lambda _text: None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(file=sys.stderr, no_color=bool(os.environ.get("NO_COLOR")))
    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                   transient=True)
    task = bar.add_task(text, total=None)
    with bar:
        yield lambda new: bar.update(task, description=new)


# --- flags shared by the commands ------------------------------------------------------------------


def add_json_flag(parser: Any, shape: str) -> None:
    """``--json``: one JSON document on stdout instead of text (``shape`` says which, for --help)."""
    parser.add_argument("--json", action="store_true", help=f"print {shape} as JSON on stdout (docs/cli.md)")


def add_quiet_flag(parser: Any, what: str = "no progress on stderr") -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help=what)
