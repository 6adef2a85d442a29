"""Who owns a data folder, and how often a dead child may be brought back.

:class:`DataDirLock` is an OS lock (``flock``) on a file in the embedded Redis's data folder,
held by the process that runs that Redis for as long as it runs. The kernel drops it when the
process exits however it dies (even SIGKILL), so "the owner is gone" is exactly "the lock is
free": a second ``agent-memory api`` on the same folder is refused (naming the running
owner's pid) instead of taking the first one's Redis away, and a Redis found running with a
free lock really is an orphan.

:class:`RestartBudget` bounds a supervisor's restarts: a child that keeps dying is retried a
few times with growing pauses, then the supervisor gives up and exits non-zero, never loops.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

LOCK_FILE = "agent-memory.lock"


class DataDirBusy(RuntimeError):
    """Another live process owns this data folder."""

    def __init__(self, folder: Path, pid: int | None) -> None:
        self.folder, self.pid = folder, pid
        owner = f"pid {pid}" if pid else "pid unknown"
        super().__init__(
            f"another agent-memory process ({owner}) is running the embedded Redis with data in "
            f"{folder}; stop it first, or set AGENT_MEMORY_DATA_DIR to another folder (or "
            "REDIS_URL to share that Redis)")


def _read_pid(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode().split()[0])
    return None


class DataDirLock:
    """An exclusive, non-blocking ``flock`` on ``folder/agent-memory.lock``; the file holds
    the owner's pid (for the refusal message only; the lock itself is the truth)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILE
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock (a no-op when already held by this object).

        Raises:
            DataDirBusy: another process holds it.
        """
        if self._fd is not None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise DataDirBusy(self.folder, pid) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Give the lock up (closing the file releases it); safe to call twice."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def owner_pid(folder: Path) -> int | None:
    """The pid holding ``folder``'s lock, or None when nobody holds it (diagnostics, tests)."""
    path = Path(folder) / LOCK_FILE
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


class RestartBudget:
    """At most ``attempts`` restarts in a row, pausing ``first_pause`` seconds doubled each
    time (capped at ``max_pause``); a child that stayed up ``stable_seconds`` resets the count.

    Args:
        attempts: Restarts allowed before giving up.
        first_pause: Pause before the first restart.
        max_pause: Longest pause.
        stable_seconds: Uptime after which a death counts as a fresh one.
    """

    def __init__(self, attempts: int = 5, first_pause: float = 0.5, max_pause: float = 8.0,
                 stable_seconds: float = 30.0) -> None:
        self.attempts, self.first_pause, self.max_pause = attempts, first_pause, max_pause
        self.stable_seconds = stable_seconds
        self.used = 0
        self._up_since: float | None = time.monotonic()

    def started(self) -> None:
        """The child is (back) up."""
        self._up_since = time.monotonic()

    def next_pause(self) -> float | None:
        """Seconds to wait before the next restart, or None when the budget is spent."""
        up_since, self._up_since = self._up_since, None  # failed restarts never reset it
        if up_since is not None and time.monotonic() - up_since >= self.stable_seconds:
            self.used = 0
        if self.used >= self.attempts:
            return None
        self.used += 1
        return min(self.first_pause * 2 ** (self.used - 1), self.max_pause)
