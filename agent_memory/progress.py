"""A dependency-free progress line and plain-text tables for CLI jobs (import, re-embed,
forget).

``done/total``, a bar, percent, rate and time left, on stderr. On a terminal the line is
redrawn in place; otherwise (logs, CI) a full line is printed at most every ``every``
seconds, so piping a job's output into a file does not produce megabytes of redraws.

Example:
    with Progress(len(items), label="importing") as progress:
        for batch in batches(items):
            await store(batch)
            progress.update(len(batch))
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from types import TracebackType
from typing import TextIO


class Progress:
    """Progress of a job of ``total`` items.

    Args:
        total: Items the job will process (0 is allowed: the bar shows 100 %).
        label: Shown before the bar.
        stream: Where to draw; stderr by default (stdout stays for the job's result).
        every: Minimum seconds between two redraws (the last update always draws).
        width: Bar width in characters.
    """

    def __init__(self, total: int, *, label: str = "working", stream: TextIO | None = None,
                 every: float = 0.2, width: int = 30) -> None:
        self.total, self.label, self.every, self.width = total, label, every, width
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self._start = time.monotonic()
        self._last = 0.0
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def line(self) -> str:
        """The current progress line (no newline)."""
        share = min(self.done / self.total, 1.0) if self.total else 1.0
        filled = int(share * self.width)
        elapsed = max(time.monotonic() - self._start, 1e-9)
        rate = self.done / elapsed
        left = max(self.total - self.done, 0) / rate if rate > 0 else 0.0
        bar = "#" * filled + "-" * (self.width - filled)
        return (f"{self.label} [{bar}] {self.done}/{self.total} {share:6.1%} "
                f"{rate:,.0f}/s eta {left:,.0f}s")

    def update(self, n: int = 1) -> None:
        """Count ``n`` more items done and redraw when due."""
        self.done += n
        now = time.monotonic()
        if now - self._last >= self.every or self.done >= self.total:
            self._last = now
            prefix = "\r" if self._tty else ""
            self.stream.write(prefix + self.line() + ("" if self._tty else "\n"))
            self.stream.flush()

    def close(self) -> None:
        """End the line on a terminal."""
        if self._tty:
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]],
                 max_width: int = 60) -> str:
    """Rows as an aligned plain-text table (cells cut to ``max_width`` characters)."""
    cells = [[_cell(v, max_width) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def _cell(value: object, max_width: int) -> str:
    text = "" if value is None else " ".join(str(value).split())  # one line per row
    return text if len(text) <= max_width else text[: max_width - 1] + "…"
