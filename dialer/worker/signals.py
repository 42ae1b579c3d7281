"""Stop signals (SIGTERM, SIGINT) of a worker process, handled from start-up until the process exits.

A signal's default action kills the process: a stop request that arrives before the worker's loop
handlers are in place, or after they are removed (while the process winds down), must still end in
a graceful exit 0. `install()` puts a counting handler in place for the life of the process; the
worker adds its loop handlers on top while it runs and puts this one back when it stops; the
process ignores them once it is only exiting.
"""

from __future__ import annotations

import signal
from types import FrameType

__all__ = ["STOP_SIGNALS", "StopSignals", "process_stop_signals"]

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    """Counts stop signals received outside the worker's run (before it starts, after it ends)."""

    def __init__(self) -> None:
        self.received = 0

    def install(self) -> None:
        """Handle SIGTERM/SIGINT by counting them (main thread only, as `signal.signal` requires)."""
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._on_signal)

    def ignore(self) -> None:
        """For the last steps of a process that is exiting anyway. Interpreter finalization puts
        every Python-level handler back to the default action (death by the signal, exit code
        -15), but leaves SIG_IGN alone."""
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # Only a counter: this runs between bytecodes, possibly inside the event loop's own code.
        self.received += 1


process_stop_signals = StopSignals()
