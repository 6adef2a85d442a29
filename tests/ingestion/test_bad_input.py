"""Bad input: 422 with both error shapes (code invalid_request), and nothing written."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis

from agent_memory.app import create_app
from tests.conftest import make_settings
from tests.ingestion.conftest import INGESTION_EXAMPLE, PROCESS_EXAMPLE


def _with(base: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(base)
    target = body
    for step in path[:-1]:
        target = target[step]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


TURNS_101 = [{"role": "user", "text": f"t{i}", "timestamp": "2026-05-08T14:00:00Z"}
             for i in range(101)]

CASES = [
    ("/v1/process", _with(PROCESS_EXAMPLE, ["turn"], ...)),
    ("/v1/process", _with(PROCESS_EXAMPLE, ["turn", "user_message"], "")),
    ("/v1/process", _with(PROCESS_EXAMPLE, ["turn", "assistant_response"], "   ")),
    ("/v1/process", _with(PROCESS_EXAMPLE, ["scope_policy", "write_user"], "sometimes")),
    ("/v1/process", _with(PROCESS_EXAMPLE, ["scope_policy", "write_container"], "auto")),
    ("/v1/process", _with(PROCESS_EXAMPLE, ["turn", "occurred_at"], "yesterday-ish")),
    ("/v1/process", _with(PROCESS_EXAMPLE, ["containers"], [{"type": "thread"}])),
    ("/v1/process", _with(PROCESS_EXAMPLE, ["user_id"], ...)),
    ("/v1/process", _with(PROCESS_EXAMPLE, ["turn", "user_message"], "x" * 2001)),
    ("/ingestion/memory", _with(INGESTION_EXAMPLE, ["turns"], ...)),
    ("/ingestion/memory", _with(INGESTION_EXAMPLE, ["turns"], [])),
    ("/ingestion/memory", _with(INGESTION_EXAMPLE, ["turns"], TURNS_101)),
    ("/ingestion/memory", _with(INGESTION_EXAMPLE, ["turns", 0, "text"], "")),
    ("/ingestion/memory", _with(INGESTION_EXAMPLE, ["turns", 1, "timestamp"], "14h00")),
    ("/ingestion/memory", _with(INGESTION_EXAMPLE, ["scope", "org_id"], "")),
    ("/ingestion/memory", _with(INGESTION_EXAMPLE, ["scope"], ...)),
    ("/ingestion/memory", _with(INGESTION_EXAMPLE, ["turns", 1, "text"], "y" * 2001)),
]


@pytest.fixture
async def client(redis_url: str, redis: Redis) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose text cap is 2000 characters."""
    app = create_app(make_settings(redis_url, max_text_chars=2000))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


@pytest.mark.parametrize(("path", "body"), CASES)
async def test_bad_input_is_a_422_and_writes_nothing(client: httpx.AsyncClient, redis: Redis,
                                                     path: str, body: dict[str, Any]) -> None:
    """Each kind of bad input named by the issue."""
    before = sorted(await redis.keys("*"))
    response = await client.post(path, json=body)
    assert response.status_code == 422, response.text
    doc = response.json()
    assert doc["detail"]
    assert doc["error"]["code"] == "invalid_request"
    assert sorted(await redis.keys("*")) == before


async def test_empty_and_malformed_bodies(client: httpx.AsyncClient) -> None:
    """No body, or not JSON: the same 422 shape."""
    for path in ("/v1/process", "/ingestion/memory"):
        for raw in (b"", b"{not json"):
            response = await client.post(path, content=raw,
                                         headers={"content-type": "application/json"})
            assert response.status_code == 422
            assert response.json()["error"]["code"] == "invalid_request"
