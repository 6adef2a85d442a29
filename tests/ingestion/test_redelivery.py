"""A job redelivered after a killed worker finishes once, without asking the model again
about an exchange it already answered."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from typing import Any

from tests.ingestion.conftest import INGESTION_EXAMPLE
from tests.support.stub_openai import StubOpenAI, reply_json
from tests.support.wait import wait_until
from tests.tasks.conftest import Stack, all_memories, worker_on


def _worker_process(stack: Stack, stub: StubOpenAI) -> subprocess.Popen[bytes]:
    """``agent-memory worker`` in its own process, configured by environment as deployed."""
    env = {**os.environ,
           "REDIS_URL": stack.settings.effective_redis_url(),
           "DOCKET_NAME": stack.settings.docket_name,
           "EMBEDDING_PROVIDER": "hashing",
           "OPENAI_API_BASE": stub.base_url,
           "OPENAI_API_KEY": "test-key",
           "LLM_MAX_RETRIES": "0",
           "DEDUPLICATION_DISTANCE_THRESHOLD": "0"}
    return subprocess.Popen([sys.executable, "-m", "agent_memory", "worker",
                             "--redelivery-timeout", "1", "--concurrency", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _turn_texts(request: dict[str, Any]) -> list[str]:
    content = request["messages"][0]["content"]
    return [t["text"] for t in json.loads(content.split("Turn (JSON): ", 1)[1])]


async def test_sigkilled_job_is_redelivered_without_a_second_call(
        model_stack: Stack, stub_openai: StubOpenAI) -> None:
    """Exchange 1 is answered and journaled; the worker is killed while exchange 2's call
    hangs. Another worker finishes the job: exchange 1 is not asked again, and every
    memory exists once."""
    def first(request: dict[str, Any]) -> str:
        stub_openai.delay_seconds = 30.0  # the next call hangs until the worker dies
        return reply_json({"memories": [{"action": "add", "text": "User is allergic to "
                                         "shellfish", "scope": "user"}]})

    stub_openai.chat_replies.append(first)
    stub_openai.default_reply = reply_json({"memories": [
        {"action": "add", "text": "User lives in Porto", "scope": "user"}]})
    body = json.loads(json.dumps(INGESTION_EXAMPLE))
    body["turns"].append({"role": "user", "text": "I live in Porto.",
                          "timestamp": "2026-05-08T14:02:00Z"})
    job_id = (await model_stack.client.post("/ingestion/memory", json=body)).json()["job_id"]
    process = _worker_process(model_stack, stub_openai)
    try:
        async def second_call_sent() -> bool:
            return len(stub_openai.chat_requests()) >= 2

        await wait_until(second_call_sent, timeout=90)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    stub_openai.delay_seconds = 0.0
    for periodic in ("scheduled_forgetting", "scheduled_compaction"):
        await model_stack.docket.cancel(periodic)
    async with worker_on(model_stack.docket, redelivery_timeout=1.0) as worker:
        serving = asyncio.create_task(worker.run_forever())
        try:
            async def finished() -> bool:
                job = (await model_stack.client.get(f"/v1/jobs/{job_id}")).json()
                return job["status"] == "succeeded"

            await wait_until(finished, timeout=90)
        finally:
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving
    asked = [_turn_texts(r)[0] for r in stub_openai.chat_requests()]
    assert asked.count("I'm allergic to shellfish.") == 1
    assert asked.count("I live in Porto.") == 2  # the hung call, then the redelivery's
    job = (await model_stack.client.get(f"/v1/jobs/{job_id}")).json()
    assert job["model_calls"] == 2 and job["counts"]["added"] == 2 and job["attempts"] >= 2
    facts = sorted(m.text for m in await all_memories(model_stack.services)
                   if m.memory_type.value != "message")
    assert facts == ["User is allergic to shellfish", "User lives in Porto"]
