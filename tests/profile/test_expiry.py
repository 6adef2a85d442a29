"""Expired memories and memories older than ``max_age_days`` are never read."""

from __future__ import annotations

from redis.asyncio import Redis

from agent_memory.storage.keys import profile_memories_key
from tests.profile.conftest import DAY, Profile, food


async def test_a_memory_past_its_ttl_is_not_read(profile: Profile) -> None:
    """A 1-day memory is merged until its day is over, then left out; one without a TTL
    stays."""
    await profile.create(**food(likes=["pizza"]), ttl_days=1)
    await profile.create(**food(likes=["sushi"]))
    profile.clock.advance(DAY - 1)
    likes = (await profile.read(user_id="user123", scope="preferences"))["summary_struct"]
    assert likes["likes"] == ["pizza", "sushi"]
    profile.clock.advance(1)
    read = await profile.read(user_id="user123", scope="preferences")
    assert read["summary_struct"]["likes"] == ["sushi"]
    assert read["summary_text"] == "Likes: 1, Dislikes: 0, Settings: 0"


async def test_redis_expires_the_memory_itself(profile: Profile, redis: Redis) -> None:
    """The TTL is on the stored field (HEXPIRE, relative to Redis's own clock), so Redis
    forgets the memory on time even if nobody reads it; a memory without TTL has none."""
    timed = await profile.create(**food(likes=["pizza"]), ttl_days=2)
    forever = await profile.create(**food(likes=["sushi"]))
    key = profile_memories_key(None, "user123", "preferences")
    ttls = await redis.execute_command("HTTL", key, "FIELDS", 2, timed["id"], forever["id"])
    assert 2 * DAY - 5 <= ttls[0] <= 2 * DAY and ttls[1] == -1


async def test_max_age_days_leaves_out_older_memories(profile: Profile) -> None:
    """``max_age_days`` keeps memories created within that many days, at read and on
    continue (a continued read ages with the clock)."""
    await profile.create(**food(likes=["pizza"]))
    profile.clock.advance(10 * DAY)
    await profile.create(**food(likes=["sushi"]))
    profile.clock.advance(DAY)
    read = await profile.read(user_id="user123", scope="preferences", max_age_days=5)
    assert read["summary_struct"]["likes"] == ["sushi"]
    wide = await profile.read(user_id="user123", scope="preferences", max_age_days=11.5)
    assert wide["summary_struct"]["likes"] == ["pizza", "sushi"]
    profile.clock.advance(DAY / 2)
    again = await profile.client.post("/memory/read/continue",
                                      json={"revocation_token": wide["revocation_token"]})
    assert again.json()["summary_struct"]["likes"] == ["sushi"]
