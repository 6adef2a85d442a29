"""Tenancy on the profile routes (token auth, real Redis): a token bound to one user or
namespace can neither read nor continue nor revoke another's memories and grants."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from agent_memory.auth import issue_token
from agent_memory.storage.auth_tokens import TokenStore
from agent_memory.storage.keys import profile_memories_key
from tests.conftest import make_settings
from tests.profile.conftest import Profile, food, open_profile


@pytest.fixture
async def secured(redis_url: str, redis: Redis) -> AsyncIterator[Profile]:
    async with open_profile(make_settings(redis_url, auth_mode="token")) as running:
        yield running


async def _bearer(redis: Redis, **bounds: Any) -> dict[str, str]:
    secret, _ = await issue_token(TokenStore(redis), description="t", **bounds)
    return {"Authorization": f"Bearer {secret}"}


async def _post(profile: Profile, path: str, headers: dict[str, str], body: dict[str, Any],
                expect: int) -> dict[str, Any]:
    response = await profile.client.post(path, headers=headers, json=body)
    assert response.status_code == expect, (path, response.text)
    return response.json()


async def test_credentials_are_required(secured: Profile) -> None:
    """Without a token every profile route is 401 with the error shape."""
    for path in ("/memory", "/memory/read", "/v1/profile/memory/revoke"):
        response = await secured.client.post(path, json={})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"


async def test_a_user_bound_token_stays_with_its_user(secured: Profile, redis: Redis) -> None:
    """Alice's token cannot write or read Bob's profile (403), and Bob's grant is "not
    found" for her on continue and revoke (404), so she learns nothing of it; Bob's grant
    survives her attempt."""
    alice = await _bearer(redis, namespaces=["shop"], user_id="alice")
    bob = await _bearer(redis, namespaces=["shop"], user_id="bob")
    await _post(secured, "/memory", bob, food(user_id="bob", likes=["pizza"]), 200)
    await _post(secured, "/memory", alice, food(user_id="bob", likes=["x"]), 403)
    read = {"user_id": "bob", "scope": "preferences", "purpose": "recommend a dish"}
    await _post(secured, "/memory/read", alice, read, 403)
    token = (await _post(secured, "/memory/read", bob, read, 200))["revocation_token"]
    for path in ("/memory/read/continue", "/memory/revoke"):
        denied = await _post(secured, path, alice, {"revocation_token": token}, 404)
        assert denied["error"]["code"] == "not_found"
    again = await _post(secured, "/memory/read/continue", bob, {"revocation_token": token}, 200)
    assert again["summary_struct"]["likes"] == ["pizza"]
    assert await redis.hlen(profile_memories_key("shop", "bob", "preferences")) == 1


async def test_a_namespace_bound_token_stays_in_its_namespace(secured: Profile,
                                                              redis: Redis) -> None:
    """The same user id in two namespaces is two people: each namespace's token reads only
    its own memories and cannot touch the other's grants."""
    north = await _bearer(redis, namespaces=["north"])
    south = await _bearer(redis, namespaces=["south"])
    await _post(secured, "/memory", north, food(user_id="sam", likes=["herring"]), 200)
    await _post(secured, "/memory", south, food(user_id="sam", likes=["mango"]), 200)
    read = {"user_id": "sam", "scope": "preferences", "purpose": "suggest a recipe"}
    north_read = await _post(secured, "/memory/read", north, read, 200)
    south_read = await _post(secured, "/memory/read", south, read, 200)
    assert north_read["summary_struct"]["likes"] == ["herring"]
    assert south_read["summary_struct"]["likes"] == ["mango"]
    for path in ("/memory/read/continue", "/memory/revoke"):
        await _post(secured, path, south,
                    {"revocation_token": north_read["revocation_token"]}, 404)
    await _post(secured, "/memory/revoke", north,
                {"revocation_token": north_read["revocation_token"]}, 200)


async def test_an_admin_can_revoke_any_grant(secured: Profile, redis: Redis) -> None:
    """An unbounded (admin) token may revoke a tenant's grant, e.g. for an operator."""
    admin = await _bearer(redis, admin=True)
    user = await _bearer(redis, namespaces=["shop"], user_id="kim")
    await _post(secured, "/memory", user, food(user_id="kim", likes=["tea"]), 200)
    token = (await _post(secured, "/memory/read", user,
                         {"user_id": "kim", "scope": "preferences",
                          "purpose": "recommend a drink"}, 200))["revocation_token"]
    await _post(secured, "/memory/revoke", admin, {"revocation_token": token}, 200)
    refused = await _post(secured, "/memory/read/continue", user,
                          {"revocation_token": token}, 410)
    assert refused["error"]["code"] == "grant_revoked"


async def test_namespace_field_for_admins_and_multi_namespace_tokens(secured: Profile,
                                                                     redis: Redis) -> None:
    """Beyond the contract, an optional ``namespace`` names the tenant: a token bound to
    several namespaces must name one of them (403 otherwise, and for any other), and an
    admin reads exactly the namespace it names."""
    both = await _bearer(redis, namespaces=["east", "west"])
    admin = await _bearer(redis, admin=True)
    body = food(user_id="lee", likes=["rice"])
    await _post(secured, "/memory", both, body, 403)
    await _post(secured, "/memory", both, {**body, "namespace": "north"}, 403)
    await _post(secured, "/memory", both, {**body, "namespace": "east"}, 200)
    read = {"user_id": "lee", "scope": "preferences", "purpose": "suggest lunch"}
    east = await _post(secured, "/memory/read", admin, {**read, "namespace": "east"}, 200)
    assert east["summary_struct"]["likes"] == ["rice"]
    west = await _post(secured, "/memory/read", admin, {**read, "namespace": "west"}, 200)
    assert west["summary_struct"]["likes"] == []
    await _post(secured, "/memory/read/continue", both,
                {"revocation_token": east["revocation_token"]}, 200)
