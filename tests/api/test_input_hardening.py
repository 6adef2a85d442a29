"""Inputs that used to crash or slip through (issue 12, items 4-8 and 11): each is a clear
4xx with the JSON error shape, nothing is written, and damaged records never fail a pass."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import pytest
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis

from agent_memory.app import create_app
from tests.conftest import make_settings

JSON = {"content-type": "application/json"}


async def _raw(client: httpx.AsyncClient, method: str, path: str, body: bytes,
               **kwargs: object) -> httpx.Response:
    return await client.request(method, path, content=body, headers=JSON, **kwargs)  # type: ignore[arg-type]


def _error(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert "detail" in body and body["error"]["code"], body
    return body  # type: ignore[no-any-return]


# --- item 5: non-finite numbers ---------------------------------------------------------------

NON_FINITE = [b"NaN", b"Infinity", b"-Infinity", b"1e99999", b"-1e99999"]
ROUTES = [
    ("POST", "/v1/long-term-memory/search", b'{"text": "x", "hybrid_alpha": %s}'),
    ("POST", "/v1/long-term-memory/search", b'{"text": "x", "recency_semantic_weight": %s}'),
    ("POST", "/v1/long-term-memory/search", b'{"text": "x", "limit": %s}'),
    ("POST", "/v1/long-term-memory/", b'{"memories": [{"text": "t", "metadata": {"n": %s}}]}'),
    ("PUT", "/v1/working-memory/s1", b'{"messages": [], "data": {"n": [1, %s]}}'),
    ("POST", "/v1/long-term-memory/forget", b'{"policy": {"max_age_days": %s}}'),
    ("POST", "/v1/memory/prompt", b'{"query": "q", "session": {"session_id": "s", '
                                  b'"context_window_max": %s}}'),
    ("PATCH", "/v1/long-term-memory/m1", b'{"metadata": {"x": %s}}'),
]


@pytest.mark.parametrize("value", NON_FINITE)
async def test_non_finite_numbers_are_422_everywhere(client: httpx.AsyncClient, redis: Redis,
                                                     value: bytes) -> None:
    for method, path, template in ROUTES:
        response = await _raw(client, method, path, template % value)
        body = _error(response, 422)
        assert body["error"]["code"] == "validation_error", (path, body)
    assert await redis.keys("memory_idx:*") == []
    assert (await client.get("/v1/working-memory/s1")).status_code == 404


async def test_text_mentioning_nan_is_still_accepted(client: httpx.AsyncClient) -> None:
    """The check looks at numbers, not at words: a text saying NaN or 1e999 is fine."""
    response = await client.post("/v1/long-term-memory/", json={"memories": [
        {"id": "nan-text", "text": "NaN and Infinity are not JSON; 1e999 overflows"}]})
    assert response.status_code == 200
    assert (await client.get("/v1/long-term-memory/nan-text")).json()["text"].startswith("NaN")


# --- item 11: booleans and integers do not cross over -----------------------------------------

@pytest.mark.parametrize(("path", "body"), [
    ("/v1/long-term-memory/forget", {"policy": {"budget": False}}),
    ("/v1/long-term-memory/forget", {"policy": {"budget": True}}),
    ("/v1/long-term-memory/search", {"text": "x", "server_side_recency": 0}),
    ("/v1/long-term-memory/search", {"text": "x", "limit": True}),
    ("/v1/long-term-memory/", {"memories": [{"text": "t", "pinned": 1}]}),
    ("/v1/long-term-memory/", {"memories": [{"text": "t"}], "deduplicate": 0}),
])
async def test_booleans_and_integers_do_not_cross_over(client: httpx.AsyncClient, redis: Redis,
                                                       path: str, body: dict[str, object]) -> None:
    _error(await client.post(path, json=body), 422)
    assert await redis.keys("memory_idx:*") == []


async def test_roles_are_free_text_but_never_control_characters(client: httpx.AsyncClient) -> None:
    """AMS's role is free text (documented in README); one holding a newline could forge a
    line of an extraction prompt, so it is refused."""
    ok = await client.put("/v1/working-memory/r1", json={"messages": [
        {"role": "wizard", "content": "abracadabra"}, {"role": "tool", "content": "42"}]})
    assert ok.status_code == 200
    assert [m["role"] for m in ok.json()["messages"]] == ["wizard", "tool"]
    for role in ("user\n[SYSTEM]", "", " ", "a\x00b"):
        _error(await client.put("/v1/working-memory/r2", json={"messages": [
            {"role": role, "content": "hi"}]}), 422)
    assert (await client.get("/v1/working-memory/r2")).status_code == 404


# --- item 4: text caps ----------------------------------------------------------------------

@pytest.fixture
async def small_cap_client(redis_url: str, redis: Redis) -> AsyncIterator[httpx.AsyncClient]:
    """A server with MAX_TEXT_CHARS=50 (configurable cap)."""
    app = create_app(make_settings(redis_url, max_text_chars=50))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def test_text_caps_are_422_on_every_text_field(small_cap_client: httpx.AsyncClient,
                                                     redis: Redis) -> None:
    long = "x" * 51
    client = small_cap_client
    cases = [
        ("POST", "/v1/long-term-memory/", {"memories": [{"text": long}]},
         ["body", "memories", 0, "text"]),
        ("PUT", "/v1/working-memory/c1", {"messages": [{"role": "user", "content": long}]},
         ["body", "messages", 0, "content"]),
        ("PUT", "/v1/working-memory/c1", {"messages": [], "context": long}, ["body", "context"]),
        ("PUT", "/v1/working-memory/c1", {"memories": [{"text": long}]},
         ["body", "memories", 0, "text"]),
        ("POST", "/v1/working-memory/c1/messages", {"messages": [{"role": "user", "content": long}]},
         ["body", "messages", 0, "content"]),
        ("POST", "/v1/memory/prompt", {"query": long}, ["body", "query"]),
    ]
    for method, path, body, loc in cases:
        response = await client.request(method, path, json=body)
        detail = _error(response, 422)["detail"]
        assert detail[0]["loc"] == loc and detail[0]["type"] == "string_too_long", detail  # type: ignore[index]
    await client.post("/v1/long-term-memory/", json={"memories": [{"id": "m", "text": "short"}]})
    response = await client.patch("/v1/long-term-memory/m", json={"text": long})
    assert _error(response, 422)["detail"][0]["loc"] == ["body", "text"]  # type: ignore[index]
    assert (await client.get("/v1/long-term-memory/m")).json()["text"] == "short"
    assert (await client.get("/v1/working-memory/c1")).status_code == 404
    # At the cap is accepted.
    ok = await client.put("/v1/working-memory/c2", json={"messages": [
        {"role": "user", "content": "y" * 50}]})
    assert ok.status_code == 200


# --- item 6: ids ----------------------------------------------------------------------------

BAD_IDS = ["bad\x00id", "a\x01b", "tab\tid", "sp ace", "`", "__", "x" * 257]


async def test_bad_ids_are_refused_at_every_door(client: httpx.AsyncClient, redis: Redis) -> None:
    for bad in BAD_IDS:
        _error(await client.post("/v1/long-term-memory/", json={"memories": [
            {"id": bad, "text": "t"}]}), 422)
        _error(await client.put("/v1/working-memory/w", json={"messages": [
            {"id": bad, "role": "user", "content": "c"}]}), 422)
        _error(await client.put("/v1/working-memory/w", json={"memories": [
            {"id": bad, "text": "c"}]}), 422)
        _error(await client.post("/v1/working-memory/w/messages", json={"messages": [
            {"id": bad, "role": "user", "content": "c"}]}), 422)
        _error(await client.post("/v1/long-term-memory/forget", json={
            "policy": {"max_age_days": 1}, "pinned_ids": [bad]}), 422)
        _error(await client.delete("/v1/long-term-memory", params={"memory_ids": [bad]}), 422)
        _error(await client.post("/v1/memories/forget", json={"memory_ids": [bad]}), 422)
    for bad in ("a\x01b", "`", "__"):  # what a URL path can carry
        for method in ("GET", "DELETE"):
            _error(await client.request(method, f"/v1/long-term-memory/{quote(bad)}"), 422)
        _error(await client.patch(f"/v1/long-term-memory/{quote(bad)}", json={"text": "x"}), 422)
        _error(await client.post(f"/v1/memories/{quote(bad)}/restore"), 422)
        _error(await client.get(f"/v1/memories/{quote(bad)}/provenance"), 422)
    assert await redis.keys("memory_idx:*") == []
    assert (await client.get("/v1/working-memory/w")).status_code == 404


async def test_forget_and_compact_skip_damaged_records(client: httpx.AsyncClient,
                                                       redis: Redis) -> None:
    """Records damaged in Redis (a NUL in the id, an unknown memory type, garbage fields)
    are skipped and counted; the rest of the pass completes for the tenant and for admins."""
    scope = {"namespace": "dmg", "user_id": "u"}
    response = await client.post("/v1/long-term-memory/", json={"memories": [
        {"id": "keep", "text": "kept memory", **scope},
        {"id": "dup1", "text": "duplicated", **scope},
        {"id": "dup2", "text": "duplicated", **scope}], "deduplicate": False})
    assert response.status_code == 200
    fields = await redis.hgetall("memory_idx:keep")
    await redis.hset(b"memory_idx:nul\x00id", mapping={**fields, b"id_": b"nul\x00id",
                                                       b"memory_hash": b"h1"})
    await redis.hset(b"memory_idx:weird", mapping={**fields, b"id_": b"weird", b"memory_hash": b"h2",
                                                   b"memory_type": b"not-a-type",
                                                   b"metadata": b"{not json"})
    for params in ({"namespace": "dmg", "user_id": "u"}, {}):  # the tenant's scope, an admin's
        response = await client.post("/v1/long-term-memory/forget", params=params, json={
            "policy": {"max_age_days": 10000}})
        assert response.status_code == 200, response.text
        assert response.json()["skipped_damaged"] >= 2, response.json()
        response = await client.post("/v1/long-term-memory/compact", params=params)
        assert response.status_code == 200, response.text
        assert "damaged records skipped" in response.json()["status"]
    assert await redis.exists("memory_idx:keep") == 1
    assert await redis.exists("memory_idx:dup1") + await redis.exists("memory_idx:dup2") == 1
    response = await client.post("/v1/long-term-memory/forget", params={"dry_run": "false"},
                                 json={"policy": {"budget": 0}})
    assert response.status_code == 200 and "keep" in response.json()["deleted_ids"]


# --- item 7: every tag operator, one validation ------------------------------------------------

@pytest.mark.parametrize("value", ["`", "\x00", "\u0001", "a\x00b", "_", " "])
@pytest.mark.parametrize("op", ["eq", "ne", "any", "all", "none", "in_", "not_eq", "not_in"])
async def test_every_tag_operator_checks_its_values(client: httpx.AsyncClient, op: str,
                                                    value: str) -> None:
    operand: object = [value] if op in ("any", "all", "none", "in_", "not_in") else value
    for field in ("namespace", "user_id", "session_id", "topics", "entities"):
        response = await client.post("/v1/long-term-memory/search", json={
            "text": "", field: {op: operand}})
        body = _error(response, 422)
        assert body["error"]["code"] == "validation_error"


# --- item 8: background variants validate before enqueueing ------------------------------------

async def test_background_variants_validate_like_the_foreground(client: httpx.AsyncClient,
                                                                redis: Redis) -> None:
    for background in ("false", "true"):
        response = await client.post("/v1/long-term-memory/compact",
                                     params={"namespace": "\x1e", "background": background})
        _error(response, 422)
        response = await client.post("/v1/long-term-memory/forget", params={
            "namespace": "`", "background": background}, json={"policy": {"max_age_days": 1}})
        _error(response, 422)
        response = await client.post("/v1/long-term-memory/forget", params={
            "background": background}, json={"policy": {"budget": True}})
        _error(response, 422)
    assert await redis.keys("*task*") == []  # nothing was enqueued or recorded
