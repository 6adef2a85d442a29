"""Bad input on the profile routes: 422 ``invalid_request`` (or 404), and nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from tests.profile.conftest import Profile, food

GOOD: dict[str, Any] = food(likes=["pizza"])
BAD_BODIES: list[tuple[str, dict[str, Any]]] = [
    ("unknown scope", {**GOOD, "scope": "hobbies"}),
    ("unknown source", {**GOOD, "source": "rumour"}),
    ("source missing", {k: v for k, v in GOOD.items() if k != "source"}),
    ("empty user", {**GOOD, "user_id": ""}),
    ("ttl 0", {**GOOD, "ttl_days": 0}),
    ("ttl 366", {**GOOD, "ttl_days": 366}),
    ("ttl as text", {**GOOD, "ttl_days": "30"}),
    ("ttl as boolean", {**GOOD, "ttl_days": True}),
    ("unknown field", {**GOOD, "colour": "red"}),
    ("value a string", {**GOOD, "value_json": "pizza"}),
    ("value empty", {**GOOD, "value_json": {}}),
    ("liked and disliked", {**GOOD, "value_json": {"likes": ["a"], "dislikes": ["A"]}}),
    ("likes not strings", {**GOOD, "value_json": {"likes": [1]}}),
    ("rules on preferences", {**GOOD, "value_json": ["be nice"]}),
    ("windows on preferences",
     {**GOOD, "value_json": [{"day": "monday", "start": "09:00", "end": "10:00"}]}),
    ("likes on schedule", {**GOOD, "scope": "schedule"}),
    ("bad day", {**GOOD, "scope": "schedule",
                 "value_json": [{"day": "someday", "start": "09:00", "end": "10:00"}]}),
    ("bad time", {**GOOD, "scope": "schedule",
                  "value_json": [{"day": "monday", "start": "9:00", "end": "10:00"}]}),
    ("end before start", {**GOOD, "scope": "schedule",
                          "value_json": [{"day": "monday", "start": "11:00", "end": "10:00"}]}),
    ("window extra key", {**GOOD, "scope": "schedule", "value_json": [
        {"day": "monday", "start": "09:00", "end": "10:00", "note": "x"}]}),
    ("mixed list", {**GOOD, "scope": "constraints", "value_json": ["a", 1]}),
    ("empty key", {**GOOD, "scope": "attention", "value_json": {"": 1}}),
    ("too large", {**GOOD, "scope": "attention", "value_json": {"k": "x" * 17_000}}),
]


@pytest.mark.parametrize(("case", "body"), BAD_BODIES, ids=[c for c, _ in BAD_BODIES])
async def test_bad_create_is_422_and_writes_nothing(profile: Profile, redis: Redis, case: str,
                                                    body: dict[str, Any]) -> None:
    """Each bad create answers 422 with the contract's error shape and stores nothing."""
    response = await profile.client.post("/memory", json=body)
    assert response.status_code == 422, (case, response.text)
    payload = response.json()
    assert payload["error"]["code"] == "invalid_request"
    assert payload["error"]["message"] and isinstance(payload["error"]["details"], dict)
    assert "detail" in payload
    assert [k async for k in redis.scan_iter("am:profile:*")] == []


@pytest.mark.parametrize("raw", [b"", b"{not json", b"[]"])
async def test_unparseable_bodies_are_invalid_request(profile: Profile, raw: bytes) -> None:
    """Empty or broken JSON on every route: 422 invalid_request, never a 500."""
    for path in ("/memory", "/memory/read", "/memory/read/continue", "/memory/revoke"):
        response = await profile.client.post(path, content=raw,
                                             headers={"content-type": "application/json"})
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error"]["code"] == "invalid_request"


async def test_bad_reads(profile: Profile, redis: Redis) -> None:
    """A read without purpose, with an unknown scope or a non-positive max_age_days is 422
    and creates no grant."""
    for body in ({"user_id": "u", "scope": "preferences"},
                 {"user_id": "u", "scope": "hobbies", "purpose": "recommend"},
                 {"user_id": "u", "scope": "preferences", "purpose": "recommend",
                  "max_age_days": 0},
                 {"user_id": "u", "scope": "preferences", "purpose": ""}):
        response = await profile.client.post("/memory/read", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["code"] == "invalid_request"
    assert [k async for k in redis.scan_iter("am:profile:*")] == []


async def test_malformed_and_unknown_tokens(profile: Profile) -> None:
    """A token that is not a UUID is 422; a well-formed unknown one is 404 ``not_found``."""
    for path in ("/memory/read/continue", "/memory/revoke"):
        bad = await profile.client.post(path, json={"revocation_token": "not-a-uuid"})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
        unknown = await profile.client.post(
            path, json={"revocation_token": "550e8400-e29b-41d4-a716-446655440000"})
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "not_found"


async def test_other_routes_keep_their_error_code(profile: Profile) -> None:
    """Only the profile door says ``invalid_request``: the AMS routes keep theirs."""
    response = await profile.client.post("/v1/long-term-memory/", json={"memories": "x"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert isinstance(response.json()["detail"], list)
