"""Fixtures for background work: the app with its Docket, and real workers on that Docket."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from docket import Docket, Worker
from redis.asyncio import Redis

from agent_memory.app import create_app
from agent_memory.services.container import Services
from agent_memory.settings import Settings
from tests.conftest import make_settings


@dataclass
class Stack:
    """A running app: HTTP client, its services, and the Docket it enqueues on."""

    client: httpx.AsyncClient
    services: Services
    docket: Docket
    settings: Settings


def task_settings(redis_url: str, **overrides: Any) -> Settings:
    """Test settings with a short debounce and a Docket of the test's own."""
    values: dict[str, Any] = {"extraction_debounce_seconds": 0.2,
                              "docket_name": f"test-{uuid.uuid4().hex[:8]}",
                              "deduplication_distance_threshold": 0.0}
    values.update(overrides)
    return make_settings(redis_url, **values)


@asynccontextmanager
async def open_stack(settings: Settings) -> AsyncIterator[Stack]:
    """Serve ``create_app(settings)`` in-process (lifespan included)."""
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        # The lifespan's state dict (what handlers read as request.state).
        services: Services = manager._state["services"]
        assert services.background is not None and services.background.docket is not None
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Stack(client, services, services.background.docket, settings)


@pytest.fixture
async def stack(redis_url: str, redis: Redis) -> AsyncIterator[Stack]:
    async with open_stack(task_settings(redis_url)) as running:
        yield running


@asynccontextmanager
async def worker_on(docket: Docket, *, automatic: bool = False,
                    redelivery_timeout: float = 30.0) -> AsyncIterator[Worker]:
    """A real Docket worker on ``docket`` that polls fast (perpetuals off unless asked)."""
    async with Worker(docket, schedule_automatic_tasks=automatic,
                      minimum_check_interval=timedelta(milliseconds=20),
                      scheduling_resolution=timedelta(milliseconds=20),
                      redelivery_timeout=timedelta(seconds=redelivery_timeout)) as worker:
        yield worker


async def drain(docket: Docket, **kwargs: Any) -> None:
    """Run a worker until no task is queued or scheduled."""
    async with worker_on(docket, **kwargs) as worker:
        await worker.run_until_finished()


async def all_memories(services: Services, namespace: str | None = None,
                       user_id: str | None = None) -> list[Any]:
    """Every long-term memory in a scope."""
    assert services.long_term is not None
    out = []
    async for batch in services.long_term.iter_scope(namespace, user_id, None, 500):
        out += batch
    return out
