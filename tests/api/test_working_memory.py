"""Working-memory routes against the real Redis."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import httpx
from redis.asyncio import Redis

from agent_memory.storage.keys import working_memory_key


def _msgs(n: int, prefix: str = "m") -> list[dict[str, str]]:
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": f"{prefix} message {i}",
             "id": f"{prefix}{i}"} for i in range(n)]


async def test_put_then_get_round_trips(client: httpx.AsyncClient) -> None:
    """PUT stores messages, memories, data and context; GET returns them in order."""
    body = {
        "messages": _msgs(3),
        "memories": [{"text": "user likes tea", "memory_type": "semantic"}],
        "data": {"k": [1, 2]},
        "context": "earlier",
        "namespace": "ns",
        "user_id": "u1",
        "session_id": "ignored-body-id",
    }
    put = await client.put("/v1/working-memory/s1", json=body)
    assert put.status_code == 200, put.text
    assert put.json()["session_id"] == "s1"
    got = await client.get("/v1/working-memory/s1", params={"namespace": "ns", "user_id": "u1"})
    assert got.status_code == 200
    data = got.json()
    assert [m["id"] for m in data["messages"]] == ["m0", "m1", "m2"]
    assert data["memories"][0]["text"] == "user likes tea" and data["memories"][0]["id"]
    assert data["data"] == {"k": [1, 2]} and data["context"] == "earlier"
    assert data["namespace"] == "ns" and data["user_id"] == "u1"
    assert data["tokens"] > 0
    assert data["context_percentage_total_used"] is None  # no window named


async def test_get_missing_session_is_404(client: httpx.AsyncClient) -> None:
    """An unknown session is a JSON 404 with AMS's detail text."""
    response = await client.get("/v1/working-memory/nope")
    assert response.status_code == 404
    assert response.json()["detail"] == "Session nope not found"
    assert response.json()["error"]["code"] == "not_found"


async def test_namespace_and_user_never_collide(client: httpx.AsyncClient, redis: Redis) -> None:
    """(ns=a, user=None) and (ns=None, user=a) are two sessions (AMS's keys collide)."""
    await client.put("/v1/working-memory/s", json={"namespace": "a", "messages": _msgs(1, "x")})
    await client.put("/v1/working-memory/s", json={"user_id": "a", "messages": _msgs(2, "y")})
    by_ns = await client.get("/v1/working-memory/s", params={"namespace": "a"})
    by_user = await client.get("/v1/working-memory/s", params={"user_id": "a"})
    assert [m["id"] for m in by_ns.json()["messages"]] == ["x0"]
    assert [m["id"] for m in by_user.json()["messages"]] == ["y0", "y1"]
    assert working_memory_key("a", None, "s") != working_memory_key(None, "a", "s")


async def test_list_sessions_newest_first_with_real_total(client: httpx.AsyncClient) -> None:
    """Listing is ordered by last update, paged, filtered, and totals are real."""
    for i in range(5):
        await client.put(f"/v1/working-memory/s{i}", json={"namespace": "n1", "messages": _msgs(1)})
    await client.put("/v1/working-memory/other", json={"namespace": "n2"})
    await client.put("/v1/working-memory/s1", json={"namespace": "n1", "messages": _msgs(2)})
    page = (await client.get("/v1/working-memory/", params={"namespace": "n1", "limit": 2})).json()
    assert page == {"sessions": ["s1", "s4"], "total": 5}
    rest = (await client.get("/v1/working-memory", params={"namespace": "n1", "offset": 2})).json()
    assert rest["sessions"] == ["s3", "s2", "s0"]
    everything = (await client.get("/v1/working-memory/")).json()
    assert everything["total"] == 6


async def test_delete_removes_session(client: httpx.AsyncClient) -> None:
    """DELETE answers ok (also when absent) and the session is gone."""
    await client.put("/v1/working-memory/d", json={"messages": _msgs(1)})
    assert (await client.delete("/v1/working-memory/d")).json() == {"status": "ok"}
    assert (await client.get("/v1/working-memory/d")).status_code == 404
    assert (await client.delete("/v1/working-memory/d")).status_code == 200


async def test_ttl_is_honoured(client: httpx.AsyncClient, redis: Redis) -> None:
    """ttl_seconds sets an expiry on the session key, and appends keep it."""
    await client.put("/v1/working-memory/t", json={"ttl_seconds": 60, "messages": _msgs(1)})
    key = working_memory_key(None, None, "t")
    assert 0 < await redis.ttl(key) <= 60
    await client.post("/v1/working-memory/t/messages", json={"messages": _msgs(1, "z")})
    assert 0 < await redis.ttl(key) <= 60
    await client.put("/v1/working-memory/t2", json={"ttl_seconds": 1, "messages": _msgs(1)})
    await asyncio.sleep(1.2)
    assert (await client.get("/v1/working-memory/t2")).status_code == 404
    listed = (await client.get("/v1/working-memory/")).json()
    assert "t2" not in listed["sessions"]


async def test_fifty_concurrent_appends_lose_nothing(client: httpx.AsyncClient) -> None:
    """50 concurrent appends to one session: all 50 messages are stored."""
    async def one(i: int) -> int:
        r = await client.post("/v1/working-memory/c/messages",
                              json={"messages": [{"role": "user", "content": f"hi {i}", "id": f"c{i}"}]})
        return r.status_code
    statuses = await asyncio.gather(*(one(i) for i in range(50)))
    assert set(statuses) == {200}
    got = (await client.get("/v1/working-memory/c")).json()
    assert sorted(m["id"] for m in got["messages"]) == sorted(f"c{i}" for i in range(50))


async def test_resent_message_id_is_a_noop(client: httpx.AsyncClient) -> None:
    """Appending a message whose id is already stored changes nothing."""
    msg = {"role": "user", "content": "once", "id": "dup"}
    await client.post("/v1/working-memory/r/messages", json={"messages": [msg]})
    await client.post("/v1/working-memory/r/messages", json={"messages": [msg]})
    got = (await client.get("/v1/working-memory/r")).json()
    assert [m["id"] for m in got["messages"]] == ["dup"]


async def test_append_response_honours_recent_messages_limit(client: httpx.AsyncClient) -> None:
    """``recent_messages_limit`` trims the append's response like GET's, never the store."""
    for i in range(5):
        r = await client.post("/v1/working-memory/lim/messages?recent_messages_limit=2",
                              json={"messages": [{"role": "user", "content": f"m{i}", "id": f"l{i}"}]})
        assert r.status_code == 200
    body = r.json()
    assert [m["id"] for m in body["messages"]] == ["l3", "l4"]
    got = (await client.get("/v1/working-memory/lim")).json()
    assert [m["id"] for m in got["messages"]] == [f"l{i}" for i in range(5)]
    same_window = (await client.get("/v1/working-memory/lim?recent_messages_limit=2")).json()
    assert body["tokens"] == same_window["tokens"] < got["tokens"]
    bad = await client.post("/v1/working-memory/lim/messages?recent_messages_limit=0",
                            json={"messages": [{"role": "user", "content": "x"}]})
    assert bad.status_code == 422
    assert len((await client.get("/v1/working-memory/lim")).json()["messages"]) == 5


async def test_stale_if_match_is_rejected(client: httpx.AsyncClient) -> None:
    """PUT with an old ETag gets 412 and leaves the newer data in place."""
    first = await client.put("/v1/working-memory/e", json={"messages": _msgs(1, "a")})
    etag = first.headers["etag"]
    second = await client.put("/v1/working-memory/e", json={"messages": _msgs(1, "b")},
                              headers={"If-Match": etag})
    assert second.status_code == 200
    stale = await client.put("/v1/working-memory/e", json={"messages": _msgs(1, "c")},
                             headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "precondition_failed"
    got = await client.get("/v1/working-memory/e")
    assert [m["id"] for m in got.json()["messages"]] == ["b0"]
    assert got.headers["etag"] == second.headers["etag"]


async def test_bad_input_is_4xx_json(client: httpx.AsyncClient) -> None:
    """Wrong types, missing fields, empty content and bad JSON are 422 with field paths."""
    cases = [
        {"messages": "nope"},
        {"messages": [{"role": "user"}]},
        {"messages": [{"role": "user", "content": "   "}]},
        {"ttl_seconds": -5},
        {"memories": [{"text": ""}]},
    ]
    for body in cases:
        response = await client.put("/v1/working-memory/bad", json=body)
        assert response.status_code == 422, body
        payload = response.json()
        assert payload["error"]["code"] == "validation_error"
        assert payload["detail"][0]["loc"][0] == "body"
    raw = await client.put("/v1/working-memory/bad", content=b"{not json",
                           headers={"content-type": "application/json"})
    assert raw.status_code == 422
    bad_query = await client.get("/v1/working-memory/", params={"limit": "many"})
    assert bad_query.status_code == 422 and bad_query.json()["detail"][0]["loc"] == ["query", "limit"]
    assert (await client.get("/v1/working-memory/bad")).status_code == 404  # nothing stored


async def test_huge_body_is_413(client: httpx.AsyncClient) -> None:
    """A body over MAX_REQUEST_BYTES is refused with a JSON 413."""
    big = "x" * (11 * 1024 * 1024)
    response = await client.put("/v1/working-memory/big",
                                json={"messages": [{"role": "user", "content": big}]})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_any_model_name_is_accepted(client: httpx.AsyncClient) -> None:
    """Unknown model names are fine (AMS: 422); known ones size the window."""
    await client.put("/v1/working-memory/w", json={"messages": _msgs(2)})
    for name in ("gpt-5", "claude-sonnet-4-6", "my-local-llama"):
        response = await client.get("/v1/working-memory/w", params={"model_name": name})
        assert response.status_code == 200
        assert response.json()["context_percentage_total_used"] is not None
    small = await client.get("/v1/working-memory/w", params={"context_window_max": 1000})
    pct = small.json()["context_percentage_total_used"]
    assert 0 < pct < 100


async def test_recent_messages_limit(client: httpx.AsyncClient) -> None:
    """recent_messages_limit keeps the newest N."""
    await client.put("/v1/working-memory/l", json={"messages": _msgs(5)})
    got = await client.get("/v1/working-memory/l", params={"recent_messages_limit": 2})
    assert [m["id"] for m in got.json()["messages"]] == ["m3", "m4"]


async def test_get_without_scope_finds_the_unique_session(client: httpx.AsyncClient) -> None:
    """PUT with scope in the body, GET/DELETE without it: resolved when exactly one matches
    (AMS issue #235), ambiguous ids stay 404 rather than picking one."""
    await client.put("/v1/working-memory/u", json={"namespace": "n", "user_id": "x", "messages": _msgs(1)})
    got = await client.get("/v1/working-memory/u")
    assert got.status_code == 200 and got.json()["namespace"] == "n"
    await client.put("/v1/working-memory/u", json={"namespace": "n", "user_id": "y", "messages": _msgs(1)})
    assert (await client.get("/v1/working-memory/u")).status_code == 404
    assert (await client.get("/v1/working-memory/u", params={"user_id": "y"})).status_code == 200
    await client.delete("/v1/working-memory/u", params={"user_id": "y"})
    assert (await client.get("/v1/working-memory/u", params={"namespace": "n", "user_id": "y"})).status_code == 404
    assert (await client.get("/v1/working-memory/u", params={"namespace": "n", "user_id": "x"})).status_code == 200


async def test_special_characters_in_ids_and_scope(client: httpx.AsyncClient) -> None:
    """Ids and scopes with separators, braces, wildcards and unicode stay distinct and listable."""
    odd = ["a:b", "a|b", "{x}", "*", "ü-ñ", "a%7Eb", "~"]
    for value in odd:
        response = await client.put(f"/v1/working-memory/{quote(value, safe='')}",
                                    json={"namespace": value, "messages": _msgs(1)})
        assert response.status_code == 200, value
    for value in odd:
        listed = (await client.get("/v1/working-memory/", params={"namespace": value})).json()
        assert listed == {"sessions": [value], "total": 1}, value
