"""The server's notion of "now" for expiry and tiers: wall-clock time, advanceable in tests.

One :class:`Clock` is built per process (``build_services``) and carried by the process's
Docket, so an API and a worker sharing a Docket in tests share one clock. Production code
never moves it; tests call :meth:`Clock.advance` instead of sleeping through a TTL.
"""

from __future__ import annotations

import time


class Clock:
    """Epoch seconds: ``time.time()`` plus an offset that only tests change."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        """The current time in epoch seconds."""
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move this clock forward (tests: "a minute later", without waiting a minute)."""
        self.offset += seconds
