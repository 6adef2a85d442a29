"""The prompt never reads outside the caller's tenant: sessions and memories, with tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from agent_memory.auth import issue_token
from agent_memory.settings import Settings
from agent_memory.storage.auth_tokens import TokenStore
from tests.api.test_prompt import PROMPT
from tests.auth.conftest import bearer, serve
from tests.conftest import make_settings

SCOPES = [("a", "u1"), ("a", "u2"), ("b", "u1")]


@pytest.fixture
async def token_client(redis_url: str, redis: Redis) -> AsyncIterator[httpx.AsyncClient]:
    settings: Settings = make_settings(redis_url, auth_mode="token")
    async with serve(settings) as http:
        yield http


async def _token(redis: Redis, **bounds: object) -> dict[str, str]:
    store = TokenStore(redis)
    secret, _ = await issue_token(store, description="t", **bounds)  # type: ignore[arg-type]
    return bearer(secret)


async def _seed(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    """The same session id and the same memory text in three tenants."""
    for ns, user in SCOPES:
        put = await client.put("/v1/working-memory/s", headers=admin, json={
            "namespace": ns, "user_id": user,
            "messages": [{"role": "user", "content": f"hello from {ns}/{user}"}]})
        assert put.status_code == 200, put.text
    memories = [{"id": f"{ns}-{user}", "text": f"likes green tea ({ns}/{user})", "namespace": ns,
                 "user_id": user, "session_id": "old"} for ns, user in SCOPES]
    created = await client.post("/v1/long-term-memory/", headers=admin,
                                json={"memories": memories, "deduplicate": False})
    assert created.status_code == 200, created.text


async def test_bounded_token_reads_only_its_tenant(token_client: httpx.AsyncClient,
                                                   redis: Redis) -> None:
    """A token bound to namespace a and user u1 gets its own session and memories only, even
    when it names no scope; naming another namespace is 403, never a wider read."""
    await _seed(token_client, await _token(redis, admin=True))
    mine = await _token(redis, namespaces=["a"], user_id="u1")
    response = await token_client.post(PROMPT, headers=mine, json={
        "query": "green tea", "session": {"session_id": "s"}, "long_term_search": True})
    assert response.status_code == 200, response.text
    data = response.json()
    assert [m["content"]["text"] for m in data["messages"]][0] == "hello from a/u1"
    assert [m["id"] for m in data["long_term_memories"]] == ["a-u1"]

    hydrate = await token_client.post(PROMPT, headers=mine, json={
        "query": "green tea", "long_term_search": {"limit": 10}})
    assert [m["id"] for m in hydrate.json()["long_term_memories"]] == ["a-u1"]

    for body in (
        {"query": "q", "session": {"session_id": "s", "namespace": "b"}},
        {"query": "q", "session": {"session_id": "s", "user_id": "u2"}},
        {"query": "q", "long_term_search": {"namespace": {"eq": "b"}}},
        # Session and search run concurrently when both scope fields are given: either
        # one refusing refuses the prompt.
        {"query": "q", "session": {"session_id": "s", "namespace": "b", "user_id": "u1"},
         "long_term_search": True},
        {"query": "q", "session": {"session_id": "s", "namespace": "a", "user_id": "u1"},
         "long_term_search": {"namespace": {"eq": "b"}}},
    ):
        refused = await token_client.post(PROMPT, headers=mine, json=body)
        assert refused.status_code == 403, (body, refused.text)
