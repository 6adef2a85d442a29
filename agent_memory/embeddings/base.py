"""The embedder protocol every provider implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt


class Embedder(Protocol):
    """Turns texts into vectors, one batch per call.

    Attributes:
        model_id: Identifies model and configuration; stored with the index so that starting
            with a different embedder is detected instead of mixing vector spaces.
        dimensions: Length of each vector.
    """

    model_id: str
    dimensions: int

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed ``texts`` in one batch: shape ``(len(texts), dimensions)``, unit rows."""
        ...

    async def aclose(self) -> None:
        """Release clients or threads."""
        ...


def normalize(matrix: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32, copy=False)


def clip_chars(text: str, max_chars: int) -> str:
    """The first ``max_chars`` characters of ``text``, cut back to a word boundary when one
    is near (an embedder sees a bounded window; see the embedders' ``max_chars``)."""
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    cut = head.rfind(" ", max_chars - 200)
    return head[:cut] if cut > 0 else head
