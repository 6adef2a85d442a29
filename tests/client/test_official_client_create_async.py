"""The official client 0.14.0 against a server answering creates before indexing
(``LONG_TERM_CREATE_ASYNC=true``, as AMS answers them): its create accepts the 202, and the
memories are searchable once the task ran."""

from __future__ import annotations

import pytest
from agent_memory_client import MemoryAPIClient
from agent_memory_client.filters import UserId
from agent_memory_client.models import ClientMemoryRecord
from redis.asyncio import Redis

from agent_memory.settings import Settings
from agent_memory.tasks import open_docket
from tests.tasks.conftest import task_settings, worker_on


@pytest.fixture
def settings(redis_url: str, redis: Redis) -> Settings:
    return task_settings(redis_url, long_term_create_async=True)


@pytest.fixture
def client_namespace() -> str:
    return "people"


async def test_official_client_create_is_accepted_then_indexed(
        memory_client: MemoryAPIClient, settings: Settings, redis: Redis) -> None:
    """``create_long_term_memory`` returns AMS's ``ok`` acknowledgement; nothing is indexed
    until a worker runs the task; then a search finds every memory."""
    records = [ClientMemoryRecord(id=f"c{i}", text=f"Carol grows tomato variety {i}",
                                  user_id="carol") for i in range(3)]
    ack = await memory_client.create_long_term_memory(records)
    assert ack.status.startswith("ok, accepted")
    assert await redis.exists("memory_idx:c0") == 0
    docket = await open_docket(settings)
    try:
        async with worker_on(docket) as worker:
            await worker.run_until_finished()
    finally:
        await docket.__aexit__(None, None, None)
    found = await memory_client.search_long_term_memory(text="tomato", user_id=UserId(eq="carol"),
                                                        limit=10)
    assert {m.id for m in found.memories} == {"c0", "c1", "c2"}
