"""Fixtures for auth tests: apps in each mode, tokens issued into the test Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis
from starlette.routing import compile_path

from agent_memory.app import api_routes, create_app
from agent_memory.auth import issue_token
from agent_memory.settings import Settings
from agent_memory.storage.auth_tokens import TokenStore
from tests.conftest import make_settings

IssueToken = Callable[..., Awaitable[str]]


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on a freshly started app with these settings."""
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


def route_registered(method: str, path: str) -> bool:
    """True when the app serves ``method path`` (routes land while others build them)."""
    for route in api_routes():
        regex, _, _ = compile_path("/v1" + route.path)
        if method in (route.methods or ()) and regex.match(path):
            return True
    return False


def require_route(method: str, path: str) -> None:
    """Skip the test until the route it exercises is served."""
    if not route_registered(method, path):
        pytest.skip(f"{method} {path} is not served yet")


def bearer(secret: str) -> dict[str, str]:
    """The header a client sends."""
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def token_settings(redis_url: str, redis: Redis) -> Settings:
    return make_settings(redis_url, auth_mode="token")


@pytest.fixture
async def token_client(token_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app in ``AUTH_MODE=token`` (no credentials attached)."""
    async with serve(token_settings) as http:
        yield http


@pytest.fixture
def store(redis: Redis) -> TokenStore:
    return TokenStore(redis)


@pytest.fixture
def issue(store: TokenStore) -> IssueToken:
    """``await issue(namespaces=[...], user_id=..., admin=...)`` returns a new secret."""

    async def make(**kwargs: Any) -> str:
        kwargs.setdefault("description", "test token")
        secret, _ = await issue_token(store, **kwargs)
        return secret

    return make
