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
    """The embedder the settings ask for (models load lazily, at the first embedding).

    Raises:
        OfflineModelMissing: the offline model is asked for (or ``auto`` falls back to it)
            and the ``offline`` extra is not installed; the message names the pip command.
    """
    provider = resolve_provider(settings)
    if provider is EmbeddingProvider.hashing:
        return HashingEmbedder(settings.embedding_dimensions or 384)
    if provider is EmbeddingProvider.openai:
        from agent_memory.embeddings.openai import OpenAIEmbedder

        return OpenAIEmbedder(settings)
    if provider is EmbeddingProvider.minilm:
        from agent_memory.embeddings.minilm import MiniLMEmbedder

        return MiniLMEmbedder()
    from agent_memory.embeddings.usem3 import USEm3Embedder

    return USEm3Embedder()


async def open_embedder(settings: Settings) -> Embedder:
    """:func:`create_embedder`, then make ``dimensions`` known (an endpoint whose model size
    is neither known nor configured is asked once). Use this where an index is created."""
    embedder = create_embedder(settings)
    probe = getattr(embedder, "probe_dimensions", None)
    if probe is not None:
        await probe()
    return embedder
