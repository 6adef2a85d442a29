"""The auth middleware on raw ASGI: public-path matching, websockets, pass-through."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from agent_memory.auth import AuthMiddleware, TokenAuthenticator
from agent_memory.settings import Settings
from agent_memory.storage.auth_tokens import TokenStore
from tests.auth.conftest import IssueToken
from tests.conftest import make_settings


class Inner:
    """An app that records the scopes it was called with."""

    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.scopes.append(scope)


def middleware(settings: Settings, redis: Redis) -> tuple[AuthMiddleware, Inner]:
    inner = Inner()
    auth = AuthMiddleware(inner, settings, public_paths=["/v1/health", "/v1/health/ready"],
                          authenticator=TokenAuthenticator(TokenStore(redis)))
    return auth, inner


@pytest.mark.parametrize("path,public", [
    ("/v1/health", True), ("/v1/health/", True), ("/v1/health/ready", True),
    ("/docs", True), ("/docs/swagger-ui.css", True), ("/openapi.json", True),
    ("/v1/healthz", False), ("/v1/health/readyz", False), ("/docsx", False),
    ("/v1/health/../working-memory", False), ("/", False), ("/v1/working-memory/", False),
    ("/openapi.json/x", True), ("//v1/health", False),
])
def test_public_paths_match_exactly(redis_url: str, path: str, public: bool) -> None:
    """Declared paths (one optional trailing slash) and docs assets only."""
    auth = AuthMiddleware(Inner(), make_settings(redis_url, auth_mode="token"),
                          public_paths=["/v1/health", "/v1/health/ready"])
    assert auth.is_public(path) is public


async def test_websocket_without_token_is_closed(redis_url: str, redis: Redis,
                                                 issue: IssueToken) -> None:
    """A websocket upgrade gets the same check; failing it closes with 1008, unserved."""
    auth, inner = middleware(make_settings(redis_url, auth_mode="token"), redis)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await auth({"type": "websocket", "path": "/v1/ws", "headers": []}, receive, send)
    assert sent[0]["type"] == "websocket.close" and sent[0]["code"] == 1008
    assert inner.scopes == []

    secret = await issue(namespaces=["ns"])
    headers = [(b"authorization", f"Bearer {secret}".encode())]
    await auth({"type": "websocket", "path": "/v1/ws", "headers": headers}, receive, send)
    assert inner.scopes[0]["principal"].namespaces == frozenset({"ns"})


async def test_lifespan_passes_through(redis_url: str, redis: Redis) -> None:
    """Non-request scopes reach the app untouched (no principal, no auth)."""
    auth, inner = middleware(make_settings(redis_url, auth_mode="token"), redis)
    await auth({"type": "lifespan"}, None, None)  # type: ignore[arg-type]
    assert inner.scopes == [{"type": "lifespan"}]


async def test_principal_cannot_be_injected_by_the_client(redis_url: str, redis: Redis,
                                                          issue: IssueToken) -> None:
    """A scope arriving with a principal already set is overwritten by the checked one."""
    from agent_memory.principal import LOCAL_ADMIN

    auth, inner = middleware(make_settings(redis_url, auth_mode="token"), redis)
    secret = await issue(user_id="bob")
    scope = {"type": "http", "path": "/v1/working-memory/", "principal": LOCAL_ADMIN,
             "headers": [(b"authorization", f"Bearer {secret}".encode())]}
    await auth(scope, None, None)  # type: ignore[arg-type]
    assert inner.scopes[0]["principal"].user_id == "bob"


async def test_public_paths_get_a_principal_allowed_nothing(redis_url: str, redis: Redis) -> None:
    """Health needs no token, but the caller there is anonymous, not the admin fallback."""
    from agent_memory.errors import Forbidden

    auth, inner = middleware(make_settings(redis_url, auth_mode="token"), redis)
    await auth({"type": "http", "path": "/v1/health", "headers": []}, None, None)  # type: ignore[arg-type]
    principal = inner.scopes[0]["principal"]
    assert not principal.unbounded
    assert not principal.allows("any", None) and not principal.allows(None, None)
    with pytest.raises(Forbidden):
        principal.scope_namespace("any")


async def test_token_store_down_is_503_not_401(redis_url: str) -> None:
    """When Redis cannot be reached the caller gets a retryable 503, never a 401 or a 500."""
    from agent_memory.embedded_redis import free_port

    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    inner = Inner()
    auth = AuthMiddleware(inner, make_settings(redis_url, auth_mode="token"),
                          authenticator=TokenAuthenticator(TokenStore(dead)))
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"authorization", b"Bearer amt_" + b"x" * 43)]
    await auth({"type": "http", "path": "/v1/working-memory/", "headers": headers},
               None, send)  # type: ignore[arg-type]
    await dead.aclose()
    assert sent[0]["status"] == 503
    assert (b"retry-after", b"1") in sent[0]["headers"]
    assert b"storage_unavailable" in sent[1]["body"]
    assert inner.scopes == []
