"""The profile contract's examples, verbatim, at its own paths and under /v1/profile."""

from __future__ import annotations

import uuid

import pytest
from redis.asyncio import Redis

from agent_memory.storage.keys import profile_memories_key
from tests.profile.conftest import SEED_NOW, Profile

CREATE = {
    "user_id": "user123", "scope": "preferences", "domain": "food",
    "source": "explicit_user_input", "ttl_days": 30,
    "value_json": {"likes": ["pizza", "sushi"], "dislikes": ["broccoli"]},
}
READ = {"user_id": "user123", "scope": "preferences", "domain": "food",
        "purpose": "generate food recommendations", "max_age_days": 30}
DENIED = {
    "error": {
        "code": "policy_denied",
        "message": "Purpose 'execute task' is not allowed for scope 'preferences'",
        "details": {"scope": "preferences", "purpose": "execute task",
                    "allowed_purpose_classes": ["content_generation", "recommendation"]},
    }
}


@pytest.mark.parametrize("prefix", ["", "/v1/profile"])
async def test_the_examples_verbatim(profile: Profile, redis: Redis, prefix: str) -> None:
    """At the examples' own clock, create, read, continue and revoke answer exactly the
    contract's example responses (only the generated ids differ), at both paths."""
    profile.clock.now = SEED_NOW
    created = await profile.create(prefix=prefix, **CREATE)
    assert uuid.UUID(created.pop("id"))
    assert created == {"user_id": "user123", "scope": "preferences", "domain": "food",
                       "created_at": "2024-01-15T10:30:00Z",
                       "expires_at": "2024-02-14T10:30:00Z"}
    assert await redis.hlen(profile_memories_key(None, "user123", "preferences")) == 1

    read = await profile.read(prefix=prefix, **READ)
    token = read.pop("revocation_token")
    assert uuid.UUID(token)
    assert read == {"summary_text": "Likes: 2, Dislikes: 1, Settings: 0",
                    "summary_struct": {"likes": ["pizza", "sushi"], "dislikes": ["broccoli"],
                                       "settings": {}},
                    "confidence": 0.85, "expires_at": "2024-01-16T10:30:00Z"}

    again = await profile.client.post(f"{prefix}/memory/read/continue",
                                      json={"revocation_token": token})
    assert again.status_code == 200, again.text
    assert again.json() == {**read, "revocation_token": token}

    profile.clock.now = SEED_NOW + 90 * 60  # 12:00
    revoked = await profile.client.post(f"{prefix}/memory/revoke",
                                        json={"revocation_token": token})
    assert revoked.status_code == 200, revoked.text
    assert revoked.json() == {"revoked": True, "revoked_at": "2024-01-15T12:00:00Z",
                              "already_revoked": False}


@pytest.mark.parametrize("prefix", ["", "/v1/profile"])
async def test_policy_denied_example(profile: Profile, redis: Redis, prefix: str) -> None:
    """Purpose "execute task" on preferences: 403 with exactly the contract's error object
    (and ``detail`` beside it, as every error of the API); no grant is created."""
    await profile.create(prefix=prefix, **CREATE)
    response = await profile.client.post(f"{prefix}/memory/read", json={
        "user_id": "user123", "scope": "preferences", "purpose": "execute task"})
    assert response.status_code == 403
    assert response.json() == {**DENIED, "detail": DENIED["error"]["message"]}
    assert [k async for k in redis.scan_iter("am:profile:grant*")] == []


async def test_trailing_slash_spelling_is_served(profile: Profile) -> None:
    """``/memory/`` answers like ``/memory`` (no redirect that would drop the body)."""
    response = await profile.client.post("/memory/", json=CREATE)
    assert response.status_code == 200, response.text
