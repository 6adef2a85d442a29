"""Forget with a reason: invisible everywhere at once, restorable, purged after the grace."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from redis.asyncio import Redis

from agent_memory.storage.keys import TRASH_DUE_KEY
from tests.support.wait import wait_until
from tests.tasks.conftest import Stack, open_stack, task_settings, worker_on

NS, USER = "ns-f", "u-f"


def _messages(prefix: str, n: int) -> list[dict[str, Any]]:
    return [{"id": f"{prefix}{i}", "text": f"{prefix} message {i} mentions zebra{i}",
             "memory_type": "message", "session_id": "s1", "namespace": NS, "user_id": USER,
             "created_at": f"2026-01-01T00:00:0{i}Z"} for i in range(n)]


async def _create(stack: Stack, records: list[dict[str, Any]]) -> None:
    res = await stack.client.post("/v1/long-term-memory/", json={"memories": records})
    assert res.status_code == 200, res.text


async def _search_ids(stack: Stack, text: str) -> set[str]:
    res = await stack.client.post("/v1/long-term-memory/search",
                                  json={"text": text, "namespace": {"eq": NS}, "limit": 50})
    assert res.status_code == 200, res.text
    return {m["id"] for m in res.json()["memories"]}


async def test_forgotten_memory_leaves_every_route_at_once(stack: Stack, redis: Redis) -> None:
    """After forget: 404 by id, absent from keyword and semantic search, from the prompt,
    from its session neighbours' context fields; the response lists what was forgotten."""
    await _create(stack, _messages("m", 3))
    assert "m1" in await _search_ids(stack, "zebra1")
    prompt_body = {"query": "zebra1",
                   "long_term_search": {"text": "zebra1", "namespace": {"eq": NS}}}
    before = await stack.client.post("/v1/memory/prompt", json=prompt_body)
    assert "zebra1" in str(before.json()["messages"][:-1])
    res = await stack.client.post("/v1/memories/forget",
                                  json={"memory_ids": ["m1", "nope"], "reason": "user asked"})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["forgotten"] == ["m1"] and body["not_found"] == ["nope"]
    assert body["method"] == "user_request" and body["grace_days"] == 7
    assert body["purge_after"]

    assert (await stack.client.get("/v1/long-term-memory/m1")).status_code == 404
    for mode in ("keyword", "semantic", "hybrid"):
        res = await stack.client.post("/v1/long-term-memory/search", json={
            "text": "zebra1 message", "search_mode": mode, "namespace": {"eq": NS},
            "limit": 50})
        assert "m1" not in {m["id"] for m in res.json()["memories"]}, mode
    prompt = await stack.client.post("/v1/memory/prompt", json=prompt_body)
    assert prompt.status_code == 200, prompt.text
    assert "zebra1" not in str(prompt.json()["messages"][:-1])
    # The neighbours no longer carry the forgotten text in their context fields.
    for key in await redis.keys("memory_idx:*"):
        fields = await redis.hgetall(key)
        assert b"zebra1" not in fields.get(b"context_prev", b"") + fields.get(
            b"context_next", b""), key


async def test_method_rules(stack: Stack) -> None:
    """GDPR Article 17 / right to be forgotten / explicit method → gdpr_request; AMS
    DELETE → api_delete; a plain reason → user_request; all leave one audit event."""
    await _create(stack, [{"id": f"r{i}", "text": f"fact {i}", "namespace": NS,
                           "user_id": USER} for i in range(6)])
    cases = [
        ({"memory_ids": [0], "reason": "x"}, None),  # integer id, not stored
        ({"memory_ids": ["r0"], "reason": "User data subject request under GDPR Article 17"},
         "gdpr_request"),
        ({"memory_ids": ["r1"], "reason": "exercising my Right to be Forgotten"},
         "gdpr_request"),
        ({"memory_ids": ["r2"], "method": "gdpr_request"}, "gdpr_request"),
        ({"memory_ids": ["r3"], "reason": "no longer relevant"}, "user_request"),
        ({"memory_ids": ["r4"], "reason": "Art. 17 request", "method": "user_request"},
         "user_request"),
    ]
    for body, method in cases:
        res = await stack.client.post("/v1/memories/forget", json=body)
        assert res.status_code == 200, res.text
        if method is not None:
            assert res.json()["method"] == method, body
    res = await stack.client.delete("/v1/long-term-memory", params={"memory_ids": ["r5"]})
    assert res.json()["status"] == "ok, deleted 1 memories"  # AMS clients keep this answer
    events = (await stack.client.get("/v1/audit", params={"namespace": NS})).json()["events"]
    deletes = [e for e in events if e["action"] in ("memory.forget", "memory.delete")]
    assert [(e["ids"], e["method"]) for e in deletes] == [
        (["r0"], "gdpr_request"), (["r1"], "gdpr_request"), (["r2"], "gdpr_request"),
        (["r3"], "user_request"), (["r4"], "user_request"), (["r5"], "api_delete")]
    assert deletes[0]["reason"] == "User data subject request under GDPR Article 17"


async def test_bad_forget_requests_are_422_and_write_nothing(stack: Stack) -> None:
    """Empty id list, blank ids, negative ints, unknown fields, unknown methods: 422."""
    await _create(stack, [{"id": "keep", "text": "kept fact", "namespace": NS}])
    for body in ({"memory_ids": []}, {"memory_ids": [""]}, {"memory_ids": [-1]},
                 {"memory_ids": ["keep"], "extra": 1}, {"memory_ids": ["keep"],
                                                        "method": "erase"},
                 {"memory_ids": ["keep"], "reason": "x" * 501}, {"memory_ids": "keep"},
                 {"memory_ids": [None]}, {"memory_ids": [1.5]}, {"memory_ids": [True]},
                 {"memory_ids": [{"id": "keep"}]}):
        res = await stack.client.post("/v1/memories/forget", json=body)
        assert res.status_code == 422, (body, res.text)
        assert "detail" in res.json() and res.json()["error"]["code"] == "validation_error"
    assert (await stack.client.get("/v1/long-term-memory/keep")).status_code == 200


async def test_restore_within_grace(stack: Stack, redis: Redis) -> None:
    """Restore brings a forgotten memory back, searchable at once, with its neighbours'
    context relinked; a second restore is 404; another tenant's is 404."""
    await _create(stack, _messages("m", 3))
    await stack.client.post("/v1/memories/forget", json={"memory_ids": ["m1"]})
    res = await stack.client.post("/v1/memories/m1/restore")
    assert res.status_code == 200, res.text
    assert res.json() == {"id": "m1", "status": "restored", "namespace": NS,
                          "user_id": USER, "deleted_method": "user_request"}
    assert (await stack.client.get("/v1/long-term-memory/m1")).status_code == 200
    assert "m1" in await _search_ids(stack, "zebra1")
    prev = await redis.hget("memory_idx:m2", "context_prev")
    assert prev is not None and b"zebra1" in prev
    assert await redis.zcard(TRASH_DUE_KEY) == 0
    assert (await stack.client.post("/v1/memories/m1/restore")).status_code == 404
    history = (await stack.client.get("/v1/memories/m1/provenance")).json()
    assert [e["event"] for e in history["events"]] == ["created", "deleted", "restored"]


async def test_restore_conflicts_and_grace_over(redis_url: str, redis: Redis) -> None:
    """A new memory under the id blocks restore (409); past the grace it is 410."""
    settings = task_settings(redis_url, soft_delete_grace_days=1 / 86400)  # one second
    async with open_stack(settings) as stack:
        await _create(stack, [{"id": "a", "text": "alpha"}, {"id": "b", "text": "beta"}])
        await stack.client.post("/v1/memories/forget", json={"memory_ids": ["a", "b"]})
        await _create(stack, [{"id": "a", "text": "alpha again"}])
        assert (await stack.client.post("/v1/memories/a/restore")).status_code == 409
        await asyncio.sleep(1.1)
        res = await stack.client.post("/v1/memories/b/restore")
        assert res.status_code == 410 and res.json()["error"]["code"] == "gone"


async def test_scheduled_purge_after_grace(redis_url: str, redis: Redis) -> None:
    """The Perpetual purge removes trashed memories (and their provenance) once the
    grace is over, leaves live ones, and records one purge event."""
    settings = task_settings(redis_url, soft_delete_grace_days=1 / 86400,
                             trash_purge_every_minutes=0.005)
    async with open_stack(settings) as stack:
        await _create(stack, [{"id": "gone", "text": "purge me", "namespace": NS},
                              {"id": "stay", "text": "keep me", "namespace": NS}])
        await stack.client.post("/v1/memories/forget", json={"memory_ids": ["gone"]})
        assert await redis.exists("am:trash:{memory_idx:gone}")
        async with worker_on(stack.docket, automatic=True) as worker:
            running = asyncio.create_task(worker.run_forever())
            try:
                async def purged() -> bool:
                    return not await redis.exists("am:trash:{memory_idx:gone}")

                await wait_until(purged, timeout=20)
            finally:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
        assert not await redis.exists("am:prov:gone")
        assert await redis.zcard(TRASH_DUE_KEY) == 0
        assert (await stack.client.get("/v1/long-term-memory/stay")).status_code == 200
        assert (await stack.client.post("/v1/memories/gone/restore")).status_code == 404
        events = (await stack.client.get("/v1/audit",
                                         params={"action": "memory.purge"})).json()["events"]
        assert [(e["ids"], e["subject"], e["counts"]) for e in events] == [
            (["gone"], "system", {"purged": 1})]
