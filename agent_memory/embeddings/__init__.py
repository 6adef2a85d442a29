"""Embedding: the one place that turns text into vectors.

Every provider implements :class:`Embedder`: batched, async, returning L2-normalised float32
rows. ``create_embedder(settings)`` picks the provider from settings.
"""

from __future__ import annotations

from agent_memory.embeddings.base import Embedder
from agent_memory.embeddings.factory import create_embedder, open_embedder, resolve_provider
from agent_memory.embeddings.hashing import HashingEmbedder

__all__ = [
    "Embedder",
    "HashingEmbedder",
    "create_embedder",
    "open_embedder",
    "resolve_provider",
]
