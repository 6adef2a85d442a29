"""A create with dedup costs two Redis round trips (lookups, then the write with its
provenance events), and the events are the same as when they had their own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from agent_memory.embeddings import HashingEmbedder
from agent_memory.models.long_term import ExtractedMemoryRecord
from agent_memory.principal import LOCAL_ADMIN
from agent_memory.services.long_term import LongTermService
from agent_memory.services.provenance import ProvenanceLog
from agent_memory.storage import mux as mux_module
from agent_memory.storage.long_term import LongTermStore
from agent_memory.storage.provenance import ProvenanceStore
from tests.conftest import make_settings


async def _service(redis: Redis, redis_url: str) -> LongTermService:
    settings = make_settings(redis_url)
    embedder = HashingEmbedder(32)
    store = LongTermStore(redis, settings, 32)
    await store.ensure_index(embedder.model_id)
    svc = LongTermService(store, embedder, settings)
    svc.provenance = ProvenanceLog(ProvenanceStore(redis))
    return svc


def _count_round_trips(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sent: list[int] = []
    send = mux_module._Link.send

    def counting(self: mux_module._Link, packed: object) -> object:
        sent.append(len(packed))  # type: ignore[arg-type]
        return send(self, packed)  # type: ignore[arg-type]

    monkeypatch.setattr(mux_module._Link, "send", counting)
    return sent


async def test_create_with_dedup_is_two_round_trips_with_provenance(
        redis: Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ten new memories: the lookups (ids, hashes, ten range searches) in one round trip,
    the ten writes and their ten ``created`` events in the next; every memory's history
    holds exactly one ``created`` event."""
    svc = await _service(redis, redis_url)
    await svc.create(LOCAL_ADMIN, [ExtractedMemoryRecord(id="warm", text="warm up")])
    sent = _count_round_trips(monkeypatch)
    records = [ExtractedMemoryRecord(id=f"m{i}", text=f"fact number {i} about topic {i * 7}",
                                     user_id="u") for i in range(10)]
    assert await svc.create(LOCAL_ADMIN, records) == [f"m{i}" for i in range(10)]
    assert len(sent) == 2 and sent[1] == 20
    for i in range(10):
        (event,) = await svc.provenance.history(f"m{i}")  # type: ignore[union-attr]
        assert event["event"] == "created" and event["door"] == "ams"


async def test_all_duplicates_still_record_merged_events_once(
        redis: Redis, redis_url: str) -> None:
    """A batch whose every memory is a duplicate writes no memory; the ``merged`` events
    are still recorded, once each."""
    svc = await _service(redis, redis_url)
    await svc.create(LOCAL_ADMIN, [ExtractedMemoryRecord(id="orig", text="likes tea")])
    ids = await svc.create(LOCAL_ADMIN, [ExtractedMemoryRecord(id="dup", text="likes tea")])
    assert ids == ["orig"]
    events = await svc.provenance.history("orig")  # type: ignore[union-attr]
    assert [e["event"] for e in events] == ["created", "merged"]
    assert events[1]["candidate"]["source_id"] == "dup"


async def test_events_are_recorded_once_when_the_write_runs_a_script(
        redis: Redis, redis_url: str) -> None:
    """A memory with an expiry makes the write run a script (a ``NOSCRIPT`` would re-send
    its pipeline): the events go in their own round trip after it, once, even when the
    script cache was flushed."""
    svc = await _service(redis, redis_url)
    await redis.script_flush()
    expires = datetime.now(UTC) + timedelta(days=1)
    await svc.create(LOCAL_ADMIN, [ExtractedMemoryRecord(id="e1", text="expiring fact",
                                                         expires_at=expires)])
    events = await svc.provenance.history("e1")  # type: ignore[union-attr]
    assert [e["event"] for e in events] == ["created"]
    assert await redis.exists("memory_idx:e1") == 1
