"""Bound tokens: a caller only ever adds, reads, edits and recalls within its bounds."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from agent_memory.auth import issue_token
from agent_memory.storage.auth_tokens import TokenStore
from tests.auth.conftest import bearer, serve
from tests.conftest import make_settings

MARKER = "zebra-quartz-7731"


@pytest.fixture
async def http(redis_url: str, redis: Redis) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(make_settings(redis_url, auth_mode="token")) as client:
        yield client


@pytest.mark.parametrize("bounds", [({"user_id": "alice"}, {"user_id": "bob"}),
                                    ({"namespaces": ["a"]}, {"namespaces": ["b"]})])
async def test_tenant_b_cannot_reach_tenant_a(http: httpx.AsyncClient, redis: Redis,
                                              bounds: tuple[dict, dict]) -> None:
    """B's recall never returns A's row; B cannot get, edit or read the candidates of
    it; naming A's user or namespace is refused; A still reads its row unchanged."""
    store = TokenStore(redis)
    a_secret, _ = await issue_token(store, description="a", **bounds[0])
    b_secret, _ = await issue_token(store, description="b", **bounds[1])
    a, b = bearer(a_secret), bearer(b_secret)
    added = await http.post("/v1/memories", headers=a, json={"text": f"{MARKER} likes tea"})
    assert added.status_code == 201, added.text
    row = added.json()
    assert row["user_id"] == bounds[0].get("user_id") and \
        row["namespace"] == (bounds[0].get("namespaces") or [None])[0]
    memory_id = row["id"]

    recall = await http.post("/v1/memories/recall", headers=b, json={"query": f"{MARKER} tea"})
    assert recall.status_code == 200 and recall.json()["results"] == []
    for method, path, body in (("GET", f"/v1/memories/{memory_id}", None),
                               ("PATCH", f"/v1/memories/{memory_id}", {"text": "taken"}),
                               ("GET", f"/v1/memories/{memory_id}/candidates", None)):
        response = await http.request(method, path, headers=b, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert MARKER not in response.text
    a_scope = {"user_id": bounds[0].get("user_id"),
               "namespace": (bounds[0].get("namespaces") or [None])[0]}
    a_scope = {k: v for k, v in a_scope.items() if v is not None}
    naming = await http.post("/v1/memories/recall", headers=b, json={"query": "tea", **a_scope})
    assert naming.status_code == 403
    planted = await http.post("/v1/memories", headers=b, json={"text": "planted", **a_scope})
    assert planted.status_code == 403
    mine = await http.get(f"/v1/memories/{memory_id}", headers=a)
    assert mine.status_code == 200 and mine.json()["text"] == f"{MARKER} likes tea"
