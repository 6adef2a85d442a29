"""Merging a scope's memories into ``summary_struct``: one test per rule."""

from __future__ import annotations

from typing import Any

import pytest

from tests.profile.conftest import DAY, Profile, food


def near(value: float) -> Any:
    """``value`` as the API rounds it (two places)."""
    return pytest.approx(value, abs=0.0051)


async def _settle(profile: Profile) -> None:
    profile.clock.advance(1)  # each statement strictly later than the one before


async def test_a_later_statement_moves_an_item_between_likes_and_dislikes(
        profile: Profile) -> None:
    """Likes and dislikes are sets: a later dislike of a liked item moves it (whatever its
    case), and repeated items are not doubled."""
    await profile.create(**food(likes=["Pizza", "sushi"], dislikes=["broccoli"]))
    await _settle(profile)
    await profile.create(**food(likes=["sushi", "ramen"], dislikes=["pizza"]))
    read = await profile.read(user_id="user123", scope="preferences")
    assert read["summary_struct"]["likes"] == ["sushi", "ramen"]
    assert read["summary_struct"]["dislikes"] == ["broccoli", "pizza"]
    assert read["summary_text"] == "Likes: 2, Dislikes: 2, Settings: 0"


async def test_flags_and_key_values_take_the_latest_write(profile: Profile) -> None:
    """Boolean flags and key/value maps merge key by key; the latest write of a key wins and
    keys written once stay."""
    body: dict[str, Any] = {"user_id": "u", "scope": "communication", "source": "system"}
    await profile.create(**body, value_json={"emoji": True, "tone": "formal"})
    await _settle(profile)
    await profile.create(**body, value_json={"emoji": False})
    await _settle(profile)
    await profile.create(**body, value_json={"tone": "casual", "language": "pt"})
    read = await profile.read(user_id="u", scope="communication", purpose="write a reply")
    assert read["summary_struct"]["settings"] == {"emoji": False, "tone": "casual",
                                                  "language": "pt"}


async def test_rule_lists_are_de_duplicated(profile: Profile) -> None:
    """Rules of every memory are kept once each, ignoring case and spacing, in the order
    they were first stated."""
    body: dict[str, Any] = {"user_id": "u", "scope": "constraints", "source": "inferred"}
    await profile.create(**body, value_json=["No meetings on Friday", "vegetarian only"])
    await _settle(profile)
    await profile.create(**body, value_json=["no  meetings on friday", "Budget under 50 EUR"])
    read = await profile.read(user_id="u", scope="constraints", purpose="recommend a restaurant")
    assert read["summary_struct"] == {
        "rules": ["No meetings on Friday", "vegetarian only", "Budget under 50 EUR"],
        "settings": {}}
    assert read["summary_text"] == "Rules: 3, Settings: 0"


async def test_schedule_windows_merge_per_day(profile: Profile) -> None:
    """Windows of the same day join when they overlap or touch; days come in week order
    (abbreviated day names are accepted); other days stay apart."""
    body: dict[str, Any] = {"user_id": "u", "scope": "schedule", "source": "system"}
    await profile.create(**body, value_json=[{"day": "Tue", "start": "14:00", "end": "16:00"},
                                             {"day": "monday", "start": "09:00", "end": "11:00"}])
    await _settle(profile)
    await profile.create(**body, value_json=[{"day": "monday", "start": "10:30", "end": "12:00"},
                                             {"day": "monday", "start": "12:00", "end": "13:00"},
                                             {"day": "monday", "start": "15:00", "end": "24:00"}])
    await profile.create(**body, value_json={"timezone": "Europe/Lisbon"})
    read = await profile.read(user_id="u", scope="schedule", purpose="book a meeting")
    assert read["summary_struct"] == {
        "windows": [{"day": "monday", "start": "09:00", "end": "13:00"},
                    {"day": "monday", "start": "15:00", "end": "24:00"},
                    {"day": "tuesday", "start": "14:00", "end": "16:00"}],
        "settings": {"timezone": "Europe/Lisbon"}}
    assert read["summary_text"] == "Windows: 3, Settings: 1"


async def test_explicit_input_beats_inferred_regardless_of_age(profile: Profile) -> None:
    """A year-old explicit statement outranks newer inferred and conversation-derived ones:
    for likes/dislikes, settings and a day's schedule windows alike. Items only the lower
    sources mention are still merged in."""
    await profile.create(**food(likes=["coffee"], settings={"spice": "mild"}))
    sched: dict[str, Any] = {"user_id": "user123", "scope": "schedule"}
    await profile.create(**sched, source="explicit_user_input",
                         value_json=[{"day": "monday", "start": "09:00", "end": "10:00"}])
    profile.clock.advance(365 * DAY)
    await profile.create(**food("inferred", dislikes=["coffee"], likes=["tea"],
                                settings={"spice": "hot"}))
    await profile.create(**food("conversation", dislikes=["coffee"]))
    await profile.create(**sched, source="inferred",
                         value_json=[{"day": "monday", "start": "14:00", "end": "18:00"},
                                     {"day": "friday", "start": "08:00", "end": "09:00"}])
    read = await profile.read(user_id="user123", scope="preferences")
    assert read["summary_struct"] == {"likes": ["tea", "coffee"], "dislikes": [],
                                      "settings": {"spice": "mild"}}
    windows = (await profile.read(user_id="user123", scope="schedule",
                                  purpose="schedule a call"))["summary_struct"]["windows"]
    assert windows == [{"day": "monday", "start": "09:00", "end": "10:00"},
                       {"day": "friday", "start": "08:00", "end": "09:00"}]


async def test_domain_narrows_the_merge(profile: Profile) -> None:
    """A read naming a domain merges that domain only; without one, the whole scope."""
    await profile.create(**food(likes=["pizza"]))
    await profile.create(**{**food(likes=["jazz"]), "domain": "music"})
    assert (await profile.read(user_id="user123", scope="preferences", domain="food")
            )["summary_struct"]["likes"] == ["pizza"]
    assert (await profile.read(user_id="user123", scope="preferences")
            )["summary_struct"]["likes"] == ["pizza", "jazz"]


async def test_confidence_reflects_sources_agreement_and_age(profile: Profile) -> None:
    """The documented formula: S × A × (1 − 0.15/n). One fresh explicit statement: 0.85;
    one inferred: 0.5 × 0.85; two agreeing explicit ones: 0.925; a conflict halves the
    agreement of its item; 180 days of age halve S; nothing stored: 0. (Answers are rounded
    to two places, hence the tolerance.)"""
    assert (await profile.read(user_id="nobody", scope="preferences"))["confidence"] == 0.0
    await profile.create(**food("inferred", user_id="a", likes=["x"]))
    assert (await profile.read(user_id="a", scope="preferences"))["confidence"] == near(
        0.5 * 0.85)
    await profile.create(**food(user_id="b", likes=["x"]))
    await profile.create(**food(user_id="b", likes=["x"]))
    assert (await profile.read(user_id="b", scope="preferences"))["confidence"] == near(
        1 * 1 * (1 - 0.15 / 2))
    await profile.create(**food(user_id="c", likes=["x"]))
    await profile.create(**food(user_id="c", dislikes=["x"]))
    assert (await profile.read(user_id="c", scope="preferences"))["confidence"] == near(
        1 * 0.5 * (1 - 0.15 / 2))
    await profile.create(**food(user_id="d", likes=["x"]))
    profile.clock.advance(180 * DAY)
    assert (await profile.read(user_id="d", scope="preferences"))["confidence"] == near(
        0.5 * 0.85)
