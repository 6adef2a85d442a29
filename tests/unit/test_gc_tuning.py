"""The serving GC setup freezes startup objects and raises the thresholds."""

from __future__ import annotations

import gc

from agent_memory.gc_tuning import THRESHOLDS, tune_for_serving


def test_tune_for_serving_freezes_and_sets_thresholds() -> None:
    before = gc.get_threshold()
    try:
        tune_for_serving()
        assert gc.get_threshold() == THRESHOLDS
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
