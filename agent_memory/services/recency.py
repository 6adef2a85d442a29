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


def recency(last_accessed: float, created_at: float, now: float, params: RecencyParams) -> float:
    """The recency component in [0, 1] (times in epoch seconds)."""
    days_access = max((now - last_accessed) / _DAY, 0.0)
    days_created = max((now - created_at) / _DAY, 0.0)
    freshness = math.exp(-math.log(2) / max(params.half_life_last_access_days, 1e-3) * days_access)
    novelty = math.exp(-math.log(2) / max(params.half_life_created_days, 1e-3) * days_created)
    value = params.freshness_weight * freshness + params.novelty_weight * novelty
    return min(max(value, 0.0), 1.0)


def boosted(relevance: float, last_accessed: float, created_at: float, now: float,
            params: RecencyParams) -> float:
    """The final score: weighted relevance plus weighted recency."""
    return (params.semantic_weight * relevance
            + params.recency_weight * recency(last_accessed, created_at, now, params))
