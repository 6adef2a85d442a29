"""Tenant isolation and injection attempts on the long-term routes (token auth, real Redis)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis

from agent_memory.app import create_app
from agent_memory.auth import issue_token
from agent_memory.storage.auth_tokens import TokenStore
from tests.conftest import make_settings

INJECTIONS = ["a) | (@namespace:{*}", "*", '"', "\\", "{", "}", "ns with spaces", "日本語-ñ",
              "x|y", "-neg", "@user_id:{u}", "$param"]


@pytest.fixture
async def http(redis_url: str, redis: Redis) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(redis_url, auth_mode="token"))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


async def _token(redis: Redis, **kwargs: object) -> dict[str, str]:
    secret, _ = await issue_token(TokenStore(redis), description="t", **kwargs)  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {secret}"}


async def _seed(http: httpx.AsyncClient, admin: dict[str, str]) -> None:
    r = await http.post("/v1/long-term-memory/", headers=admin, json={"memories": [
        {"id": "a1", "text": "alpha secret plan", "namespace": "alpha", "user_id": "u1"},
        {"id": "a2", "text": "alpha other plan", "namespace": "alpha", "user_id": "u2"},
        {"id": "b1", "text": "beta secret plan", "namespace": "beta", "user_id": "u1"},
        {"id": "n1", "text": "no namespace secret plan", "user_id": "u1"},
    ]})
    assert r.status_code == 200, r.text


async def _ids(http: httpx.AsyncClient, headers: dict[str, str], **body: object) -> tuple[int, list[str]]:
    r = await http.post("/v1/long-term-memory/search", headers=headers, json=body)
    if r.status_code != 200:
        return r.status_code, []
    return 200, sorted(m["id"] for m in r.json()["memories"])


async def test_namespace_bound_token_never_sees_other_tenants(http: httpx.AsyncClient,
                                                              redis: Redis) -> None:
    """Whatever filter a namespace-bound caller sends, results stay in its namespace."""
    await _seed(http, await _token(redis, admin=True))
    alpha = await _token(redis, namespaces=["alpha"])
    for mode in ("semantic", "keyword", "hybrid"):
        assert await _ids(http, alpha, text="secret plan", search_mode=mode) == (200, ["a1", "a2"])
    assert await _ids(http, alpha, text="") == (200, ["a1", "a2"])
    assert await _ids(http, alpha, text="plan", namespace={"ne": "alpha"}) == (200, [])
    assert await _ids(http, alpha, text="plan", namespace={"startswith": "be"}) == (200, [])
    assert await _ids(http, alpha, text="plan", namespace={"none": ["alpha"]}) == (200, [])
    assert (await _ids(http, alpha, text="plan", namespace={"eq": "beta"}))[0] == 403
    assert (await _ids(http, alpha, text="plan", namespace={"any": ["alpha", "beta"]}))[0] == 403
    assert (await _ids(http, alpha, text="plan", namespace={"all": ["alpha", "beta"]}))[0] == 403


async def test_user_bound_token_is_narrowed_to_its_user(http: httpx.AsyncClient, redis: Redis) -> None:
    """A user-bound caller sees only its user's memories, and naming another user is 403."""
    await _seed(http, await _token(redis, admin=True))
    u2 = await _token(redis, user_id="u2")
    assert await _ids(http, u2, text="plan") == (200, ["a2"])
    assert await _ids(http, u2, text="plan", user_id={"ne": "u2"}) == (200, [])
    assert (await _ids(http, u2, text="plan", user_id={"eq": "u1"}))[0] == 403


async def test_by_id_routes_hide_other_tenants(http: httpx.AsyncClient, redis: Redis) -> None:
    """GET/PATCH/DELETE of another tenant's id answer 404 (or delete nothing)."""
    admin = await _token(redis, admin=True)
    await _seed(http, admin)
    alpha = await _token(redis, namespaces=["alpha"])
    assert (await http.get("/v1/long-term-memory/b1", headers=alpha)).status_code == 404
    assert (await http.patch("/v1/long-term-memory/b1", headers=alpha,
                             json={"text": "mine now"})).status_code == 404
    assert (await http.delete("/v1/long-term-memory/b1", headers=alpha)).status_code == 404
    r = await http.delete("/v1/long-term-memory?memory_ids=b1&memory_ids=a1", headers=alpha)
    assert r.json()["status"] == "ok, deleted 1 memories"
    assert (await http.get("/v1/long-term-memory/b1", headers=admin)).status_code == 200
    r = await http.patch("/v1/long-term-memory/a2", headers=alpha, json={"namespace": "beta"})
    assert r.status_code == 403


async def test_create_is_scoped_and_cannot_take_over_ids(http: httpx.AsyncClient, redis: Redis) -> None:
    """A bound caller's memories get its namespace; another namespace or a foreign id is 403."""
    await _seed(http, await _token(redis, admin=True))
    alpha = await _token(redis, namespaces=["alpha"])
    r = await http.post("/v1/long-term-memory/", headers=alpha, json={"memories": [{"text": "mine"}]})
    (new_id,) = r.json()["ids"]
    assert (await http.get(f"/v1/long-term-memory/{new_id}", headers=alpha)).json()["namespace"] == "alpha"
    r = await http.post("/v1/long-term-memory/", headers=alpha,
                        json={"memories": [{"text": "x", "namespace": "beta"}]})
    assert r.status_code == 403
    r = await http.post("/v1/long-term-memory/", headers=alpha,
                        json={"memories": [{"id": "b1", "text": "hijack"}]})
    assert r.status_code == 403


@pytest.mark.parametrize("value", INJECTIONS)
async def test_injection_values_match_only_themselves(client: httpx.AsyncClient, value: str) -> None:
    """Crafted namespace values are escaped: eq matches exactly one record, never all."""
    r = await client.post("/v1/long-term-memory/", json={"memories": [
        {"id": "target", "text": "crafted value record", "namespace": value},
        {"id": "other", "text": "crafted value record two", "namespace": "plain"},
    ]})
    assert r.status_code == 200, r.text
    for mode in ("semantic", "keyword", "hybrid"):
        r = await client.post("/v1/long-term-memory/search", json={
            "text": "crafted value", "search_mode": mode, "namespace": {"eq": value}})
        assert r.status_code == 200, r.text
        assert [m["id"] for m in r.json()["memories"]] == ["target"], (mode, value)
    r = await client.post("/v1/long-term-memory/search", json={"text": "", "namespace": {"eq": value}})
    assert [m["id"] for m in r.json()["memories"]] == ["target"]
    r = await client.post("/v1/long-term-memory/search", json={
        "text": value, "search_mode": "keyword", "namespace": {"eq": "plain"}})
    assert r.status_code == 200
    assert {m["id"] for m in r.json()["memories"]} <= {"other"}
