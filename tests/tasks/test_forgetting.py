"""Forgetting: each policy field, dry run, pinned, exhaustive scans, background + status."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from agent_memory.errors import NotFound
from agent_memory.models._types import utcnow
from agent_memory.models.records import MemoryRecord
from agent_memory.principal import Principal
from tests.tasks.conftest import Stack, all_memories, drain


def _rec(memory_id: str, *, age: float = 0, inactive: float = 0, **extra: Any) -> MemoryRecord:
    now = utcnow()
    return MemoryRecord(id=memory_id, text=f"memory {memory_id}", namespace="ns",
                        user_id="u", memory_type=extra.pop("memory_type", "semantic"),
                        created_at=now - timedelta(days=age),
                        last_accessed=now - timedelta(days=inactive), **extra)


async def _seed(stack: Stack, records: list[MemoryRecord]) -> None:
    assert stack.services.long_term is not None
    await stack.services.long_term.index_records(records, deduplicate=False)


async def _forget(stack: Stack, policy: dict[str, Any], *, pinned: list[str] | None = None,
                  **params: Any) -> dict[str, Any]:
    params.setdefault("dry_run", "false")
    body: dict[str, Any] = {"policy": policy}
    if pinned is not None:
        body["pinned_ids"] = pinned
    response = await stack.client.post("/v1/long-term-memory/forget", json=body, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def _ids(stack: Stack) -> set[str]:
    return {m.id for m in await all_memories(stack.services)}


async def test_max_age_days(stack: Stack) -> None:
    """Older than max_age_days is deleted; younger is kept."""
    await _seed(stack, [_rec("old", age=10), _rec("new", age=1)])
    out = await _forget(stack, {"max_age_days": 5})
    assert out == {"scanned": 2, "deleted": 1, "deleted_ids": ["old"], "dry_run": False,
                   "task_id": None, "skipped_damaged": 0}
    assert await _ids(stack) == {"new"}


async def test_max_inactive_days(stack: Stack) -> None:
    """Not accessed for longer than max_inactive_days is deleted."""
    await _seed(stack, [_rec("idle", age=3, inactive=3), _rec("used", age=3, inactive=0.5)])
    out = await _forget(stack, {"max_inactive_days": 2})
    assert out["deleted_ids"] == ["idle"]


async def test_age_and_inactivity_with_hard_multiplier(stack: Stack) -> None:
    """Both set: old AND idle goes; old but active stays unless past age × multiplier."""
    await _seed(stack, [
        _rec("old-idle", age=10, inactive=10),
        _rec("old-active", age=10, inactive=0),
        _rec("ancient-active", age=70, inactive=0),
        _rec("young-idle", age=1, inactive=10),
    ])
    out = await _forget(stack, {"max_age_days": 5, "max_inactive_days": 5,
                                "hard_age_multiplier": 12})
    assert sorted(out["deleted_ids"]) == ["ancient-active", "old-idle"]
    out = await _forget(stack, {"max_age_days": 5, "max_inactive_days": 5,
                                "hard_age_multiplier": 1.5}, dry_run="true")
    assert out["deleted_ids"] == ["old-active"]


async def test_budget_keeps_most_recent(stack: Stack) -> None:
    """budget N keeps the N most recent by the recency score, deletes the rest."""
    await _seed(stack, [_rec(f"m{i}", age=i, inactive=i) for i in range(6)])
    out = await _forget(stack, {"budget": 2})
    assert sorted(out["deleted_ids"]) == ["m2", "m3", "m4", "m5"]
    assert await _ids(stack) == {"m0", "m1"}


async def test_memory_type_allowlist(stack: Stack) -> None:
    """Only the allowed types are candidates."""
    await _seed(stack, [_rec("msg", age=10, memory_type="message"),
                        _rec("sem", age=10, memory_type="semantic")])
    out = await _forget(stack, {"max_age_days": 5, "memory_type_allowlist": ["message"]})
    assert out["deleted_ids"] == ["msg"]


async def test_pinned_are_never_deleted(stack: Stack) -> None:
    """Neither the pinned flag nor pinned_ids can be forgotten, even by a zero budget."""
    await _seed(stack, [_rec("flagged", age=10, pinned=True), _rec("listed", age=10),
                        _rec("plain", age=10)])
    out = await _forget(stack, {"max_age_days": 1}, pinned=["listed"])
    assert out["deleted_ids"] == ["plain"]
    out = await _forget(stack, {"budget": 0}, pinned=["listed"])
    assert out["deleted_ids"] == []
    assert await _ids(stack) == {"flagged", "listed"}


async def test_dry_run_is_the_default_and_deletes_nothing(stack: Stack) -> None:
    """Without dry_run=false nothing is deleted, but the selection is reported."""
    await _seed(stack, [_rec("old", age=10)])
    response = await stack.client.post("/v1/long-term-memory/forget",
                                       json={"policy": {"max_age_days": 1}})
    assert response.json() == {"scanned": 1, "deleted": 1, "deleted_ids": ["old"],
                               "dry_run": True, "task_id": None, "skipped_damaged": 0}
    assert await _ids(stack) == {"old"}


async def test_scope_and_limit(stack: Stack) -> None:
    """The namespace/user/session query narrows the pass; limit caps deletions."""
    others = [_rec(f"o{i}", age=10).model_copy(update={"namespace": "other"}) for i in range(2)]
    await _seed(stack, [_rec(f"m{i}", age=10) for i in range(3)] + others)
    out = await _forget(stack, {"max_age_days": 1}, namespace="ns", limit=2)
    assert out["scanned"] == 3 and out["deleted"] == 2
    assert {i for i in await _ids(stack) if i.startswith("o")} == {"o0", "o1"}


async def test_exhaustive_beyond_1000(stack: Stack) -> None:
    """1,500 memories are all scanned, and the budget keeps the true most recent."""
    records = [_rec(f"m{i:04d}", age=1 + i / 100) for i in range(1500)]
    await _seed(stack, records)
    out = await _forget(stack, {"budget": 10}, limit=5000)
    assert out["scanned"] == 1500 and out["deleted"] == 1490
    assert await _ids(stack) == {f"m{i:04d}" for i in range(10)}


async def test_bad_policy_is_422(stack: Stack) -> None:
    """Unknown policy keys, negative values and unknown types are rejected."""
    for policy in ({"max_age_dayz": 1}, {"budget": -1}, {"memory_type_allowlist": ["x"]}):
        response = await stack.client.post("/v1/long-term-memory/forget", json={"policy": policy})
        assert response.status_code == 422, policy


async def test_background_forget_reports_task_status(stack: Stack) -> None:
    """background=true returns a task id; the worker runs the pass; the status moves to
    success; another tenant sees 404."""
    await _seed(stack, [_rec("old", age=10), _rec("new", age=1)])
    out = await _forget(stack, {"max_age_days": 5}, background="true", namespace="ns")
    task_id = out["task_id"]
    assert task_id and out["deleted"] == 0
    pending = (await stack.client.get(f"/v1/tasks/{task_id}")).json()
    assert pending["status"] == "pending" and pending["type"] == "forget"
    assert pending["started_at"] is None
    await drain(stack.docket)
    done = (await stack.client.get(f"/v1/tasks/{task_id}")).json()
    assert done["status"] == "success" and done["completed_at"] and done["started_at"]
    assert set(done) == {"id", "type", "status", "view_id", "created_at", "started_at",
                         "completed_at", "error_message"}
    assert await _ids(stack) == {"new"}
    background = stack.services.background
    assert background is not None
    with pytest.raises(NotFound):
        await background.task(Principal("other", namespaces=frozenset({"elsewhere"})), task_id)
    assert (await background.task(Principal("mine", namespaces=frozenset({"ns"})), task_id)).id
    assert (await stack.client.get("/v1/tasks/unknown")).status_code == 404
