"""Fixtures for profile memory: an app on the real Redis whose profile clock tests can set."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis

from agent_memory.app import create_app
from agent_memory.principal import LOCAL_ADMIN
from agent_memory.services.audit import AuditQuery
from agent_memory.services.container import Services
from agent_memory.settings import Settings
from tests.conftest import make_settings

SEED_NOW = datetime(2024, 1, 15, 10, 30, tzinfo=UTC).timestamp()  # the contract's examples
DAY = 86_400.0


class Clock:
    """A clock the test moves by hand (epoch seconds)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Profile:
    """A running app, its services and the clock its profile service reads."""

    client: httpx.AsyncClient
    services: Services
    clock: Clock

    async def create(self, expect: int = 200, prefix: str = "", **body: Any) -> dict[str, Any]:
        """``POST /memory``; asserts the status. The clock then moves on a millisecond, so
        statements made one after the other never share a time (as in real use)."""
        response = await self.client.post(f"{prefix}/memory", json=body)
        assert response.status_code == expect, response.text
        self.clock.advance(0.001)
        return response.json()

    async def read(self, expect: int = 200, prefix: str = "", **body: Any) -> dict[str, Any]:
        """``POST /memory/read``; asserts the status."""
        body.setdefault("purpose", "generate food recommendations")
        response = await self.client.post(f"{prefix}/memory/read", json=body)
        assert response.status_code == expect, response.text
        return response.json()

    async def audit(self, action: str) -> list[dict[str, Any]]:
        """Audit events of one action, oldest first (as an operator lists them)."""
        events, _ = await self.services.audit.list(LOCAL_ADMIN, AuditQuery(action=action))
        return events


@asynccontextmanager
async def open_profile(settings: Settings, now: float | None = None) -> AsyncIterator[Profile]:
    """Serve ``create_app(settings)`` in-process with a settable profile clock."""
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        services: Services = manager._state["services"]
        assert services.profile is not None
        clock = Clock(time.time() if now is None else now)
        services.profile.clock = clock
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Profile(client, services, clock)


@pytest.fixture
async def profile(redis_url: str, redis: Redis) -> AsyncIterator[Profile]:
    async with open_profile(make_settings(redis_url)) as running:
        yield running


def food(source: str = "explicit_user_input", user_id: str = "user123",
         **value: Any) -> dict[str, Any]:
    """A create body for preferences/food."""
    return {"user_id": user_id, "scope": "preferences", "domain": "food", "source": source,
            "value_json": value}
