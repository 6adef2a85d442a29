"""The model adjudicator: one JSON-mode call per exchange that sees the user's memories,
held to the scope policy; its usage and provenance are recorded; a failure is reported."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from agent_memory.storage.jobs import JobStore
from tests.ingestion.conftest import INGESTION_EXAMPLE, PROCESS_EXAMPLE
from tests.support.stub_openai import StubOpenAI, reply_json
from tests.tasks.conftest import Stack, all_memories, drain


def _existing(request: dict[str, Any]) -> list[dict[str, Any]]:
    prompt = request["messages"][0]["content"]
    match = re.search(r"Existing memories \(JSON\): (\[.*?\])\n", prompt, re.DOTALL)
    assert match is not None
    return json.loads(match.group(1))


async def test_model_decides_and_supersedes(model_stack: Stack, stub_openai: StubOpenAI) -> None:
    """First turn: the model adds a user fact and a global one (global forbidden by the
    policy: narrowed to the user). Second turn: it sees the stored fact and supersedes it."""
    stub_openai.chat_replies.append(reply_json({"memories": [
        {"action": "add", "text": "User prefers pytest", "scope": "user",
         "topics": ["testing"], "entities": ["pytest"]},
        {"action": "add", "text": "pytest is a Python test runner", "scope": "global"},
    ]}))

    def supersede(request: dict[str, Any]) -> str:
        (seen,) = [m for m in _existing(request) if m["text"] == "User prefers pytest"]
        return reply_json({"memories": [{"action": "supersede", "target_id": seen["id"],
                                         "text": "User prefers unittest", "scope": "user"}]})

    stub_openai.chat_replies.append(supersede)
    body = copy.deepcopy(PROCESS_EXAMPLE)
    body["scope_policy"]["write_global"] = "false"
    first = (await model_stack.client.post("/v1/process", json=body)).json()
    await drain(model_stack.docket)
    job = (await model_stack.client.get(f"/v1/jobs/{first['job_id']}")).json()
    assert job["status"] == "succeeded", job
    assert (job["adjudicator"], job["model_calls"], job["counts"]["added"]) == ("model", 1, 2)
    assert job["usage"] == {"prompt_tokens": 1, "completion_tokens": 1}
    facts = [m for m in await all_memories(model_stack.services)
             if m.memory_type.value != "message"]
    assert {(m.text, m.user_id) for m in facts} == {
        ("User prefers pytest", "user-123"), ("pytest is a Python test runner", "user-123")}
    (pref,) = [m for m in facts if m.text == "User prefers pytest"]
    assert pref.topics == ["testing"] and pref.entities == ["pytest"]
    created = (await model_stack.services.provenance.history(pref.id))[0]
    assert (created["event"], created["door"], created["strategy"]) == ("created", "process", "model")
    assert created["prompt_version"] and created["job_id"] == first["job_id"]
    request = stub_openai.chat_requests()[0]
    assert request["response_format"] == {"type": "json_object"}
    body["turn"].update(user_message="Actually I use unittest now.", user_message_id="msg-u-2",
                        assistant_message_id="msg-a-2")
    second = (await model_stack.client.post("/v1/process", json=body)).json()
    await drain(model_stack.docket)
    job = (await model_stack.client.get(f"/v1/jobs/{second['job_id']}")).json()
    assert job["counts"]["superseded"] == 1 and job["ids"]["superseded"] == [pref.id]
    texts = {m.text for m in await all_memories(model_stack.services)
             if m.memory_type.value != "message"}
    assert texts == {"User prefers unittest", "pytest is a Python test runner"}


async def test_one_call_per_exchange(model_stack: Stack, stub_openai: StubOpenAI) -> None:
    """Four turns, two of them the user's: two calls, each with its own exchange."""
    stub_openai.default_reply = reply_json({"memories": []})
    body = copy.deepcopy(INGESTION_EXAMPLE)
    body["turns"] += [
        {"role": "user", "text": "Also, I live in Porto.", "timestamp": "2026-05-08T14:01:00Z"},
        {"role": "assistant", "text": "Noted.", "timestamp": "2026-05-08T14:01:01Z"}]
    response = (await model_stack.client.post("/ingestion/memory", json=body)).json()
    await drain(model_stack.docket)
    turns = [json.loads(re.search(r"Turn \(JSON\): (.*)$", r["messages"][0]["content"],
                                  re.DOTALL).group(1))  # type: ignore[union-attr]
             for r in stub_openai.chat_requests()]
    assert [[t["text"] for t in turn] for turn in turns] == [
        ["I'm allergic to shellfish.", "Got it."], ["Also, I live in Porto.", "Noted."]]
    job = (await model_stack.client.get(f"/v1/jobs/{response['job_id']}")).json()
    assert job["model_calls"] == 2 and job["counts"]["added"] == 0


async def test_failed_model_call_fails_the_job(model_stack: Stack,
                                               stub_openai: StubOpenAI) -> None:
    """The last attempt of a job whose model call fails: ``failed`` with the error."""
    stub_openai.fail_status = 500
    response = (await model_stack.client.post("/v1/process", json=PROCESS_EXAMPLE)).json()
    runner = model_stack.services.ingestion_jobs
    assert runner is not None
    try:
        await runner.run(response["job_id"], final_attempt=True)
    except Exception as exc:  # noqa: BLE001 - the task raises so Docket retries
        assert "model endpoint error" in str(exc)
    job = (await model_stack.client.get(f"/v1/jobs/{response['job_id']}")).json()
    assert job["status"] == "failed" and "UpstreamError" in job["error"]
    assert job["finished_at"] is not None and job["attempts"] == 1
    assert await JobStore(model_stack.services.redis).journaled(response["job_id"], 0) is None


async def test_model_scopes_follow_the_policy(model_stack: Stack,
                                              stub_openai: StubOpenAI) -> None:
    """write_user=false: the model's user fact lands in the container, never at user scope;
    write_global=auto lets its global fact be global (no user)."""
    stub_openai.default_reply = reply_json({"memories": [
        {"action": "add", "text": "User prefers pytest", "scope": "user"},
        {"action": "add", "text": "pytest discovers test_*.py files", "scope": "global"}]})
    body = copy.deepcopy(PROCESS_EXAMPLE)
    body["scope_policy"]["write_user"] = "false"
    await model_stack.client.post("/v1/process", json=body)
    await drain(model_stack.docket)
    prompt = stub_openai.chat_requests()[0]["messages"][0]["content"]
    assert "Allowed scopes: container, global." in prompt
    facts = {m.text: m for m in await all_memories(model_stack.services)
             if m.memory_type.value != "message"}
    user_fact = facts["User prefers pytest"]
    assert (user_fact.user_id, user_fact.session_id) == ("user-123", "thread-abc")
    general = facts["pytest discovers test_*.py files"]
    assert (general.user_id, general.session_id) == (None, None)
    assert not [m for m in facts.values() if m.user_id and m.session_id is None]
