"""Redelivery: a worker killed mid-task leaves nothing a redelivery cannot finish, and
nothing is done twice."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from agent_memory.storage.working_memory import WorkingMemoryStore
from tests.support.stub_openai import StubOpenAI, reply_json
from tests.support.wait import wait_until
from tests.tasks.conftest import Stack, all_memories, drain, open_stack, task_settings, worker_on

REPLY = {"memories": [
    {"type": "semantic", "text": "Bo drinks oolong", "topics": ["tea"], "entities": ["Bo"]},
    {"type": "episodic", "text": "Bo moved to Porto in May 2026", "entities": ["Bo", "Porto"]},
]}
SCOPE = {"namespace": "ns", "user_id": "bo"}


@pytest.fixture
async def llm_stack(redis_url: str, redis: Redis,
                    stub_openai: StubOpenAI) -> AsyncIterator[Stack]:
    settings = task_settings(redis_url, openai_api_base=stub_openai.base_url,
                             openai_api_key="test-key", llm_max_retries=0)
    async with open_stack(settings) as running:
        yield running


def _worker_process(stack: Stack, stub: StubOpenAI) -> subprocess.Popen[bytes]:
    """``agent-memory worker`` in its own process, configured by environment as deployed."""
    env = {**os.environ,
           "REDIS_URL": stack.settings.effective_redis_url(),
           "DOCKET_NAME": stack.settings.docket_name,
           "EMBEDDING_PROVIDER": "hashing",
           "OPENAI_API_BASE": stub.base_url,
           "OPENAI_API_KEY": "test-key",
           "LLM_MAX_RETRIES": "0",
           "DEDUPLICATION_DISTANCE_THRESHOLD": "0",
           "EXTRACTION_DEBOUNCE_SECONDS": "0.2"}
    return subprocess.Popen([sys.executable, "-m", "agent_memory", "worker",
                             "--redelivery-timeout", "1", "--concurrency", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def _session(stack: Stack) -> dict[str, object]:
    return (await stack.client.get("/v1/working-memory/s", params=SCOPE)).json()


async def test_sigkilled_worker_task_is_redelivered_without_duplicates(
        llm_stack: Stack, stub_openai: StubOpenAI) -> None:
    """The model call of a SIGKILLed worker never answers; another worker picks the task up
    after the redelivery timeout and finishes it: every message extracted once, no
    duplicate memories."""
    stub_openai.delay_seconds = 20.0
    stub_openai.default_reply = reply_json(REPLY)
    messages = [{"role": "user", "content": f"I am Bo, fact {i}", "id": f"b{i}"} for i in range(3)]
    await llm_stack.client.put("/v1/working-memory/s", json={**SCOPE, "messages": messages})
    process = _worker_process(llm_stack, stub_openai)
    try:
        async def model_called() -> bool:
            return len(stub_openai.chat_requests()) >= 1

        await wait_until(model_called, timeout=30)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert all(m["discrete_memory_extracted"] == "f"
               for m in (await _session(llm_stack))["messages"])  # type: ignore[union-attr]
    stub_openai.delay_seconds = 0.0
    # The killed worker seeded the periodic tasks (as any deployed worker does); they are
    # not part of this test and would keep the draining worker busy forever.
    for periodic in ("scheduled_forgetting", "scheduled_compaction"):
        await llm_stack.docket.cancel(periodic)
    # Not run_until_finished: while the dead worker's per-session concurrency slot goes
    # stale, Docket parks the redelivered task outside the stream, and a draining worker
    # would stop early. A serving worker picks it up when the slot frees.
    async with worker_on(llm_stack.docket, redelivery_timeout=1.0) as worker:
        serving = asyncio.create_task(worker.run_forever())
        try:
            async def all_extracted() -> bool:
                messages = (await _session(llm_stack))["messages"]
                return all(m["discrete_memory_extracted"] == "t" for m in messages)  # type: ignore[union-attr,index]

            await wait_until(all_extracted, timeout=40)
        finally:
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving
    assert len(stub_openai.chat_requests()) == 2
    found = await all_memories(llm_stack.services)
    assert sorted(m.text for m in found) == sorted(m["text"] for m in REPLY["memories"])
    flags = [m["discrete_memory_extracted"] for m in (await _session(llm_stack))["messages"]]  # type: ignore[index]
    assert flags == ["t", "t", "t"]


class _CrashOnMark(WorkingMemoryStore):
    """The session store, except that the first ``mark`` dies as a killed worker would."""

    crashed = False

    async def mark(self, *args: object, **kwargs: object) -> int:  # type: ignore[override]
        if not self.crashed:
            self.crashed = True
            raise SystemExit("worker killed between the index write and the flags")
        return await super().mark(*args, **kwargs)  # type: ignore[arg-type]


async def test_crash_after_indexing_redoes_nothing(llm_stack: Stack,
                                                   stub_openai: StubOpenAI) -> None:
    """Killed after the memories were indexed but before the messages were flagged, the
    next run reuses the journaled answer: same ids, no second model call, no duplicates."""
    stub_openai.default_reply = reply_json(REPLY)
    messages = [{"role": "user", "content": f"I am Bo, fact {i}", "id": f"b{i}"} for i in range(2)]
    await llm_stack.client.put("/v1/working-memory/s", json={**SCOPE, "messages": messages})
    background = llm_stack.services.background
    assert background is not None
    promotion = background.promotion
    real_store = promotion.wm_store
    promotion.wm_store = _CrashOnMark(real_store.redis)
    try:
        with pytest.raises(SystemExit):
            await promotion.promote("ns", "bo", "s")
    finally:
        promotion.wm_store = real_store
    first = sorted(m.id for m in await all_memories(llm_stack.services))
    assert len(first) == 2
    await drain(llm_stack.docket)  # the scheduled run: the redelivery stand-in
    assert len(stub_openai.chat_requests()) == 1
    assert sorted(m.id for m in await all_memories(llm_stack.services)) == first
    flags = [m["discrete_memory_extracted"] for m in (await _session(llm_stack))["messages"]]  # type: ignore[index]
    assert flags == ["t", "t"]
