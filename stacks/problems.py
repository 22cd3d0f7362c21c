"""Problems found in a stack's configuration, and how they are printed.

A problem names the full key path (``bridge:aws.vpcs[0].cidr``), the offending value, the reason
and, where one exists, the fix. Validation collects every problem it can find before anything is
built, so a user sees all of them at once and nothing is half-applied.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


# A value that is absent (a missing key) rather than null.
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<missing>"})()


def render_value(value: Any) -> str:
    """The value as a user wrote it, short enough for one line."""
    if value is MISSING:
        return "(missing)"
    written = getattr(value, "written", None)  # a scalar the file spells otherwise (stacks.loader.WrittenInt)
    if isinstance(written, str):
        return written
    if isinstance(value, dict) and set(value) == {"secure"}:
        return "[secret]"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=False)
        except (TypeError, ValueError):
            text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return text


@dataclass(frozen=True)
class Problem:
    path: str
    value: Any
    reason: str
    fix: str = ""
    severity: Severity = Severity.ERROR

    def line(self, source: str = "") -> str:
        where = f"{source}: " if source else ""
        shown = "" if self.value is MISSING else f"{render_value(self.value)} "
        text = f"{self.severity.value}: {where}{self.path}: {shown}{self.reason}"
        if self.fix:
            text += f" (fix: {self.fix})"
        # One problem, one line: a key or a parser message may hold line breaks of its own.
        return text.replace("\r", "\\r").replace("\n", "\\n")

    def as_json(self, source: str = "") -> dict[str, Any]:
        """The problem for ``--json``: ``{"severity", "file", "path", "value", "reason", "fix"}``; the
        value as the message shows it (as written), null when the key is absent."""
        return {"severity": self.severity.value, "file": source or None, "path": self.path,
                "value": None if self.value is MISSING else render_value(self.value), "reason": self.reason,
                "fix": self.fix or None}


class Problems:
    """An ordered collector of problems; never raises while collecting."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def error(self, path: str, value: Any, reason: str, fix: str = "") -> None:
        self.items.append(Problem(path, value, reason, fix, Severity.ERROR))

    def warn(self, path: str, value: Any, reason: str, fix: str = "") -> None:
        self.items.append(Problem(path, value, reason, fix, Severity.WARNING))

    def at(self, path: str) -> bool:
        """Whether an error was already recorded at ``path`` or below it.

        A value that failed to parse is None in the spec, like an absent optional key; rules that
        would call it missing ask here first, so one mistake is reported once.
        """
        return any(p.severity is Severity.ERROR and (p.path == path or p.path.startswith((f"{path}.", f"{path}[")))
                   for p in self.items)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.severity is Severity.WARNING]

    def __bool__(self) -> bool:
        return bool(self.errors)


class ConfigError(Exception):
    """Raised with every problem of an invalid stack; printed one line each, exit code 2."""

    exit_code = 2

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = problems
        self.source = source
        super().__init__("\n".join(p.line(source) for p in problems))
