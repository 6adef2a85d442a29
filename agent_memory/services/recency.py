"""Recency re-ranking with AMS's formula (ams-api.md §2.5, the code path AMS really runs).

    freshness = 2^(-days_since_last_access / half_life_last_access)
    novelty   = 2^(-days_since_created     / half_life_created)
    recency   = clamp01(freshness_weight * freshness + novelty_weight * novelty)
    score     = semantic_weight * relevance + recency_weight * recency

``relevance`` is the mode's own score in [0, 1] (``1 - distance`` for semantic search).
Unlike AMS, the re-rank runs over the whole candidate window *before* paging, and the
``score`` returned with each memory is this score, the one the list is sorted by.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

_DAY = 86400.0


@dataclass(frozen=True)
class RecencyParams:
    """Weights and half-lives (AMS defaults)."""

    semantic_weight: float = 0.8
    recency_weight: float = 0.2
    freshness_weight: float = 0.6
    novelty_weight: float = 0.4
    half_life_last_access_days: float = 7.0
    half_life_created_days: float = 30.0


def scorer(params: RecencyParams, now: float) -> Callable[[float, float, float], float]:
    """``score(relevance, last_accessed, created_at)`` for one search at time ``now``
    (epoch seconds); the constants are worked out once, the candidates are many."""
    access_rate = math.log(2) / max(params.half_life_last_access_days, 1e-3) / _DAY
    created_rate = math.log(2) / max(params.half_life_created_days, 1e-3) / _DAY
    fw, nw = params.freshness_weight, params.novelty_weight
    sw, rw = params.semantic_weight, params.recency_weight
    exp = math.exp

    def score(relevance: float, last_accessed: float, created_at: float) -> float:
        freshness = exp(-access_rate * max(now - last_accessed, 0.0))
        novelty = exp(-created_rate * max(now - created_at, 0.0))
        value = min(max(fw * freshness + nw * novelty, 0.0), 1.0)
        return sw * relevance + rw * value

    return score
