"""The body of a bridge's health issue, from `bridgectl health --json` (used by .github/workflows/health.yml).

Usage: python3 .github/health_issue.py STACK EXIT_CODE RUN_URL DIR, where DIR holds STACK.json and
STACK.err. Standard library only: the report job installs nothing.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path


def body(stack: str, code: str, run_url: str, folder: Path) -> str:
    lines = [f"`bridgectl health {stack}` ({run_url})", ""]
    try:
        report = json.loads((folder / f"{stack}.json").read_text())
    except (OSError, ValueError):
        report = None
    if code != "1" or report is None:
        err = ""
        with contextlib.suppress(OSError):
            err = (folder / f"{stack}.err").read_text().strip()
        what = {"3": "missing credentials", "2": "bad input"}.get(code, f"exit {code}")
        lines += [f"The check itself did not run ({what}):", "", "```", err or "(no output)", "```"]
        return "\n".join(lines) + "\n"
    lines += ["| session | state | BFD | to cloud | to FCR | seen by |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['session']} | {r['state']} | {r['bfd']} | {r['toCloud']} | {r['toFcr']} | {r['sources']} |"
              for r in report["sessions"]]
    lines += ["", "| finding | subject | expected | seen | runbook |", "|---|---|---|---|---|"]
    lines += [f"| {f['kind']} | {f['subject']} | {f['expected']} | {f['seen']} ({f['source']}) | "
              f"[{f['runbook'].split('#')[-1]}]({f['runbook']}) |" for f in report["findings"]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    stack_, code_, url_, folder_ = sys.argv[1:5]
    sys.stdout.write(body(stack_, code_, url_, Path(folder_)))
