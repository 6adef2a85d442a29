"""Deterministic feature-hashing embedder: no model, microseconds per text.

Good for tests and throughput benchmarks; weak on paraphrases (it only sees shared words).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from agent_memory.embeddings.base import normalize
from agent_memory.observability.metrics import observe_embedding

_WORD = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder:
    """Signed feature hashing of lower-cased words and word bigrams."""

    def __init__(self, dimensions: int = 384) -> None:
        self.dimensions = dimensions
        self.model_id = f"hashing-v1-{dimensions}"

    def _row(self, text: str, out: npt.NDArray[np.float32]) -> None:
        words = _WORD.findall(text.lower())
        features = words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
        # A text with no word at all ("+-?") still needs a non-zero vector: a zero row has
        # no cosine distance (Redis answers NaN, which serializes as null).
        features = features or [text]
        for feature in features:
            h = zlib.crc32(feature.encode())
            out[h % self.dimensions] += 1.0 if (h >> 31) & 1 else -1.0

    def embed_sync(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Pure, synchronous embedding (no I/O)."""
        matrix = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for i, text in enumerate(texts):
            self._row(text, matrix[i])
        return normalize(matrix)

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        with observe_embedding(self.model_id, len(texts)):
            return self.embed_sync(texts)

    async def aclose(self) -> None:
        return None
