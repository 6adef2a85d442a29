"""Fixtures: one real Redis per test session, a fresh app and an empty database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis
from starlette.applications import Starlette

from agent_memory.app import create_app
from agent_memory.embedded_redis import EmbeddedRedis
from agent_memory.settings import Settings
from tests.support.redis_server import real_redis
from tests.support.stub_openai import StubOpenAI, StubServer


@pytest.fixture(scope="session")
def redis_server() -> Iterator[tuple[str, EmbeddedRedis | None]]:
    """The session's real Redis: ``(url, embedded server or None)``."""
    with real_redis() as server:
        yield server


@pytest.fixture(scope="session")
def redis_url(redis_server: tuple[str, EmbeddedRedis | None]) -> str:
    return redis_server[0]


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A raw client on an empty database (each test starts from nothing)."""
    client = Redis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


def make_settings(redis_url: str, **overrides: Any) -> Settings:
    """Test settings: the test Redis, the hashing embedder, no model unless given."""
    values: dict[str, Any] = {
        "redis_url": redis_url,
        "embedding_provider": "hashing",
        "openai_api_key": None,
        "openai_api_base": None,
        "use_docket": True,
        "gc_tuning": False,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(redis_url: str, redis: Redis) -> Settings:
    return make_settings(redis_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    async with LifespanManager(application) as manager:
        yield manager.app  # type: ignore[misc]


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
def client_namespace() -> str:
    """The official client's default namespace; override in a module to change it."""
    return "demo"


@pytest.fixture
async def memory_client(settings: Settings, client_namespace: str) -> AsyncIterator[Any]:
    """The official agent-memory-client 0.14.0 talking to a real uvicorn server."""
    from agent_memory_client import MemoryAPIClient, MemoryClientConfig

    from tests.support.live_server import live_server

    with live_server(settings) as url:
        client = MemoryAPIClient(MemoryClientConfig(base_url=url, default_namespace=client_namespace))
        try:
            yield client
        finally:
            await client.close()


@pytest.fixture(scope="session")
def stub_server() -> Iterator[StubOpenAI]:
    with StubServer() as stub:
        yield stub


@pytest.fixture
def stub_openai(stub_server: StubOpenAI) -> StubOpenAI:
    """The stub with its script and log reset for this test."""
    stub_server.chat_replies.clear()
    stub_server.requests.clear()
    stub_server.default_reply = "stub summary"
    stub_server.delay_seconds = 0.0
    stub_server.fail_status = None
    stub_server.honour_base64 = True
    return stub_server
