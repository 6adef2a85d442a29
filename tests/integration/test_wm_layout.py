"""The session layout: newest-N reads, folds of the oldest messages, flags by id, and the
rewrite of sessions stored by the first layout."""

from __future__ import annotations

import json

from redis.asyncio import Redis

from agent_memory.models.records import WorkingMemoryRecord
from agent_memory.models.working_memory import MemoryMessage, MemoryStrategyConfig
from agent_memory.storage.keys import LAYOUT_MARKER_KEY, working_memory_key
from agent_memory.storage.working_memory import NewSession, WorkingMemoryStore


def _msg(i: int) -> tuple[MemoryMessage, int]:
    return MemoryMessage(role="user", content=f"message {i}", id=f"id{i}"), 3


async def test_a_limited_read_returns_the_newest_messages_in_order(redis: Redis) -> None:
    store = WorkingMemoryStore(redis)
    for start in range(0, 300, 50):
        await store.append("ns", "u", "s", [_msg(i) for i in range(start, start + 50)])
    newest = await store.get("ns", "u", "s", limit=5)
    assert newest is not None and not newest.complete
    assert [m.message.id for m in newest.messages] == [f"id{i}" for i in range(295, 300)]
    assert [m.seq for m in newest.messages] == list(range(296, 301))
    assert newest.message_tokens == 300 * 3  # the session's total, not the page's
    whole = await store.get("ns", "u", "s")
    assert whole is not None and whole.complete and len(whole.messages) == 300
    assert (await store.get("ns", "u", "s", limit=1000)).complete  # type: ignore[union-attr]


async def test_a_limited_read_does_not_read_older_messages(redis: Redis) -> None:
    """What a newest-N read costs Redis does not grow with the session."""
    store = WorkingMemoryStore(redis)

    async def fields_read() -> int:
        await redis.config_resetstat()
        await store.get("ns", "u", "s", limit=3)
        stats = await redis.info("commandstats")
        return int(stats["cmdstat_hmget"]["calls"]), int(stats.get("cmdstat_hgetall", {}).get("calls", 0))

    await store.append("ns", "u", "s", [_msg(i) for i in range(10)])
    small = await fields_read()
    await store.append("ns", "u", "s", [_msg(i) for i in range(10, 2000)])
    assert await fields_read() == small == (2, 0)  # meta + one page of fields, no HGETALL


async def test_appending_a_stored_id_again_is_a_no_op(redis: Redis) -> None:
    store = WorkingMemoryStore(redis)
    await store.append("ns", "u", "s", [_msg(1), _msg(2)])
    session, added, _ = await store.append("ns", "u", "s", [_msg(2), _msg(3)], limit=10)
    assert added == 1
    assert [m.message.id for m in session.messages] == ["id1", "id2", "id3"]
    assert session.message_tokens == 9


async def test_fold_removes_the_oldest_and_limited_reads_follow(redis: Redis) -> None:
    store = WorkingMemoryStore(redis)
    session, _, _ = await store.append("ns", "u", "s", [_msg(i) for i in range(10)])
    assert await store.fold(session, session.messages[3].seq, "summary of 0-3")
    await store.append("ns", "u", "s", [_msg(10)])
    after = await store.get("ns", "u", "s")
    assert after is not None and after.context == "summary of 0-3"
    assert [m.message.id for m in after.messages] == [f"id{i}" for i in range(4, 11)]
    assert after.message_tokens == 7 * 3
    newest = await store.get("ns", "u", "s", limit=100)
    assert newest is not None and newest.complete and len(newest.messages) == 7
    # A folded id is gone from the index too: sending it again appends it anew.
    _, added, _ = await store.append("ns", "u", "s", [_msg(0)])
    assert added == 1
    # A fold planned on a stale read (the summary version moved) changes nothing.
    assert not await store.fold(session, session.messages[5].seq, "late")


async def test_flags_are_set_by_id_on_messages_and_memories(redis: Redis) -> None:
    store = WorkingMemoryStore(redis)
    record = WorkingMemoryRecord(id="r1", text="likes tea")
    await store.replace(NewSession("s", "ns", "u", [_msg(1), _msg(2)], [record], None, None,
                                   None, MemoryStrategyConfig()))
    changed = await store.mark("ns", "u", "s", extracted_messages=["id2", "gone"],
                               persisted_messages=["id1"], persisted_memories=["r1"],
                               persisted_at=1_700_000_000.0)
    assert changed == 3
    session = await store.get("ns", "u", "s")
    assert session is not None
    one, two = (m.message for m in session.messages)
    assert one.persisted_at is not None and one.discrete_memory_extracted == "f"
    assert two.persisted_at is None and two.discrete_memory_extracted == "t"
    assert session.memories[0].persisted_at is not None
    assert session.memories[0].persisted_at.timestamp() == 1_700_000_000.0


async def test_sessions_of_the_first_layout_are_rewritten_at_startup(redis: Redis) -> None:
    """A session stored by the first layout (messages keyed by id) reads the same after
    the startup migration, flags and structured memories included; ids that look like
    numbers do not collide with the new seq-keyed fields."""
    key = working_memory_key("ns", "u", "old")
    body = {"role": "user", "content": "hello", "created_at": 1_700_000_000.0}
    await redis.hset(key, mapping={
        "session_id": "old", "namespace": "ns", "user_id": "u", "version": 4, "cver": 1,
        "seq": 3, "mtok": 9, "created_at": 1.0, "updated_at": 2.0, "last_accessed": 2.0,
        "context": "earlier",
        "m:2": "3\t4\t" + json.dumps({**body, "id": "2", "content": "second"}),
        "m:b": "2\t4\t" + json.dumps({**body, "id": "b", "content": "first"}),
        "m:z": "5\t1\t" + json.dumps({**body, "id": "z", "content": "third"}),
        "x:b": "t", "p:2": "1700000001.0",
        "r:k": "1\t" + WorkingMemoryRecord(id="k", text="likes jazz").model_dump_json(),
        "rp:k": "1700000002.0",
    })
    await redis.delete(LAYOUT_MARKER_KEY)
    store = WorkingMemoryStore(redis)
    assert await store.migrate_layout() == 1
    assert await store.migrate_layout() == 0  # marker set: no second scan
    session = await store.get("ns", "u", "old")
    assert session is not None and session.version == 4 and session.context == "earlier"
    assert [(m.message.id, m.message.content, m.tokens) for m in session.messages] == [
        ("b", "first", 4), ("2", "second", 4), ("z", "third", 1)]
    first, second, _ = (m.message for m in session.messages)
    assert first.discrete_memory_extracted == "t" and second.persisted_at is not None
    assert [r.id for r in session.memories] == ["k"]
    assert session.memories[0].persisted_at is not None
    # Writes keep working on the rewritten session.
    _, added, _ = await store.append("ns", "u", "old", [_msg(9), (first, 4)])
    assert added == 1
    again = await store.get("ns", "u", "old", limit=2)
    assert again is not None and [m.message.id for m in again.messages] == ["z", "id9"]
