"""The grant lifecycle: read, continue, revoke, continue refused, expiry; and the audit."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from agent_memory.storage.keys import profile_grant_key
from tests.conftest import make_settings
from tests.profile.conftest import SEED_NOW, Profile, food, open_profile


async def _continue(profile: Profile, token: str, expect: int) -> dict[str, Any]:
    response = await profile.client.post("/memory/read/continue",
                                         json={"revocation_token": token})
    assert response.status_code == expect, response.text
    return response.json()


async def _revoke(profile: Profile, token: str, expect: int = 200) -> dict[str, Any]:
    response = await profile.client.post("/memory/revoke", json={"revocation_token": token})
    assert response.status_code == expect, response.text
    return response.json()


async def test_read_continue_revoke_refuse(profile: Profile, redis: Redis) -> None:
    """A continued read sees data written after the first read, under the same token and
    expiry; after revocation continue is 410 ``grant_revoked``; revoking again says so
    (``already_revoked``, the first time kept) without an error."""
    await profile.create(**food(likes=["pizza"]))
    first = await profile.read(user_id="user123", scope="preferences", domain="food")
    token = first["revocation_token"]
    await profile.create(**food(dislikes=["pizza"], likes=["ramen"]))
    later = await _continue(profile, token, 200)
    assert later["summary_struct"]["likes"] == ["ramen"]
    assert later["summary_struct"]["dislikes"] == ["pizza"]
    assert (later["revocation_token"], later["expires_at"]) == (token, first["expires_at"])

    profile.clock.advance(60)
    revoked = await _revoke(profile, token)
    assert revoked["revoked"] is True and revoked["already_revoked"] is False
    refused = await _continue(profile, token, 410)
    assert refused["error"]["code"] == "grant_revoked"
    assert refused["error"]["details"]["revoked_at"] == revoked["revoked_at"]
    profile.clock.advance(60)
    assert await _revoke(profile, token) == {**revoked, "already_revoked": True}
    assert await redis.ttl(profile_grant_key(token)) > 0  # kept only for its lifetime


async def test_a_grant_expires_after_its_ttl(redis_url: str, redis: Redis) -> None:
    """With PROFILE_GRANT_TTL_SECONDS=600, continue works until then and is 410
    ``grant_expired`` after; the grant is kept (TTL) for the retention, then forgotten."""
    settings = make_settings(redis_url, profile_grant_ttl_seconds=600,
                             profile_grant_retention_seconds=3600)
    async with open_profile(settings, now=SEED_NOW) as profile:
        await profile.create(**food(likes=["pizza"]))
        read = await profile.read(user_id="user123", scope="preferences")
        assert read["expires_at"] == "2024-01-15T10:40:00Z"
        profile.clock.advance(599)
        await _continue(profile, read["revocation_token"], 200)
        profile.clock.advance(1)
        expired = await _continue(profile, read["revocation_token"], 410)
        assert expired["error"]["code"] == "grant_expired"
        assert 4000 <= await redis.ttl(profile_grant_key(read["revocation_token"])) <= 4200
        # Revoking an expired grant is harmless and recorded.
        assert (await _revoke(profile, read["revocation_token"]))["revoked"] is True


async def test_every_read_continue_denial_and_revocation_is_audited(profile: Profile) -> None:
    """The audit trail lists who, user, scope, purpose class, grant and outcome of each
    step, and never a value or the purpose text."""
    await profile.create(**food(likes=["pizza"]))
    read = await profile.read(user_id="user123", scope="preferences")
    token = read["revocation_token"]
    await _continue(profile, token, 200)
    await profile.read(403, user_id="user123", scope="accessibility",
                       purpose="show an ad for restaurants")
    await _revoke(profile, token)
    await _continue(profile, token, 410)

    reads = await profile.audit("profile.read")
    assert len(reads) == 1
    assert reads[0]["subject"] == "local-dev-user" and reads[0]["user_id"] == "user123"
    assert reads[0]["outcome"] == "allowed"
    assert reads[0]["details"] == {"scope": "preferences", "purpose_class": "recommendation",
                                   "classified_by": "rules", "grant_id": token}
    assert [e["outcome"] for e in await profile.audit("profile.continue")] == [
        "allowed", "grant_revoked"]
    (denied,) = await profile.audit("profile.denied")
    assert denied["details"] == {"scope": "accessibility", "purpose_class": "advertising",
                                 "classified_by": "rules"}
    assert denied["outcome"] == "denied"
    (revoke,) = await profile.audit("profile.revoke")
    assert revoke["outcome"] == "revoked" and revoke["ids"] == [token]
    for action in ("profile.read", "profile.continue", "profile.denied", "profile.revoke"):
        for event in await profile.audit(action):
            assert "pizza" not in str(event) and "restaurants" not in str(event)


async def test_continue_follows_a_policy_change(redis_url: str, redis: Redis) -> None:
    """A grant is checked against the policy of the server that continues it: once the
    deployment stops allowing the class, continue is 403 ``policy_denied``."""
    async with open_profile(make_settings(redis_url)) as profile:
        await profile.create(**food(likes=["pizza"]))
        token = (await profile.read(user_id="user123", scope="preferences"))["revocation_token"]
    strict = make_settings(redis_url, profile_purpose_policy={"preferences": ["content_generation"]})
    async with open_profile(strict) as profile:
        denied = await _continue(profile, token, 403)
        assert denied["error"]["code"] == "policy_denied"
        assert denied["error"]["details"]["allowed_purpose_classes"] == ["content_generation"]
        (event,) = await profile.audit("profile.denied")
        assert (event["outcome"], event["method"], event["ids"]) == ("denied", "policy", [token])


async def test_an_operator_lists_profile_events_over_http(profile: Profile) -> None:
    """The profile events are listed by ``GET /v1/audit`` like every other audit event."""
    await profile.create(**food(likes=["pizza"]))
    token = (await profile.read(user_id="user123", scope="preferences"))["revocation_token"]
    await _revoke(profile, token)
    listed = await profile.client.get("/v1/audit", params={"action": "profile.revoke"})
    assert listed.status_code == 200, listed.text
    events = listed.json()["events"]
    assert [e["details"]["grant_id"] for e in events] == [token]
