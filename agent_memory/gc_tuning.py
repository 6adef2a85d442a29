"""Garbage-collector settings for a long-running server process.

Startup leaves hundreds of thousands of long-lived objects (modules, pydantic schemas, the
index schema); with CPython's default thresholds every full collection walks them again,
and under load those pauses were the slowest 1% of requests (docs/benchmarks.md). Freezing
them moves them out of the collector's reach; larger thresholds make young collections
rarer. Reference counting still frees almost everything at once; only cycles wait longer.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 100)


def tune_for_serving() -> None:
    """Freeze what exists now and raise the collection thresholds (process-wide)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
