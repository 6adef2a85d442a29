"""Fuzz of tenant filters: hostile values (empty, wildcards, escapes, query injection) sent
by tenant B in query strings and filter objects never reach tenant A's data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from agent_memory.storage.auth_tokens import TokenStore
from tests.auth.conftest import require_route, serve
from tests.auth.test_cross_tenant import MARKER, MEMORY, SESSION, PAIRS, World, _world
from tests.conftest import make_settings

HOSTILE = [
    "", " ", "*", "**", "?", "%", "%2A", "\\*", "\\", "-", "|", "~", "%7E", "{", "}", "(", ")",
    "tenant-a", "tenant-a*", "tenant*", "t*", "tenant\\-a", "tenant-a|tenant-b",
    "tenant-b|tenant-a", "tenant-b | tenant-a", "{tenant-a}", "tenant-a}", "-tenant-b",
    "x} | @namespace:{*", "x}|@user_id:{alice", "tenant-b} | @namespace:{tenant-a",
    "@namespace:{tenant-a}", "(tenant-a)", "tenant-a)|(@namespace:{*", "tenant-a ", " tenant-a",
    "TENANT-A", "tenant-a\x00", "tenant-a\n", "shared", "alice", "ALICE", "alice*", "al*",
    "bob|alice", "bob} | @user_id:{alice", "alice\\", "*alice", "ali?e", "sess-a", "sess*",
]
value = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12))
values = st.lists(value, min_size=0, max_size=3)
tag_filter = st.one_of(
    st.fixed_dictionaries({"eq": value}),
    st.fixed_dictionaries({"ne": value}),
    st.fixed_dictionaries({"any": values}),
    st.fixed_dictionaries({"all": values}),
    st.fixed_dictionaries({"startswith": value}),
    st.fixed_dictionaries({"eq": value, "ne": value}),
    st.fixed_dictionaries({"any": values, "startswith": value}),
    st.just({}), st.none(), value, values, st.integers(),
)
search_body = st.fixed_dictionaries(
    {"text": st.sampled_from(["tea", MARKER, "green tea likes", "*", ""])},
    optional={"namespace": tag_filter, "user_id": tag_filter, "session_id": tag_filter,
              "search_mode": st.sampled_from(["semantic", "keyword", "hybrid"]),
              "limit": st.sampled_from([1, 10, 100])},
)
scope_params = st.fixed_dictionaries({}, optional={"namespace": value, "user_id": value})

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(params=["namespaces", "users-sharing-a-namespace"])
async def world(request: pytest.FixtureRequest, redis_url: str,
                redis: Redis) -> AsyncIterator[World]:
    """Tenant A's data written once per test; examples share it (and must not change it)."""
    async with serve(make_settings(redis_url, auth_mode="token")) as http:
        yield await _world(http, TokenStore(redis), request.param)


def _no_leak(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    assert MARKER not in response.text
    if response.is_success:
        assert MEMORY not in response.text, response.text


@FUZZ
@given(body=search_body)
async def test_search_filters_never_widen(world: World, body: dict[str, Any]) -> None:
    """Any filter object B sends to search (or to the prompt's search) finds none of A's."""
    response = await world.http.post("/v1/long-term-memory/search", headers=world.b, json=body)
    _no_leak(response)
    prompt = await world.http.post("/v1/memory/prompt", headers=world.b,
                                   json={"query": "tea", "long_term_search": body})
    _no_leak(prompt)


@FUZZ
@given(params=scope_params)
async def test_scope_parameters_never_widen(world: World, params: dict[str, Any]) -> None:
    """Hostile namespace/user query values on list, get, delete, compact and forget."""
    calls = [
        ("GET", "/v1/working-memory/"),
        ("GET", f"/v1/working-memory/{SESSION}"),
        ("DELETE", f"/v1/working-memory/{SESSION}"),
        ("POST", "/v1/long-term-memory/compact"),
    ]
    for method, path in calls:
        response = await world.http.request(method, path, headers=world.b, params=params)
        _no_leak(response)
        if response.is_success and method == "GET" and path.endswith("/"):
            assert SESSION not in response.text
    forget = await world.http.post("/v1/long-term-memory/forget", headers=world.b,
                                   params={**params, "dry_run": "false"},
                                   json={"policy": {"max_age_days": 0}})
    _no_leak(forget)
    await world.assert_a_intact()


@FUZZ
@given(scope=scope_params)
async def test_writes_with_hostile_scope_stay_in_bounds(world: World, scope: dict[str, Any]) -> None:
    """B's writes naming hostile scopes either fail or land in B's own bounds."""
    put = await world.http.put("/v1/working-memory/fuzz", headers=world.b,
                               json={"messages": [{"role": "user", "content": "b"}], **scope})
    _no_leak(put)
    if put.is_success:
        body = put.json()
        assert body["namespace"] == world.ctx["B_NS"]
        if world.ctx["B_USER"] is not None:
            assert body["user_id"] == world.ctx["B_USER"]
    created = await world.http.post("/v1/long-term-memory/", headers=world.b,
                                    json={"memories": [{"text": "b note", **scope}]})
    _no_leak(created)
    if created.is_success:
        (memory_id,) = created.json()["ids"]
        got = await world.http.get(f"/v1/long-term-memory/{memory_id}", headers=world.b)
        assert got.status_code == 200
        assert got.json()["namespace"] == world.ctx["B_NS"]
        if world.ctx["B_USER"] is not None:
            assert got.json()["user_id"] == world.ctx["B_USER"]
    await world.assert_a_intact()


def test_pairs_cover_namespace_and_user_bounds() -> None:
    """The fuzz runs for namespace-bound and same-namespace user-bound tenants."""
    assert {"namespaces", "users-sharing-a-namespace"} <= set(PAIRS)


async def test_bound_search_still_finds_the_callers_own(world: World) -> None:
    """The bounds narrow, they do not blind: B finds its own memory, never A's."""
    require_route("POST", "/v1/long-term-memory/search")
    created = await world.http.post("/v1/long-term-memory/", headers=world.b,
                                    json={"memories": [{"text": "b likes green tea"}]})
    assert created.status_code == 200, created.text
    for mode in ("semantic", "keyword", "hybrid"):
        found = await world.http.post("/v1/long-term-memory/search", headers=world.b,
                                      json={"text": "likes green tea", "search_mode": mode})
        assert found.status_code == 200, found.text
        texts = [m["text"] for m in found.json()["memories"]]
        assert texts == ["b likes green tea"], (mode, texts)
