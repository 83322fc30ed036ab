"""Named points where a crash test stops publisher, as if the power went there."""

from __future__ import annotations

import os
import signal
import sys

CRASHPOINT_VARIABLE = "PUBLISHER_CRASHPOINT"


def crashpoint(name: str) -> None:
    """For crash tests: stop here, as if the power went, when $PUBLISHER_CRASHPOINT names this point."""
    if os.environ.get(CRASHPOINT_VARIABLE) == name:
        print(f"crashpoint {name}", file=sys.stderr, flush=True)
        while True:  # the test kills the process with SIGKILL here
            signal.pause()
