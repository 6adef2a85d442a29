"""Erase a person: nothing left through any route, in any Redis key or field, or on disk.

Runs against a dedicated Redis with the append-only file on (the session's test Redis
runs without it) and RDB compression off, so a value left in the AOF's RDB preamble would
be visible to the byte scan; the other user's markers are the positive control.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from agent_memory.embedded_redis import EmbeddedRedis, temporary_redis
from agent_memory.models.summary_views import SummaryView, SummaryViewPartitionResult
from tests.tasks.conftest import Stack, drain, open_stack, task_settings

NS = "acme"


@pytest.fixture(scope="module")
def aof_redis() -> Iterator[EmbeddedRedis]:
    """A real Redis of this module's own, persisting through its append-only file."""
    with temporary_redis(persistent=True, prefix="am-test-aof-") as server:
        yield server


@pytest.fixture
async def aof_client(aof_redis: EmbeddedRedis) -> AsyncIterator[Redis]:
    client = Redis.from_url(aof_redis.url)
    await client.flushall()
    await client.config_set("rdbcompression", "no")
    yield client
    await client.aclose()


def _markers(who: str) -> list[str]:
    tag = uuid.uuid4().hex[:10]
    return [f"mk{who}{tag}x{i}" for i in range(8)]


async def _populate(stack: Stack, user: str, marks: list[str]) -> list[str]:
    """Sessions, long-term memories (one trashed), promoted messages, folded messages and
    an access-tracked search for ``user``; returns the long-term ids written directly."""
    c = stack.client
    for n, session in enumerate(("s1", "s2")):
        body = {"namespace": NS, "user_id": user, "context": f"summary {marks[0]}",
                "messages": [{"id": f"{session}-m{i}", "role": "user",
                              "content": f"{marks[1 + n]} turn {i}"} for i in range(3)],
                "memories": [{"id": f"{user}-{session}-wm", "text": f"{marks[3]} structured"}]}
        assert (await c.put(f"/v1/working-memory/{session}", json=body)).status_code == 200
    ids = [f"{user}-ltm{i}" for i in range(3)]
    res = await c.post("/v1/long-term-memory/", json={"memories": [
        {"id": ids[i], "text": f"{marks[4 + i]} fact", "namespace": NS, "user_id": user,
         "session_id": "s1", "memory_type": "message",
         "created_at": f"2026-01-01T00:00:0{i}Z"} for i in range(3)]})
    assert res.status_code == 200, res.text
    assert (await c.post("/v1/memories/forget", json={"memory_ids": [ids[2]]})).json()[
        "forgotten"] == [ids[2]]
    await drain(stack.docket)
    # Messages a summary folded away, waiting for the next promotion run.
    promotion = stack.services.background.promotion  # type: ignore[union-attr]
    from agent_memory.models.working_memory import MemoryMessage

    await promotion.store.park_folded(NS, user, "s1", [MemoryMessage(
        id="folded-1", role="user", content=f"{marks[7]} folded away")])
    # A summary-view partition about this user (computed earlier by a view run).
    views = stack.services.summary_views.store  # type: ignore[union-attr]
    if not await views.list():
        await views.save(SummaryView(id="v1", source="long_term", group_by=["user_id"]))
    await views.save_partition(SummaryViewPartitionResult(
        view_id="v1", group={"user_id": user}, summary=f"{marks[3]} summarized",
        memory_count=3))
    search = await c.post("/v1/long-term-memory/search",
                          json={"text": marks[4], "user_id": {"eq": user}})
    assert search.json()["memories"], search.text  # noted in the access-tracking queue
    return ids


async def _every_value(redis: Redis) -> bytes:
    """Every key name and every value or field of every key, concatenated."""
    out = bytearray()
    async for key in redis.scan_iter(count=1000):
        out += key + b"\n"
        kind = (await redis.type(key)).decode()
        if kind == "string":
            out += await redis.get(key) or b""
        elif kind == "hash":
            for f, v in (await redis.hgetall(key)).items():
                out += f + b"=" + v + b"\n"
        elif kind == "list":
            out += b"\n".join(await redis.lrange(key, 0, -1))
        elif kind == "set":
            out += b"\n".join(await redis.smembers(key))
        elif kind == "zset":
            out += b"\n".join(await redis.zrange(key, 0, -1))
        elif kind == "stream":
            for _, fields in await redis.xrange(key):
                for f, v in fields.items():
                    out += f + b"=" + v + b"\n"
        elif kind == "ReJSON-RL":
            out += str(await redis.execute_command("JSON.GET", key)).encode()
        else:
            raise AssertionError(f"unscanned key type {kind} of {key!r}")
        out += b"\n"
    return bytes(out)


def _aof_bytes(server: EmbeddedRedis) -> bytes:
    folder = Path(server.data_dir) / "appendonlydir"
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())


async def _routes_show(stack: Stack, user: str, ids: list[str]) -> list[Any]:
    """What every read route returns for ``user``."""
    c = stack.client
    seen: list[Any] = []
    sessions = await c.get("/v1/working-memory/", params={"namespace": NS, "user_id": user})
    seen += sessions.json()["sessions"]
    for session in ("s1", "s2"):
        res = await c.get(f"/v1/working-memory/{session}",
                          params={"namespace": NS, "user_id": user})
        if res.status_code != 404:
            seen.append(res.json())
    found = await c.post("/v1/long-term-memory/search",
                         json={"text": "fact", "user_id": {"eq": user}, "limit": 100})
    seen += found.json()["memories"]
    for memory_id in ids:
        for path in (f"/v1/long-term-memory/{memory_id}", f"/v1/memories/{memory_id}/provenance"):
            res = await c.get(path)
            if res.status_code != 404:
                seen.append(res.json())
        if (await c.post(f"/v1/memories/{memory_id}/restore")).status_code != 404:
            seen.append(("restored", memory_id))
    partitions = await c.get("/v1/summary-views/v1/partitions", params={"user_id": user})
    if partitions.status_code == 200:
        seen += [p for p in partitions.json() if p["group"].get("user_id") == user]
    prompt = await c.post("/v1/memory/prompt", json={
        "query": "fact", "session": {"session_id": "s1", "namespace": NS, "user_id": user},
        "long_term_search": {"text": "fact", "user_id": {"eq": user}}})
    if prompt.status_code == 200:
        seen += [m for m in prompt.json()["messages"][:-1]  # all but the query itself
                 if "No relevant long-term memories found" not in str(m)]
    return seen


async def test_erase_leaves_nothing_anywhere(aof_redis: EmbeddedRedis,
                                             aof_client: Redis) -> None:
    """After the erase task: no route shows the user, no key or field and no AOF byte
    holds any of their markers, and the other user's data is all still there."""
    victim, bystander = _markers("v"), _markers("b")
    async with open_stack(task_settings(aof_redis.url)) as stack:
        victim_ids = await _populate(stack, "victim", victim)
        bystander_ids = await _populate(stack, "bystander", bystander)
        before = await _every_value(aof_client)
        assert all(m.encode() in before for m in victim + bystander)
        res = await stack.client.post("/v1/users/victim/erase",
                                      json={"namespace": NS, "reason": "GDPR Art. 17"})
        assert res.status_code == 202, res.text
        task_id = res.json()["task_id"]
        assert res.json()["status"] == "pending"
        await drain(stack.docket)
        status = (await stack.client.get(f"/v1/users/victim/erase/{task_id}")).json()
        assert status["status"] == "success", status
        stores = status["result"]["stores"]
        assert stores["working_memory"]["sessions"] == 2
        assert stores["working_memory"]["folded_message_archives"] == 1
        assert stores["long_term"]["trash"] == 1
        assert stores["summary_views"]["partitions"] == 1
        assert stores["long_term"]["memories"] >= 2 + 6  # direct + promoted messages
        assert stores["long_term"]["provenance"] >= 3
        assert status["result"]["aof"] == "rewritten"

        assert await _routes_show(stack, "victim", victim_ids) == []
        assert len(await _routes_show(stack, "bystander", bystander_ids)) > 5

        after = await _every_value(aof_client)
        assert [m for m in victim if m.encode() in after] == []
        assert [m for m in bystander if m.encode() in after] == bystander
        on_disk = _aof_bytes(aof_redis)
        assert [m for m in victim if m.encode() in on_disk] == []
        assert [m for m in bystander if m.encode() in on_disk] == bystander

        events = (await stack.client.get("/v1/audit", params={
            "user_id": "victim", "action": "user.erase"})).json()["events"]
        assert [e["outcome"] for e in events] == ["requested", "erased"]
        assert events[1]["counts"]["working_memory.sessions"] == 2
        assert not any(m in str(events) for m in victim)
