"""CPU time of processes from /proc: what a benchmark's parties spend per request."""

from __future__ import annotations

import os
from collections.abc import Callable

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # exited (a short-lived helper): nothing more to count
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / TICK


def children(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    found = [pid]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if ppid == pid:
                found += children(int(entry))
    return found


class CpuMeter:
    """CPU µs per request of named groups of processes, between ``start`` and the call.
    Each group is a function giving its pids, called at ``start`` (processes a server
    starts and ends during its startup are then gone)."""

    def __init__(self, **finders: Callable[[], list[int]]) -> None:
        self.finders = finders
        self.groups: dict[str, list[int]] = {}
        self._start: dict[str, float] = {}

    def start(self) -> None:
        self.groups = {name: find() for name, find in self.finders.items()}
        self._start = {name: cpu_seconds(pids) for name, pids in self.groups.items()}

    def per_request(self, requests: int) -> dict[str, float]:
        return {name: (cpu_seconds(pids) - self._start[name]) / max(requests, 1) * 1e6
                for name, pids in self.groups.items()}
