"""LongTermService against the real index: dedup, access throttling, iteration, versioning."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis
from redis.commands.search.index_definition import IndexDefinition, IndexType

from agent_memory.embeddings import HashingEmbedder
from agent_memory.errors import IndexMismatch
from agent_memory.models.long_term import ExtractedMemoryRecord, SearchRequest
from agent_memory.models.records import MemoryRecord
from agent_memory.principal import LOCAL_ADMIN
from agent_memory.services.long_term import LongTermService
from agent_memory.settings import Settings
from agent_memory.storage.keys import ltm_meta_key
from agent_memory.storage.long_term import LongTermStore
from agent_memory.storage.ltm_schema import SCHEMA_VERSION, VECTOR_SCHEMA_VERSION
from tests.conftest import make_settings


async def _service(redis: Redis, settings: Settings, dims: int = 64) -> LongTermService:
    embedder = HashingEmbedder(dims)
    store = LongTermStore(redis, settings, dims)
    await store.ensure_index(embedder.model_id)
    return LongTermService(store, embedder, settings)


def _rec(**kw: object) -> MemoryRecord:
    return ExtractedMemoryRecord(**kw)  # type: ignore[arg-type]


async def test_dedup_by_hash_skips_and_reports_existing_id(redis: Redis, redis_url: str) -> None:
    """Same text/user/session/namespace/type as a stored memory: skipped, existing id returned."""
    svc = await _service(redis, make_settings(redis_url))
    (first,) = await svc.index_records([_rec(id="orig", text="likes tea", user_id="u")])
    ids = await svc.index_records([_rec(id="dup", text="likes tea", user_id="u"),
                                   _rec(id="new", text="likes tea", user_id="other")])
    assert first == "orig" and ids == ["orig", "new"]
    assert await redis.exists("memory_idx:dup") == 0
    assert await svc.store.count(None) == 2


async def test_dedup_within_one_batch(redis: Redis, redis_url: str) -> None:
    """Duplicates inside one batch collapse: same hash keeps the first, same id keeps the last."""
    svc = await _service(redis, make_settings(redis_url, deduplication_distance_threshold=0))
    ids = await svc.index_records([
        _rec(id="a", text="same words"), _rec(id="b", text="same words"),
        _rec(id="c", text="first version"), _rec(id="c", text="second version"),
    ])
    assert ids == ["a", "a", "c", "c"]
    (c,) = await svc.store.get_many(["c"])
    assert c is not None and c.text == "second version"
    assert await svc.store.count(None) == 2


async def test_dedup_by_id_overwrites_keeping_created_at(redis: Redis, redis_url: str) -> None:
    """Re-sending an id overwrites the text but keeps created_at and persisted_at."""
    svc = await _service(redis, make_settings(redis_url))
    created = datetime(2023, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
    persisted = datetime(2023, 5, 2, tzinfo=UTC)
    await svc.index_records([_rec(id="x", text="v1", created_at=created, persisted_at=persisted)])
    await svc.index_records([_rec(id="x", text="v2 with different words", topics=["t"])])
    (x,) = await svc.store.get_many(["x"])
    assert x is not None and x.text == "v2 with different words" and x.topics == ["t"]
    assert x.created_at == created and x.persisted_at == persisted
    assert await svc.store.count(None) == 1


async def test_semantic_dedup_within_namespace_and_user_only(redis: Redis, redis_url: str) -> None:
    """Near-identical text is skipped in the same namespace+user, kept in another."""
    svc = await _service(redis, make_settings(redis_url, deduplication_distance_threshold=0.12))
    await svc.index_records([_rec(id="s1", text="I really like green tea", namespace="n", user_id="u")])
    ids = await svc.index_records([
        _rec(id="s2", text="I really like green tea!", namespace="n", user_id="u"),
        _rec(id="s3", text="I really like green tea!", namespace="n", user_id="v"),
        _rec(id="s4", text="completely unrelated sentence", namespace="n", user_id="u"),
    ])
    assert ids == ["s1", "s3", "s4"]
    ids = await svc.index_records([
        _rec(id="b1", text="batch twin sentence here", namespace="n"),
        _rec(id="b2", text="batch twin sentence here.", namespace="n"),
    ])
    assert ids == ["b1", "b1"]


async def test_no_dedup_when_disabled(redis: Redis, redis_url: str) -> None:
    """deduplicate=False stores every record (by its own id)."""
    svc = await _service(redis, make_settings(redis_url))
    ids = await svc.index_records([_rec(id="a", text="t"), _rec(id="b", text="t")],
                                  deduplicate=False)
    assert ids == ["a", "b"] and await svc.store.count(None) == 2


async def test_update_last_accessed_is_throttled(redis: Redis, redis_url: str) -> None:
    """At most one access update per memory per interval; missing ids are ignored."""
    svc = await _service(redis, make_settings(redis_url))
    old = datetime(2020, 1, 1, tzinfo=UTC)
    await svc.index_records([_rec(id="a", text="x", last_accessed=old)])
    assert await svc.update_last_accessed(["a", "a", "missing"], 900) == 1
    assert await svc.update_last_accessed(["a"], 900) == 0
    (a,) = await svc.store.get_many(["a"])
    assert a is not None and a.access_count == 1 and a.last_accessed > old
    assert await svc.update_last_accessed(["a"], 0) == 1


async def test_iter_scope_is_exhaustive_past_10k_cap(redis: Redis, redis_url: str) -> None:
    """iter_scope yields every memory in scope, in batches (cursor, no search cap)."""
    svc = await _service(redis, make_settings(redis_url))
    await svc.index_records([_rec(id=f"i{i}", text=f"memory {i}", namespace="n" if i % 2 else "m")
                             for i in range(2500)], deduplicate=False)
    seen: list[str] = []
    async for batch in svc.iter_scope("n", None, None, batch=300):
        assert len(batch) <= 300
        seen += [r.id for r in batch]
    assert len(seen) == 1250 == len(set(seen))
    assert await svc.delete_ids(seen) == 1250


async def test_search_calls_on_accessed_with_page_ids(redis: Redis, redis_url: str) -> None:
    """The on_accessed hook gets the ids of the returned page."""
    svc = await _service(redis, make_settings(redis_url))
    got: list[list[str]] = []

    async def hook(ids: list[str]) -> None:
        got.append(ids)

    svc.on_accessed = hook
    await svc.index_records([_rec(id="a", text="hello world")])
    await svc.search(LOCAL_ADMIN, SearchRequest(text="hello", search_mode="semantic"))
    assert got == [["a"]]


async def test_index_records_embedding_mismatch_names_reembed(redis: Redis, redis_url: str) -> None:
    """Starting with another model/dimension raises IndexMismatch naming the command."""
    settings = make_settings(redis_url)
    await _service(redis, settings, dims=64)
    store = LongTermStore(redis, settings, 32)
    with pytest.raises(IndexMismatch, match="agent-memory reembed"):
        await store.ensure_index(HashingEmbedder(32).model_id)


async def test_older_schema_migrates_without_losing_documents(redis: Redis, redis_url: str) -> None:
    """An index recorded at an older schema version is redefined in place; hashes stay."""
    settings = make_settings(redis_url)
    svc = await _service(redis, settings)
    await svc.index_records([_rec(id=f"k{i}", text=f"kept {i}") for i in range(20)])
    await redis.hset(ltm_meta_key(settings.redisvl_index_name), "schema_version",
                     VECTOR_SCHEMA_VERSION - 1)
    # simulate the old definition missing a field: drop it and create a smaller one
    await redis.execute_command("FT.DROPINDEX", settings.redisvl_index_name)
    await redis.execute_command("FT.CREATE", settings.redisvl_index_name, "ON", "HASH", "PREFIX", 1,
                                "memory_idx:", "SCHEMA", "text", "TEXT")
    svc2 = await _service(redis, settings)
    meta = await redis.hgetall(ltm_meta_key(settings.redisvl_index_name))
    assert int(meta[b"schema_version"]) == SCHEMA_VERSION
    info = await svc2.store.index.info()
    assert any(a[1] == "importance" for a in info["attributes"])
    # the session context lives in the text index only (a neighbour's update leaves the
    # vector index alone), which has every other field but the vector
    text_info = await svc2.store.text_index.info()
    assert any(a[1] == "context_next" for a in text_info["attributes"])
    assert not any(a[1] == "context_next" for a in info["attributes"])
    assert any(a[1] == "importance" for a in text_info["attributes"])
    assert not any(a[1] == "vector" for a in text_info["attributes"])
    from tests.support.wait import wait_until

    async def all_indexed() -> bool:
        # both indexes: the keyword search below reads the text index, which the migration
        # rebuilds too (waiting on the vector index alone failed once under load)
        return await svc2.store.count(None) == 20 and await svc2.store.indexed_count() == 20

    await wait_until(all_indexed, timeout=10)
    out = await svc2.search(LOCAL_ADMIN, SearchRequest(text="kept", search_mode="keyword", limit=100))
    assert out.total == 20


async def test_a_text_only_migration_keeps_the_vector_index(redis: Redis, redis_url: str) -> None:
    """From a version whose vector index is still current only the text index is rebuilt
    (an HNSW rebuild takes minutes per million memories); its texts become SORTABLE UNF
    and a keyword search finds every memory again."""
    if VECTOR_SCHEMA_VERSION == SCHEMA_VERSION:
        pytest.skip("the current version changed the vector index too")
    settings = make_settings(redis_url)
    svc = await _service(redis, settings)
    await svc.index_records([_rec(id=f"t{i}", text=f"kept text {i}") for i in range(12)])
    name, text_name = settings.redisvl_index_name, svc.store.text_index_name
    await redis.hset(ltm_meta_key(name), "schema_version", VECTOR_SCHEMA_VERSION)
    # the older text index: its text fields not SORTABLE
    await redis.execute_command("FT.DROPINDEX", text_name)
    await redis.execute_command("FT.CREATE", text_name, "ON", "HASH", "PREFIX", 1, "memory_idx:",
                                "SCHEMA", "text", "TEXT", "namespace", "TAG")
    # the vector index re-created with a marker a redefinition would drop (NOFREQS: it
    # only touches the vector index's unused text scoring)
    await redis.execute_command("FT.DROPINDEX", name)
    await redis.ft(name).create_index(
        svc.store.index.schema.redis_fields, no_term_frequencies=True,
        definition=IndexDefinition(prefix=["memory_idx:"], index_type=IndexType.HASH))
    svc2 = await _service(redis, settings)
    meta = await redis.hgetall(ltm_meta_key(name))
    assert int(meta[b"schema_version"]) == SCHEMA_VERSION
    text_info = await svc2.store.text_index.info()
    sortable = {a[1] for a in text_info["attributes"] if "SORTABLE" in a}
    assert {"text", "context_prev", "context_next"} <= sortable
    assert "NOFREQS" in (await svc2.store.index.info())["index_options"]
    from tests.support.wait import wait_until

    async def text_indexed() -> bool:
        return await svc2.store.indexed_count() == 12

    await wait_until(text_indexed, timeout=10)
    out = await svc2.search(LOCAL_ADMIN, SearchRequest(text="kept", search_mode="keyword", limit=100))
    assert out.total == 12


async def test_reembed_flow_switches_model_and_dimensions(redis: Redis, redis_url: str) -> None:
    """The storage steps ``agent-memory reembed`` uses: recreate the index for the new size,
    rewrite every vector (found by key scan), record the model; the new server then starts."""
    settings = make_settings(redis_url)
    old = await _service(redis, settings, dims=64)
    await old.index_records([_rec(id=f"r{i}", text=f"reembed me {i}") for i in range(120)],
                            deduplicate=False)  # 64-dim hashing collides some of these texts
    new_embedder = HashingEmbedder(32)
    store = LongTermStore(redis, settings, 32)
    await store.ensure_index(new_embedder.model_id, check_model=False)
    await store.recreate_index()
    seen = 0
    async for rows in store.scan_texts(batch=50):
        ids = [memory_id for memory_id, _ in rows]
        await store.write_vectors(ids, await new_embedder.embed([text for _, text in rows]))
        seen += len(rows)
    await store.record_model(new_embedder.model_id)
    assert seen == 120
    svc = await _service(redis, settings, dims=32)  # no IndexMismatch any more
    out = await svc.search(LOCAL_ADMIN, SearchRequest(text="reembed me 7", search_mode="semantic"))
    assert out.total == 120 and out.memories[0].id == "r7"


async def test_failing_access_hook_does_not_fail_the_search(redis: Redis, redis_url: str) -> None:
    """Access tracking is best effort: an exception in the hook still returns the results."""
    svc = await _service(redis, make_settings(redis_url))

    async def broken(ids: list[str]) -> None:
        raise RuntimeError("queue down")

    svc.on_accessed = broken
    await svc.index_records([_rec(id="a", text="hello world")])
    out = await svc.search(LOCAL_ADMIN, SearchRequest(text="hello", search_mode="semantic"))
    assert [m.id for m in out.memories] == ["a"]


async def test_large_batch_overwrite_past_search_cap(redis: Redis, redis_url: str) -> None:
    """A 6,000-record batch re-sent by id is found and overwritten (lookups are chunked
    under RediSearch's 10,000-result cap)."""
    svc = await _service(redis, make_settings(redis_url, deduplication_distance_threshold=0))
    records = [_rec(id=f"big{i}", text=f"big batch {i}") for i in range(6000)]
    assert len(await svc.index_records(records)) == 6000
    again = [_rec(id=f"big{i}", text=f"big batch {i} v2") for i in range(6000)]
    assert await svc.index_records(again) == [f"big{i}" for i in range(6000)]
    assert await svc.store.count(None) == 6000
    (last,) = await svc.store.get_many(["big5999"])
    assert last is not None and last.text == "big batch 5999 v2"


async def test_a_stored_value_the_model_now_rejects_is_still_served(redis: Redis,
                                                                    redis_url: str) -> None:
    """Reads validate stored records (it is the fast path) but never fail on one a later
    rule would refuse: an access_count beyond 2**53, as HINCRBY can leave, is read back."""
    svc = await _service(redis, make_settings(redis_url))
    await svc.index_records([_rec(id="big", text="counted a lot")])
    await redis.hset(svc.store.key("big"), "access_count", 2**60)
    (record,) = await svc.store.get_many(["big"])
    assert record is not None and record.access_count == 2**60 and record.text == "counted a lot"
    found = await svc.search(LOCAL_ADMIN, SearchRequest(text="counted", search_mode="semantic"))
    assert [m.access_count for m in found.memories] == [2**60]
