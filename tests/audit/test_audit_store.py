"""The audit trail and provenance stores against a real Redis."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from agent_memory.principal import LOCAL_ADMIN, Principal
from agent_memory.services.audit import AuditQuery, AuditTrail
from agent_memory.services.provenance import ProvenanceLog
from agent_memory.storage.audit import AuditStore
from agent_memory.storage.keys import AUDIT_STREAM_KEY
from agent_memory.storage.provenance import ProvenanceStore


async def test_events_page_in_order_and_stay_in_bounds(redis: Redis) -> None:
    """A listing pages with a cursor in time order; a bound caller sees only its tenant."""
    trail = AuditTrail(AuditStore(redis, retention_days=30))
    for i in range(5):
        await trail.record("memory.delete", principal=LOCAL_ADMIN, namespace="a", user_id="u1",
                           method="api_delete", ids=[f"m{i}"], counts={"deleted": 1})
    await trail.record("memory.delete", principal=LOCAL_ADMIN, namespace="b", user_id="u2",
                       method="gdpr_request", ids=["x"])
    first, cursor = await trail.list(LOCAL_ADMIN, AuditQuery(limit=4))
    rest, end = await trail.list(LOCAL_ADMIN, AuditQuery(limit=4, after=cursor))
    assert [e["ids"] for e in first + rest] == [["m0"], ["m1"], ["m2"], ["m3"], ["m4"], ["x"]]
    assert end is None
    assert first[0]["subject"] == "local-dev-user" and first[0]["counts"] == {"deleted": 1}

    bound = Principal(subject="t", namespaces=frozenset({"b"}))
    events, _ = await trail.list(bound, AuditQuery())
    assert [e["namespace"] for e in events] == ["b"]
    only_gdpr, _ = await trail.list(LOCAL_ADMIN, AuditQuery(method="gdpr_request"))
    assert [e["ids"] for e in only_gdpr] == [["x"]]


async def test_trimming_is_by_age(redis: Redis) -> None:
    """Events older than the retention go; a burst of new ones does not push out old ones."""
    old_ms = int(time.time() * 1000) - 10 * 86_400_000
    await redis.xadd(AUDIT_STREAM_KEY, {"action": "old"}, id=f"{old_ms}-0")
    store = AuditStore(redis, retention_days=1)
    for _ in range(50):
        await store.append({"action": "new"})
    await store.trim()
    actions = [e["action"] for e in await store.read(after=None, since_ms=None, until_ms=None,
                                                     count=1000)]
    assert actions == ["new"] * 50


async def test_provenance_history(redis: Redis) -> None:
    """Events come back oldest first and are removed with the memory."""
    log = ProvenanceLog(ProvenanceStore(redis))
    await log.record("m1", "created", door="ams", session_id="s", task_id=None)
    await log.record_many(["m1", "m2"], "tier_moved", tier="warm")
    history = await log.history("m1")
    assert [e["event"] for e in history] == ["created", "tier_moved"]
    assert history[0]["door"] == "ams" and "task_id" not in history[0]
    assert await log.forget(["m1", "m2"]) == 2
    assert await log.history("m1") == []
