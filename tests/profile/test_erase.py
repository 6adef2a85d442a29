"""Erasing a person removes their profile memories and grants, and only theirs."""

from __future__ import annotations

from redis.asyncio import Redis

from tests.profile.conftest import Profile, food


async def test_erase_user_removes_memories_and_grants(profile: Profile, redis: Redis) -> None:
    """``erase_user`` reports what it removed by kind; the user's grants are then unknown
    (404), another user's data is untouched, and a second erase removes nothing."""
    await profile.create(**food(likes=["pizza"]))
    await profile.create(**food(likes=["sushi"]))
    await profile.create(user_id="user123", scope="schedule", source="system",
                         value_json=[{"day": "monday", "start": "09:00", "end": "10:00"}])
    await profile.create(**food(user_id="other", likes=["tea"]))
    token = (await profile.read(user_id="user123", scope="preferences"))["revocation_token"]
    await profile.read(user_id="user123", scope="schedule", purpose="schedule a call")
    assert profile.services.profile is not None
    store = profile.services.profile.store
    assert await store.erase_user(None, "user123") == {"profile_memories": 3,
                                                       "profile_grants": 2}
    assert await store.erase_user(None, "user123") == {"profile_memories": 0,
                                                       "profile_grants": 0}
    gone = await profile.client.post("/memory/read/continue", json={"revocation_token": token})
    assert gone.status_code == 404
    left = await profile.read(user_id="other", scope="preferences")
    assert left["summary_struct"]["likes"] == ["tea"]
    keys = sorted([k.decode() async for k in redis.scan_iter("am:profile:*")])
    assert all("user123" not in k for k in keys)


async def test_erase_without_namespace_covers_every_namespace(profile: Profile,
                                                              redis: Redis) -> None:
    """``namespace`` ``None`` erases the user in every namespace (the erase service's
    contract), and no one else: not a user whose id merely starts the same."""
    for namespace in ("north", "south", None):
        await profile.create(**food(likes=["pizza"]), **({"namespace": namespace}
                                                         if namespace else {}))
        await profile.read(user_id="user123", scope="preferences",
                           **({"namespace": namespace} if namespace else {}))
    await profile.create(**food(user_id="user1234", likes=["tea"]), namespace="north")
    assert profile.services.profile is not None
    removed = await profile.services.profile.erase_user(None, "user123")
    assert removed == {"profile_memories": 3, "profile_grants": 3}
    keys = sorted([k.decode() async for k in redis.scan_iter("am:profile:*")])
    assert keys == ["am:profile:mem:{north|user1234}:preferences"]


async def test_the_erase_route_removes_profile_data(redis_url: str, redis: Redis) -> None:
    """``POST /v1/users/{id}/erase`` (the erase service, run by a real worker) reaches the
    profile store: its counts are in the task's result and the keys are gone."""
    from tests.tasks.conftest import drain, open_stack, task_settings

    async with open_stack(task_settings(redis_url)) as stack:
        for namespace in ("north", "south"):
            created = await stack.client.post("/memory", json={
                **food(likes=["pizza"]), "namespace": namespace})
            assert created.status_code == 200, created.text
        read = await stack.client.post("/memory/read", json={
            "user_id": "user123", "scope": "preferences", "namespace": "north",
            "purpose": "recommend a dish"})
        assert read.status_code == 200, read.text
        started = await stack.client.post("/v1/users/user123/erase", json={"reason": "asked"})
        assert started.status_code == 202, started.text
        task_id = started.json()["task_id"]
        await drain(stack.docket)
        status = (await stack.client.get(f"/v1/users/user123/erase/{task_id}")).json()
        assert status["status"] == "success", status
        assert status["result"]["stores"]["profile"] == {"profile_memories": 2,
                                                         "profile_grants": 1}
    assert [k async for k in redis.scan_iter("am:profile:*")] == []
