"""Fuse a vector ranking and a BM25 ranking into one hybrid score (tunable here only).

Method: weighted sum of per-side normalised scores,

    hybrid = alpha * vector_similarity + (1 - alpha) * text_score / max_text_score

with ``vector_similarity = clamp01(1 - cosine_distance)`` and ``alpha = hybrid_alpha`` (the
vector weight, AMS's meaning). Each side is a top-N candidate list; a memory found by only
one side gets, for the other side, the best value it could have had without making that
list: the lowest value seen when the list was full (it ranked below everything listed),
or zero when the list was not full (it did not match at all).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fused:
    """One fused candidate."""

    memory_id: str
    score: float
    vector_similarity: float
    text_score: float


def fuse(vector: dict[str, float], text: dict[str, float], *, alpha: float,
         vector_full: bool, text_full: bool) -> list[Fused]:
    """Fuse ``{id: cosine distance}`` and ``{id: raw BM25 score}`` candidate lists.

    Args:
        vector: Vector candidates, id to cosine distance.
        text: Text candidates, id to raw text score.
        alpha: Weight of the vector side in [0, 1].
        vector_full: The vector list hit its size limit (unseen ids may still be close).
        text_full: Same for the text list.

    Returns:
        Every candidate with its fused score (unsorted).
    """
    sims = {k: min(max(1.0 - d, 0.0), 1.0) for k, d in vector.items()}
    top = max(text.values(), default=0.0)
    norm = {k: (v / top if top > 0 else 0.0) for k, v in text.items()}
    sim_floor = min(sims.values()) if (vector_full and sims) else 0.0
    text_floor = min(norm.values()) if (text_full and norm) else 0.0
    out = []
    for memory_id in sims.keys() | norm.keys():
        s = sims.get(memory_id, sim_floor)
        t = norm.get(memory_id, text_floor)
        out.append(Fused(memory_id, alpha * s + (1.0 - alpha) * t, s, t))
    return out
