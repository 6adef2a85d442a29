"""Cross-tenant suite: tenant A writes, tenant B tries every route, A's data stays A's.

Each probe is one table entry; a route that is not registered (yet) is skipped, so a new
route joins the suite by adding an entry to ``PROBES``. Values starting with ``$`` are
filled per tenant pair (``$A_NS``, ``$A_USER``, ``$B_NS``, ``$TASK`` ...); a value that is
``None`` for the pair drops its key, so the same entry serves namespace-bound, user-bound
and same-namespace-different-user tenants.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from agent_memory.auth import issue_token
from agent_memory.storage.auth_tokens import TokenStore
from tests.auth.conftest import bearer, route_registered, serve
from tests.conftest import make_settings

MARKER = "zebra-quartz-7731"  # appears only in tenant A's data
SESSION = "sess-a"
MEMORY = "mem-a"

PAIRS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "namespaces": ({"namespaces": ["tenant-a"]}, {"namespaces": ["tenant-b"]}),
    "users": ({"user_id": "alice"}, {"user_id": "bob"}),
    "users-sharing-a-namespace": ({"namespaces": ["shared"], "user_id": "alice"},
                                  {"namespaces": ["shared"], "user_id": "bob"}),
}


@dataclass(frozen=True)
class Probe:
    """One request tenant B makes. ``echoes``: a 2xx body may name ``sess-a``/``mem-a``
    because B used that id for its own data."""

    name: str
    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    echoes: bool = False
    not_ok: bool = False  # must not succeed (B named A's scope or A's object)
    status: int | None = None  # the exact status expected, when there is one


A_SCOPE = {"namespace": "$A_NS", "user_id": "$A_USER"}
MSG = [{"role": "user", "content": "from b"}]
POLICY = {"policy": {"max_age_days": 0}}

PROBES = [
    # -- working memory ---------------------------------------------------------------
    Probe("list sessions", "GET", "/v1/working-memory/"),
    Probe("list sessions in A's scope", "GET", "/v1/working-memory/", params=A_SCOPE),
    Probe("list sessions as A's user", "GET", "/v1/working-memory/", params={"user_id": "$A_USER"}),
    Probe("get A's session", "GET", f"/v1/working-memory/{SESSION}", not_ok=True),
    Probe("get A's session naming A's scope", "GET", f"/v1/working-memory/{SESSION}",
          params=A_SCOPE, not_ok=True),
    Probe("put over A's session naming A's scope", "PUT", f"/v1/working-memory/{SESSION}",
          json={"messages": MSG, **A_SCOPE}, not_ok=True),
    Probe("put own session with A's session id", "PUT", f"/v1/working-memory/{SESSION}",
          json={"messages": MSG}, echoes=True),
    Probe("append to A's session naming A's scope", "POST",
          f"/v1/working-memory/{SESSION}/messages", json={"messages": MSG, **A_SCOPE}, not_ok=True),
    Probe("delete A's session naming A's scope", "DELETE", f"/v1/working-memory/{SESSION}",
          params=A_SCOPE),
    Probe("delete A's session by id", "DELETE", f"/v1/working-memory/{SESSION}"),
    # -- long-term memory -------------------------------------------------------------
    Probe("search without filters", "POST", "/v1/long-term-memory/search", json={"text": "tea"}),
    Probe("search keyword mode", "POST", "/v1/long-term-memory/search",
          json={"text": MARKER, "search_mode": "keyword"}),
    Probe("search filtered to A", "POST", "/v1/long-term-memory/search",
          json={"text": "tea", "namespace": {"eq": "$A_NS"}, "user_id": {"eq": "$A_USER"}},
          not_ok=True),
    Probe("search any of A and B", "POST", "/v1/long-term-memory/search",
          json={"text": "tea", "namespace": {"any": ["$A_NS", "$B_NS"]},
                "user_id": {"any": ["$A_USER", "$B_USER"]}}),
    Probe("search ne/startswith", "POST", "/v1/long-term-memory/search",
          json={"text": "tea", "namespace": {"startswith": "t"}, "user_id": {"ne": "$B_USER"}}),
    Probe("search by A's session", "POST", "/v1/long-term-memory/search",
          json={"text": "tea", "session_id": {"eq": SESSION}}),
    Probe("get A's memory", "GET", f"/v1/long-term-memory/{MEMORY}", not_ok=True),
    Probe("patch A's memory", "PATCH", f"/v1/long-term-memory/{MEMORY}",
          json={"text": "overwritten by b"}, not_ok=True),
    Probe("patch A's memory into B's scope", "PATCH", f"/v1/long-term-memory/{MEMORY}",
          json={"namespace": "$B_NS", "user_id": "$B_USER"}, not_ok=True),
    Probe("delete A's memory", "DELETE", f"/v1/long-term-memory/{MEMORY}", not_ok=True),
    Probe("delete A's memory by list", "DELETE", "/v1/long-term-memory",
          params={"memory_ids": [MEMORY]}),
    Probe("create over A's memory id", "POST", "/v1/long-term-memory/",
          json={"memories": [{"id": MEMORY, "text": "taken over"}]}, not_ok=True),
    Probe("create into A's scope", "POST", "/v1/long-term-memory/",
          json={"memories": [{"text": "planted", **A_SCOPE}]}, not_ok=True),
    Probe("compact A's scope", "POST", "/v1/long-term-memory/compact", params=A_SCOPE),
    # -- forgetting, prompt, tasks ------------------------------------------------------
    Probe("forget in A's scope", "POST", "/v1/long-term-memory/forget",
          params={**A_SCOPE, "dry_run": "false"}, json=POLICY),
    Probe("forget everything in reach", "POST", "/v1/long-term-memory/forget",
          params={"dry_run": "false"}, json=POLICY),
    Probe("forget in the background", "POST", "/v1/long-term-memory/forget",
          params={"dry_run": "false", "background": "true"}, json=POLICY),
    Probe("prompt with A's session", "POST", "/v1/memory/prompt",
          json={"query": "tea?", "session": {"session_id": SESSION, **A_SCOPE}}, not_ok=True),
    Probe("prompt with A's session id only", "POST", "/v1/memory/prompt",
          json={"query": "tea?", "session": {"session_id": SESSION}}),
    Probe("prompt searching A", "POST", "/v1/memory/prompt",
          json={"query": "tea", "long_term_search": {"namespace": {"eq": "$A_NS"},
                                                     "user_id": {"eq": "$A_USER"}}},
          not_ok=True),
    Probe("prompt searching everything", "POST", "/v1/memory/prompt",
          json={"query": "tea", "long_term_search": True}),
    Probe("A's task status", "GET", "/v1/tasks/$TASK", not_ok=True),
    # -- summary views span tenants: admin only -----------------------------------------
    Probe("list summary views", "GET", "/v1/summary-views", status=403),
    Probe("create a summary view", "POST", "/v1/summary-views",
          json={"source": "long_term", "group_by": ["user_id"]}, status=403),
    Probe("get a summary view", "GET", "/v1/summary-views/v1", status=403),
    Probe("run a summary view partition", "POST", "/v1/summary-views/v1/partitions/run",
          json={"group": {"namespace": "$A_NS", "user_id": "$A_USER"}}, status=403),
    Probe("summary view partitions", "GET", "/v1/summary-views/v1/partitions", status=403),
    Probe("run a summary view", "POST", "/v1/summary-views/v1/run", json={"force": True},
          status=403),
    Probe("delete a summary view", "DELETE", "/v1/summary-views/v1", status=403),
]


def _resolve(value: Any, ctx: dict[str, Any]) -> Any:
    """Fill ``$NAME`` placeholders; drop keys and items whose value is ``None``."""
    if isinstance(value, str) and value.startswith("$"):
        return ctx[value[1:]]
    if isinstance(value, str) and "$" in value:
        for name, filled in ctx.items():
            value = value.replace(f"${name}", str(filled))
        return value
    if isinstance(value, dict):
        out = {k: _resolve(v, ctx) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != {}} or None
    if isinstance(value, list):
        items = [_resolve(v, ctx) for v in value]
        return [v for v in items if v is not None] or None
    return value


@dataclass
class World:
    """Tenant A's data, and a client with both tenants' tokens."""

    http: httpx.AsyncClient
    a: dict[str, str]
    b: dict[str, str]
    ctx: dict[str, Any]
    long_term: bool
    task: bool

    async def assert_a_intact(self) -> None:
        session = await self.http.get(f"/v1/working-memory/{SESSION}", headers=self.a)
        assert session.status_code == 200, session.text
        body = session.json()
        assert [m["content"] for m in body["messages"]] == [f"{MARKER} secret message"]
        assert body["data"] == {"k": MARKER}
        if self.long_term:
            memory = await self.http.get(f"/v1/long-term-memory/{MEMORY}", headers=self.a)
            assert memory.status_code == 200, memory.text
            assert memory.json()["text"] == f"{MARKER} likes green tea"
        if self.task:
            task = await self.http.get(f"/v1/tasks/{self.ctx['TASK']}", headers=self.a)
            assert task.status_code == 200, task.text


async def _world(http: httpx.AsyncClient, store: TokenStore, pair: str) -> World:
    a_bounds, b_bounds = PAIRS[pair]
    a_secret, _ = await issue_token(store, description="tenant a", **a_bounds)
    b_secret, _ = await issue_token(store, description="tenant b", **b_bounds)
    a, b = bearer(a_secret), bearer(b_secret)
    ctx: dict[str, Any] = {
        "A_NS": (a_bounds.get("namespaces") or [None])[0], "A_USER": a_bounds.get("user_id"),
        "B_NS": (b_bounds.get("namespaces") or [None])[0], "B_USER": b_bounds.get("user_id"),
        "TASK": "no-task",
    }
    put = await http.put(f"/v1/working-memory/{SESSION}", headers=a, json={
        "messages": [{"role": "user", "content": f"{MARKER} secret message"}],
        "data": {"k": MARKER}})
    assert put.status_code == 200, put.text
    created = await http.post("/v1/long-term-memory/", headers=a, json={"memories": [
        {"id": MEMORY, "text": f"{MARKER} likes green tea", "topics": ["tea"],
         "session_id": SESSION}]})
    long_term = created.status_code == 200
    task = False
    if long_term and route_registered("GET", "/v1/tasks/x"):
        forget = await http.post("/v1/long-term-memory/forget", headers=a,
                                 params={"background": "true"}, json={"policy": {"budget": 10}})
        if forget.status_code == 200 and forget.json().get("task_id"):
            ctx["TASK"], task = forget.json()["task_id"], True
    return World(http, a, b, ctx, long_term, task)


@pytest.fixture
async def client(redis_url: str, redis: Redis) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(make_settings(redis_url, auth_mode="token")) as http:
        yield http


@pytest.mark.parametrize("pair", list(PAIRS))
@pytest.mark.parametrize("probe", PROBES, ids=[p.name for p in PROBES])
async def test_tenant_b_finds_nothing_of_tenant_a(client: httpx.AsyncClient, redis: Redis,
                                                  pair: str, probe: Probe) -> None:
    """Whatever B sends, no byte of A's data comes back and A's data is unchanged."""
    world = await _world(client, TokenStore(redis), pair)
    path = _resolve(probe.path, world.ctx)
    if not route_registered(probe.method, path):
        pytest.skip(f"{probe.method} {probe.path} is not served yet")
    if "/long-term-memory" in path and not world.long_term:
        pytest.skip("long-term memory is not available")
    if "$TASK" in probe.path and not world.task:
        pytest.skip("background tasks are not available")
    response = await client.request(probe.method, path, headers=world.b,
                                    params=_resolve(probe.params, world.ctx),
                                    json=_resolve(probe.json, world.ctx))
    assert response.status_code < 500, response.text
    assert response.status_code != 401
    assert MARKER not in response.text
    if response.is_success and not probe.echoes:
        assert SESSION not in response.text and MEMORY not in response.text, response.text
    if probe.not_ok:
        assert not response.is_success, response.text
    if probe.status is not None:
        assert response.status_code == probe.status, response.text
    await world.assert_a_intact()
