"""Recency re-ranking follows AMS's formula (ams-api.md §2.5)."""

from __future__ import annotations

import pytest

from agent_memory.services.recency import RecencyParams, scorer

DAY = 86400.0
NOW = 1_800_000_000.0


def test_one_half_life_each_halves_both_parts() -> None:
    score = scorer(RecencyParams(), NOW)
    # freshness = novelty = 0.5 -> recency 0.6*0.5 + 0.4*0.5 = 0.5; 0.8*0.5 + 0.2*0.5
    assert score(0.5, NOW - 7 * DAY, NOW - 30 * DAY) == pytest.approx(0.5)


def test_brand_new_and_future_times_count_as_now() -> None:
    score = scorer(RecencyParams(), NOW)
    assert score(0.9, NOW, NOW) == pytest.approx(0.8 * 0.9 + 0.2)
    assert score(0.9, NOW + DAY, NOW + DAY) == pytest.approx(0.8 * 0.9 + 0.2)


def test_weights_and_clamp() -> None:
    params = RecencyParams(semantic_weight=0.0, recency_weight=1.0, freshness_weight=2.0,
                           novelty_weight=2.0)
    assert scorer(params, NOW)(0.3, NOW, NOW) == pytest.approx(1.0)  # recency clamped to 1
    old = scorer(RecencyParams(semantic_weight=1.0, recency_weight=0.0), NOW)
    assert old(0.42, 0.0, 0.0) == pytest.approx(0.42)
