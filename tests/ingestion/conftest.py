"""Fixtures for turn ingestion: the app with its Docket, workers drained by the tests, and
the two seed examples verbatim."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from agent_memory.models.long_term import SearchRequest
from agent_memory.principal import LOCAL_ADMIN
from tests.auth.conftest import issue, store, token_client, token_settings  # noqa: F401
from tests.support.stub_openai import StubOpenAI
from tests.tasks.conftest import Stack, open_stack, task_settings

PROCESS_EXAMPLE: dict[str, Any] = {
    "user_id": "user-123",
    "containers": [{"id": "thread-abc", "type": "thread"}],
    "scope_policy": {"write_user": "auto", "write_global": "auto", "write_container": True},
    "turn": {
        "user_message": "Remember that I prefer pytest over unittest.",
        "assistant_response": "Understood. I'll keep that in mind.",
        "occurred_at": "2026-03-16T10:00:00Z",
        "user_message_id": "msg-u-1",
        "assistant_message_id": "msg-a-1",
    },
    "metadata": {"app": "example-host", "source": "chat", "model": "gpt-4.1-mini",
                 "trace_id": "trace-001"},
}

INGESTION_EXAMPLE: dict[str, Any] = {
    "scope": {"org_id": "org_...", "user_id": "user_...", "session_id": "chat-1"},
    "turns": [
        {"role": "user", "text": "I'm allergic to shellfish.", "timestamp": "2026-05-08T14:00:00Z"},
        {"role": "assistant", "text": "Got it.", "timestamp": "2026-05-08T14:00:01Z"},
    ],
    "options": {"write_active": True, "write_passive": True},
    "metadata": {"channel": "support"},
}


@pytest.fixture
async def stack(redis_url: str, redis: Redis) -> AsyncIterator[Stack]:
    """The app without a model (the rules adjudicate) and a Docket of the test's own."""
    async with open_stack(task_settings(redis_url)) as running:
        yield running


@pytest.fixture
async def model_stack(redis_url: str, redis: Redis,
                      stub_openai: StubOpenAI) -> AsyncIterator[Stack]:
    """The app with the stub model configured (the model adjudicates)."""
    settings = task_settings(redis_url, openai_api_base=stub_openai.base_url,
                             openai_api_key="test-key", llm_max_retries=0)
    async with open_stack(settings) as running:
        yield running


async def search(stack: Stack, text: str, **filters: Any) -> list[Any]:
    """Long-term search through the service, as the AMS route runs it."""
    assert stack.services.long_term is not None
    found = await stack.services.long_term.search(
        LOCAL_ADMIN, SearchRequest.model_validate({"text": text, "limit": 100, **filters}))
    return found.memories
