"""``agent-memory reembed`` against the real index: new vectors, new metadata, same records."""

from __future__ import annotations

import io

import numpy as np
import pytest
from redis.asyncio import Redis

from agent_memory.embeddings import HashingEmbedder
from agent_memory.errors import IndexMismatch
from agent_memory.models.long_term import ExtractedMemoryRecord, SearchRequest
from agent_memory.principal import LOCAL_ADMIN
from agent_memory.reembed import Progress, reembed
from agent_memory.services.long_term import LongTermService
from agent_memory.storage import ltm_index
from agent_memory.storage.long_term import LongTermStore
from tests.conftest import make_settings
from tests.support.wait import wait_until


async def _service(redis: Redis, url: str, dims: int) -> LongTermService:
    settings = make_settings(url, embedding_dimensions=dims)
    embedder = HashingEmbedder(dims)
    store = LongTermStore(redis, settings, dims)
    await store.ensure_index(embedder.model_id)
    return LongTermService(store, embedder, settings)


async def test_reembed_to_another_dimension_rebuilds_vectors_and_metadata(
    redis: Redis, redis_url: str
) -> None:
    """64-dim memories become 32-dim: every vector rewritten, metadata updated, records kept,
    and a server configured for the new model starts and finds them semantically."""
    old = await _service(redis, redis_url, 64)
    texts = [f"memory {i} about topic {i % 7}" for i in range(300)]
    await old.index_records([ExtractedMemoryRecord(id=f"m{i}", text=t, namespace="ns")
                             for i, t in enumerate(texts)], deduplicate=False)
    new_settings = make_settings(redis_url, embedding_dimensions=32)
    with pytest.raises(IndexMismatch):
        await LongTermStore(redis, new_settings, 32).ensure_index(HashingEmbedder(32).model_id)

    out = io.StringIO()
    report = await reembed(new_settings, batch_size=64, stream=out)

    assert report.memories == 300
    assert (report.previous_model_id, report.previous_dimensions) == ("hashing-v1-64", 64)
    assert (report.model_id, report.dimensions) == ("hashing-v1-32", 32)
    meta = await ltm_index.read_meta(redis, new_settings.redisvl_index_name)
    assert meta is not None and (meta.model_id, meta.dimensions) == ("hashing-v1-32", 32)
    raw = await redis.hget(f"{new_settings.redisvl_index_prefix}:m5", "vector")
    expected = (await HashingEmbedder(32).embed([texts[5]]))[0]
    np.testing.assert_allclose(np.frombuffer(raw, dtype=np.float32), expected, atol=1e-6)
    assert "300/300" in out.getvalue()

    new = await _service(redis, redis_url, 32)  # no IndexMismatch any more

    async def reindexed() -> bool:
        return await new.store.count(None) == 300

    await wait_until(reindexed, timeout=10)
    found = await new.search(LOCAL_ADMIN, SearchRequest(text=texts[42], search_mode="semantic",
                                                        limit=1, recency_boost=False))
    assert found.memories[0].id == "m42"


async def test_reembed_same_dimension_rewrites_in_place(redis: Redis, redis_url: str) -> None:
    """Same size, another model id: vectors rewritten without dropping the index."""
    svc = await _service(redis, redis_url, 32)
    await svc.index_records([ExtractedMemoryRecord(id="a", text="tea with lemon")])
    key = f"{svc.settings.redisvl_index_prefix}:a"
    await redis.hset(key, "vector", np.zeros(32, dtype=np.float32).tobytes())
    report = await reembed(make_settings(redis_url, embedding_dimensions=32),
                           stream=io.StringIO())
    assert report.memories == 1
    vector = np.frombuffer(await redis.hget(key, "vector"), dtype=np.float32)
    assert np.linalg.norm(vector) == pytest.approx(1.0, rel=1e-5)


def test_progress_line_counts_and_rates() -> None:
    """The progress printer reports done/total and percent, one line per update off a tty."""
    out = io.StringIO()
    progress = Progress(200, stream=out, every=0)
    progress.update(50)
    progress.update(150)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("re-embedding [") and "50/200" in lines[0] and "25.0%" in lines[0]
    assert "200/200" in lines[-1] and "100.0%" in lines[-1]
