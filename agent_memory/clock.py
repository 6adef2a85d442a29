"""The server's notion of "now" for expiry and tiers: wall-clock time, advanceable in tests.

One :class:`Clock` is built per process (``build_services``) and carried by the process's
Docket, so an API and a worker sharing a Docket in tests share one clock. Production code
never moves it; tests call :meth:`Clock.advance` instead of sleeping through a TTL.
"""

from __future__ import annotations

import time


class Clock:
    """Epoch seconds: ``time.time()`` plus an offset, or a stopped time; only tests change
    either."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.frozen: float | None = None

    def now(self) -> float:
        """The current time in epoch seconds."""
        return self.frozen if self.frozen is not None else time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move this clock forward (tests: "a minute later", without waiting a minute)."""
        if self.frozen is not None:
            self.frozen += seconds
        else:
            self.offset += seconds

    def set(self, epoch: float) -> None:
        """Stop this clock at ``epoch`` (tests: "exactly at expiry"); :meth:`advance`
        then moves the stopped clock."""
        self.frozen = epoch
