"""The array forms of the ranking's small steps give exactly what the plain Python forms
they replaced gave (services/ranking.py ``_best``, the stats cache, services/fusion.py)."""

from __future__ import annotations

import math
import random

import numpy as np

from agent_memory.services.fusion import _unit, fuse
from agent_memory.services.ranking import LexicalRanker, _best
from agent_memory.storage.lexical import TextDoc


def test_best_is_the_sorted_head_of_the_scores_above_the_floor() -> None:
    """Ties (broken by id), zeros, fewer scores than ``k`` and ``k`` 0 included."""
    rng = random.Random(3)
    for trial in range(300):
        size = rng.randrange(0, 40)
        scores = [rng.choice([0.0, 0.5, 1.25, rng.random()]) for _ in range(size)]
        ids = [f"m{rng.randrange(10_000):05d}-{n}" for n in range(size)]
        for k in (0, 1, 5, size, size + 3):
            want = sorted((-s, i) for s, i in zip(scores, ids, strict=True) if s > 0.0)[:k]
            assert _best(np.array(scores, dtype=float), ids, k, above=0.0) == want, trial


def test_stats_are_cached_per_candidate_object() -> None:
    """The same object: the cached tuple itself; an equal object made anew, or one with
    other text: its own stats, never another object's."""
    ranker = LexicalRanker(None)  # type: ignore[arg-type]
    doc = TextDoc("m1", 1.0, 2.0, "jazz piano tonight", "", "")
    first = ranker._stats(doc)
    assert first[0] is doc and ranker._stats(doc) is first
    twin = TextDoc("m1", 1.0, 2.0, "jazz piano tonight", "", "")
    again = ranker._stats(twin)
    assert again[0] is twin and again[1:] == first[1:]
    other = TextDoc("m1", 1.0, 2.0, "garden recipe", "", "")
    assert set(ranker._stats(other)[1]) == {"garden", "recip"}


def test_clamp_is_min_max() -> None:
    for x in (-1.5, -0.0, 0.0, 0.3, 1.0, 1.0000001, 7.0, math.inf, -math.inf):
        assert _unit(x) == min(max(x, 0.0), 1.0)
        assert math.copysign(1, _unit(x)) == math.copysign(1, min(max(x, 0.0), 1.0))
    assert math.isnan(_unit(math.nan)) and math.isnan(min(max(math.nan, 0.0), 1.0))


def test_fusion_matches_the_formula() -> None:
    """Every candidate of either list, scored ``alpha * sim / best + (1 - alpha) * cov``,
    a keyword-only one at the lowest similarity listed (full vector list)."""
    fused = {f.memory_id: f for f in fuse({"a": 0.2, "b": 0.6, "c": 1.4},
                                          {"b": 0.5, "d": 1.7, "e": -0.2},
                                          alpha=0.6, vector_full=True)}
    assert set(fused) == {"a", "b", "c", "d", "e"}
    top = 0.8
    assert fused["a"].score == 0.6 * (0.8 / top) + (1.0 - 0.6) * 0.0
    assert fused["b"].score == 0.6 * (min(max(1.0 - 0.6, 0.0), 1.0) / top) + (1.0 - 0.6) * 0.5
    assert fused["c"].vector_similarity == 0.0 and fused["c"].score == 0.0
    assert fused["d"].text_score == 1.0 and fused["d"].vector_similarity == 0.0
    assert fused["e"].text_score == 0.0
