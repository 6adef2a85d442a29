"""Pick the embedding provider from settings."""

from __future__ import annotations

import logging

from agent_memory.embeddings.base import Embedder
from agent_memory.embeddings.hashing import HashingEmbedder
from agent_memory.settings import EmbeddingProvider, Settings

log = logging.getLogger(__name__)

# Model ids an index records, by the offline provider that writes them (``model_id``s of
# usem3.py and minilm.py; literal here so that choosing loads neither module).
_OFFLINE_MODELS = {"usem3-multilingual-v3-512": EmbeddingProvider.usem3,
                   "all-minilm-l6-v2-384": EmbeddingProvider.minilm}
SWITCH_HINT = ("EMBEDDING_PROVIDER=minilm agent-memory reembed (stop the API first), or set "
               "EMBEDDING_PROVIDER=usem3 to keep the old model and silence this")


def resolve_provider(settings: Settings, *, index_model: str | None = None,
                     ) -> EmbeddingProvider:
    """``auto`` becomes openai when an endpoint is configured, else the offline model.

    The offline model is all-MiniLM-L6-v2 when its package is installed (``scripts/setup``
    installs it), else usem3. An existing index built by an offline model
    (``index_model``, from the index metadata) keeps that model under ``auto``: a store
    embedded by usem3 goes on with usem3 until ``agent-memory reembed`` moves it.
    """
    if settings.embedding_provider is not EmbeddingProvider.auto:
        return settings.embedding_provider
    if settings.llm_configured:
        return EmbeddingProvider.openai
    if index_model in _OFFLINE_MODELS:
        return _OFFLINE_MODELS[index_model]
    from agent_memory.embeddings import minilm

    return EmbeddingProvider.minilm if minilm.available() else EmbeddingProvider.usem3


def create_embedder(settings: Settings, *, index_model: str | None = None) -> Embedder:
    """The embedder the settings ask for (models load lazily, at the first embedding).

    Args:
        index_model: The model id the long-term index records, if any (see
            :func:`resolve_provider`).

    Raises:
        OfflineModelMissing: the offline model is asked for (or ``auto`` falls back to it)
            and its package is not installed; the message names the pip command.
    """
    provider = resolve_provider(settings, index_model=index_model)
    if provider is EmbeddingProvider.hashing:
        return HashingEmbedder(settings.embedding_dimensions or 384)
    if provider is EmbeddingProvider.openai:
        from agent_memory.embeddings.openai import OpenAIEmbedder

        return OpenAIEmbedder(settings)
    if provider is EmbeddingProvider.minilm:
        from agent_memory.embeddings.minilm import MiniLMEmbedder

        return MiniLMEmbedder()
    from agent_memory.embeddings.usem3 import USEm3Embedder

    embedder = USEm3Embedder()
    if (settings.embedding_provider is EmbeddingProvider.auto and index_model is not None
            and _OFFLINE_MODELS.get(index_model) is EmbeddingProvider.usem3):
        from agent_memory.embeddings import minilm

        if minilm.available():
            log.warning("the long-term index was embedded by usem3, so usem3 stays its "
                        "model; all-MiniLM-L6-v2 (the offline default) finds more: "
                        "%s", SWITCH_HINT)
    return embedder


async def open_embedder(settings: Settings, *, index_model: str | None = None) -> Embedder:
    """:func:`create_embedder`, then make ``dimensions`` known (an endpoint whose model size
    is neither known nor configured is asked once). Use this where an index is created."""
    embedder = create_embedder(settings, index_model=index_model)
    probe = getattr(embedder, "probe_dimensions", None)
    if probe is not None:
        await probe()
    return embedder
