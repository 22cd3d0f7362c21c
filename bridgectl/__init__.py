"""bridgectl: validate, plan, diff, draw, police and rehearse the bridge's stacks."""

import os as _os
import signal as _signal
import sys as _sys


def _interrupted_while_starting(signum: int, frame: object) -> None:
    """Ctrl-C while the command line is still being imported: stop with the documented line and code,
    not an import traceback (bridgectl.cli.main installs the handler that unwinds a running command)."""
    _sys.stderr.write("interrupted\n")
    _sys.stderr.flush()
    _os._exit(130)


if (_os.path.basename(_sys.argv[0] if _sys.argv else "") in ("bridgectl", "-m")
        and _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler):
    _signal.signal(_signal.SIGINT, _interrupted_while_starting)
