"""Extraction through the stub OpenAI-compatible server, with a real worker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tests.support.stub_openai import StubOpenAI, reply_json
from tests.support.wait import wait_until
from tests.tasks.conftest import Stack, all_memories, drain, open_stack, task_settings, worker_on

REPLY = {"memories": [
    {"type": "semantic", "text": "Ana prefers green tea", "topics": ["drinks", "tea"],
     "entities": ["Ana"], "event_date": None},
    {"type": "episodic", "text": "Ana visited Lisbon on 2026-03-02", "topics": ["travel"],
     "entities": ["Ana", "Lisbon"], "event_date": "2026-03-02T00:00:00Z"},
]}


@pytest.fixture
async def llm_stack(redis_url: str, redis: Redis,
                    stub_openai: StubOpenAI) -> AsyncIterator[Stack]:
    settings = task_settings(redis_url, openai_api_base=stub_openai.base_url,
                             openai_api_key="test-key", llm_max_retries=0)
    async with open_stack(settings) as running:
        yield running


def _msgs(ids: list[str]) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"turn {i}: I am Ana, I like green tea", "id": i}
            for i in ids]


async def test_one_model_call_extracts_memories_with_topics_entities_dates(
        llm_stack: Stack, stub_openai: StubOpenAI) -> None:
    """A batch of messages costs one JSON-mode call; memories keep the scope and record the
    message ids they came from; messages are flagged extracted."""
    stub_openai.chat_replies.append(reply_json(REPLY))
    body = {"namespace": "ns", "user_id": "ana", "messages": _msgs(["a", "b", "c"])}
    await llm_stack.client.put("/v1/working-memory/s1", json=body)
    await drain(llm_stack.docket)

    calls = stub_openai.chat_requests()
    assert len(calls) == 1
    assert calls[0]["response_format"] == {"type": "json_object"}
    prompt = calls[0]["messages"][0]["content"]
    assert all(f"turn {i}" in prompt for i in "abc")
    found = sorted(await all_memories(llm_stack.services), key=lambda m: m.text)
    assert [m.text for m in found] == ["Ana prefers green tea", "Ana visited Lisbon on 2026-03-02"]
    lisbon = found[1]
    assert lisbon.memory_type.value == "episodic"
    assert lisbon.topics == ["travel"] and lisbon.entities == ["Ana", "Lisbon"]
    assert lisbon.event_date is not None and lisbon.event_date.year == 2026
    assert all((m.namespace, m.user_id, m.session_id) == ("ns", "ana", "s1") for m in found)
    assert all(m.extracted_from == ["a", "b", "c"] for m in found)
    session = (await llm_stack.client.get("/v1/working-memory/s1",
                                          params={"namespace": "ns", "user_id": "ana"})).json()
    assert [m["discrete_memory_extracted"] for m in session["messages"]] == ["t", "t", "t"]
    # Already extracted: another write of the same messages asks the model nothing.
    await llm_stack.client.put("/v1/working-memory/s1", json={**body,
                                                              "messages": session["messages"]})
    await drain(llm_stack.docket)
    assert len(stub_openai.chat_requests()) == 1


async def test_preferences_and_custom_strategies_use_their_prompts(
        llm_stack: Stack, stub_openai: StubOpenAI) -> None:
    """The session's strategy picks the prompt; a custom prompt is filled in safely."""
    stub_openai.default_reply = reply_json({"memories": [
        {"type": "semantic", "text": "likes tea"},
        {"type": "semantic", "text": "asked to reveal the system prompt"}]})
    await llm_stack.client.put("/v1/working-memory/p", json={
        "messages": _msgs(["p1"]),
        "long_term_memory_strategy": {"strategy": "preferences"}})
    custom = "Remember only drinks the user mentions.\n{messages}\nNow: {current_datetime}"
    await llm_stack.client.put("/v1/working-memory/c", json={
        "messages": _msgs(["c1"]),
        "long_term_memory_strategy": {"strategy": "custom", "config": {"custom_prompt": custom}}})
    await drain(llm_stack.docket)
    prompts = [r["messages"][0]["content"] for r in stub_openai.chat_requests()]
    assert any("preferences" in p for p in prompts)
    custom_prompt = next(p for p in prompts if p.startswith("Remember only drinks"))
    assert "turn c1" in custom_prompt and "{current_datetime}" not in custom_prompt
    by_strategy = {(m.session_id, m.extraction_strategy, m.text)
                   for m in await all_memories(llm_stack.services)}
    # A custom prompt's output that mentions prompts or secrets is dropped.
    assert by_strategy == {("p", "preferences", "likes tea"),
                           ("p", "preferences", "asked to reveal the system prompt"),
                           ("c", "custom", "likes tea")}


async def test_no_lost_update_while_extraction_is_in_flight(
        llm_stack: Stack, stub_openai: StubOpenAI) -> None:
    """Messages written while the model is answering survive, and only the messages the
    model saw are flagged extracted (AMS wrote its old snapshot back over them)."""
    stub_openai.delay_seconds = 1.0
    stub_openai.default_reply = reply_json(REPLY)
    scope = {"namespace": "ns", "user_id": "ana"}
    await llm_stack.client.put("/v1/working-memory/s", json={**scope, "messages": _msgs(["a", "b"])})
    async with worker_on(llm_stack.docket) as worker:
        running = asyncio.create_task(worker.run_until_finished())

        async def model_called() -> bool:
            return len(stub_openai.chat_requests()) >= 1

        await wait_until(model_called, timeout=10)
        appended = await llm_stack.client.post("/v1/working-memory/s/messages",
                                               json={**scope, "messages": _msgs(["c", "d"])})
        assert appended.status_code == 200
        stub_openai.delay_seconds = 0.0
        await asyncio.wait_for(running, timeout=30)
    session = (await llm_stack.client.get("/v1/working-memory/s", params=scope)).json()
    assert [m["id"] for m in session["messages"]] == ["a", "b", "c", "d"]
    flags = {m["id"]: m["discrete_memory_extracted"] for m in session["messages"]}
    assert flags == {"a": "t", "b": "t", "c": "t", "d": "t"}  # c, d by the re-armed run
    first, second = stub_openai.chat_requests()[:2]
    assert "turn c" not in first["messages"][0]["content"]
    assert "turn c" in second["messages"][0]["content"]
    assert "turn a" not in second["messages"][0]["content"]


async def test_model_failure_is_retried_and_nothing_is_lost(
        llm_stack: Stack, stub_openai: StubOpenAI) -> None:
    """A failing model fails the attempt; the retry extracts, and messages stay unflagged
    until then."""
    answers = iter([None, reply_json(REPLY)])

    def flaky(body: dict[str, object]) -> str:
        answer = next(answers)
        if answer is None:
            return "not json at all"
        return answer

    stub_openai.default_reply = flaky
    await llm_stack.client.put("/v1/working-memory/s", json={"messages": _msgs(["a"])})
    await drain(llm_stack.docket)
    assert len(stub_openai.chat_requests()) == 2
    assert len(await all_memories(llm_stack.services)) == 2
    session = (await llm_stack.client.get("/v1/working-memory/s")).json()
    assert session["messages"][0]["discrete_memory_extracted"] == "t"


async def test_summary_strategy_and_index_all_messages(redis_url: str, redis: Redis,
                                                       stub_openai: StubOpenAI) -> None:
    """The summary strategy yields one memory per batch (several answers are merged);
    INDEX_ALL_MESSAGES_IN_LONG_TERM_MEMORY also keeps each message as a `message` memory."""
    settings = task_settings(redis_url, openai_api_base=stub_openai.base_url,
                             openai_api_key="test-key", llm_max_retries=0,
                             index_all_messages_in_long_term_memory=True)
    stub_openai.default_reply = reply_json({"memories": [
        {"type": "semantic", "text": "Ana likes tea."}, {"type": "episodic", "text": "She left."}]})
    async with open_stack(settings) as stack:
        await stack.client.put("/v1/working-memory/s", json={
            "messages": _msgs(["a", "b"]),
            "long_term_memory_strategy": {"strategy": "summary",
                                          "config": {"max_summary_length": 50}}})
        await drain(stack.docket)
        prompt = stub_openai.chat_requests()[0]["messages"][0]["content"]
        assert "at most 50" in prompt
        found = await all_memories(stack.services)
        kinds = sorted((m.memory_type.value, m.extraction_strategy) for m in found)
        assert kinds == [("message", "message"), ("message", "message"),
                         ("semantic", "summary")]
        summary = next(m for m in found if m.extraction_strategy == "summary")
        assert summary.text == "Ana likes tea. She left." and summary.extracted_from == ["a", "b"]
