"""The offline adjudicator, through the doors and a real worker: explicit statements only,
at the scope the policy allows, corrections supersede what they correct."""

from __future__ import annotations

import copy
import json
from typing import Any

from redis.asyncio import Redis

from agent_memory.principal import LOCAL_ADMIN
from agent_memory.services.audit import AuditQuery
from tests.ingestion.conftest import PROCESS_EXAMPLE, search
from tests.tasks.conftest import Stack, all_memories, drain


def turn(text: str, n: int, **policy: Any) -> dict[str, Any]:
    body = copy.deepcopy(PROCESS_EXAMPLE)
    body["turn"] = {"user_message": text, "assistant_response": "OK.",
                    "occurred_at": f"2026-03-16T10:{n:02d}:00Z"}
    if policy:
        body["scope_policy"] = policy
    return body


async def facts(stack: Stack, user: str = "user-123") -> list[Any]:
    return [m for m in await all_memories(stack.services, None, user)
            if m.memory_type.value != "message"]


async def run(stack: Stack, body: dict[str, Any]) -> dict[str, Any]:
    response = await stack.client.post("/v1/process", json=body)
    assert response.status_code == 202, response.text
    await drain(stack.docket)
    return (await stack.client.get(f"/v1/jobs/{response.json()['job_id']}")).json()


async def test_preference_then_correction_supersedes(stack: Stack, redis: Redis) -> None:
    """"I prefer pytest over unittest" is a user-scope preference; "actually I prefer
    unittest now" supersedes it: search no longer returns the old one."""
    job = await run(stack, turn("I prefer pytest over unittest", 1))
    assert job["status"] == "succeeded" and job["adjudicator"] == "rules"
    assert job["counts"] == {"added": 1, "updated": 0, "superseded": 0, "skipped": 0}
    (old,) = await facts(stack)
    assert old.text == "User prefers pytest over unittest."
    assert (old.user_id, old.session_id, old.namespace) == ("user-123", None, None)
    assert old.metadata["request"]["trace_id"] == "trace-001"
    assert old.metadata["ingestion"]["adjudicator"] == "rules"
    job = await run(stack, turn("Actually, I prefer unittest now.", 2))
    assert job["counts"] == {"added": 1, "updated": 0, "superseded": 1, "skipped": 0}
    assert job["ids"]["superseded"] == [old.id]
    (new,) = await facts(stack)
    assert new.text == "User prefers unittest."
    assert [m.text for m in await search(stack, "unittest pytest", memory_type={"eq": "semantic"})] \
        == ["User prefers unittest."]
    history = await stack.services.provenance.history(old.id)
    assert [e["event"] for e in history] == ["created", "superseded", "deleted"]
    assert history[1]["superseded_by"] == new.id and history[2]["method"] == "policy"
    events, _ = await stack.services.audit.list(LOCAL_ADMIN, AuditQuery(action="memory.supersede"))
    assert [(e["ids"], e["details"]["superseded_by"]) for e in events] == [([old.id], new.id)]
    assert "pytest" not in json.dumps(events)  # ids and reasons, never the memory's text


async def test_statement_rules(stack: Stack) -> None:
    """Each explicit form the rules know; small talk writes nothing; a repeated fact is
    skipped; "my X is Y" then "my X is Z" replaces the value."""
    await run(stack, turn("Remember that my dog is called Rex. I'm allergic to peanuts!", 1))
    await run(stack, turn("I hate long meetings; my favourite colour is green", 2))
    job = await run(stack, turn("Nice weather today, how are you?", 3))
    assert job["counts"] == {"added": 0, "updated": 0, "superseded": 0, "skipped": 0}
    job = await run(stack, turn("I'm allergic to peanuts.", 4))
    assert job["counts"]["skipped"] == 1 and job["counts"]["added"] == 0
    job = await run(stack, turn("My favourite colour is blue", 5))
    assert job["counts"]["superseded"] == 1
    assert sorted(m.text for m in await facts(stack)) == [
        "User hates long meetings.", "User is allergic to peanuts.",
        "User's dog is called Rex.", "User's favourite colour is blue."]


async def test_write_user_false_never_writes_user_scope(stack: Stack) -> None:
    """write_user=false: the fact lands in the container instead; with write_container
    false too, nothing is written (the rules never widen a personal fact to global)."""
    job = await run(stack, turn("I prefer tabs over spaces", 1, write_user="false"))
    assert job["counts"]["added"] == 1
    (fact,) = await facts(stack)
    assert (fact.user_id, fact.session_id) == ("user-123", "thread-abc")
    job = await run(stack, turn("I love green tea", 2, write_user=False, write_container=False))
    assert job["counts"] == {"added": 0, "updated": 0, "superseded": 0, "skipped": 1}
    assert all(m.session_id is not None for m in await facts(stack))
    assert [m for m in await all_memories(stack.services) if m.user_id is None] == []


async def test_fragment_is_found_right_after_the_202(stack: Stack) -> None:
    """Active memory is written before the answer: a search issued at once finds each
    fragment, by its id."""
    body = {"scope": {"org_id": "org-a", "user_id": "u1", "session_id": "s1"},
            "turns": [{"role": "user", "text": "The launch codeword is periwinkle",
                       "timestamp": "2026-05-08T14:00:00Z"}]}
    response = await stack.client.post("/ingestion/memory", json=body)
    (fragment,) = response.json()["active_fragment_ids"]
    found = await stack.client.post("/v1/long-term-memory/search", json={
        "text": "periwinkle", "namespace": {"eq": "org-a"}, "user_id": {"eq": "u1"}})
    assert [m["id"] for m in found.json()["memories"]] == [fragment]
    assert found.json()["memories"][0]["session_id"] == "s1"
    (created,) = await stack.services.provenance.history(fragment)
    assert (created["event"], created["door"], created["strategy"]) == ("created", "ingestion",
                                                                         "message")
    assert created["job_id"] == response.json()["job_id"] and created["turn_hash"]
