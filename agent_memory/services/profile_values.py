"""The rules of profile values: which JSON shapes each scope accepts, how one user's memories
of a scope merge into one structure, and how confident that merge is.

Shapes (the contract's names): ``likes_dislikes`` ``{"likes": [..], "dislikes": [..],
"settings": {..}}``, ``boolean_flags`` ``{"key": true}``, ``kv_map`` ``{"key": any}``,
``rules_list`` ``["..."]``, ``schedule_windows`` ``[{"day", "start", "end"}]``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from agent_memory.errors import ProfileInvalidRequest
from agent_memory.storage.profile import ProfileRecord

_SETTINGS = ("boolean_flags", "kv_map")
SHAPES_BY_SCOPE: dict[str, tuple[str, ...]] = {
    "preferences": ("likes_dislikes", *_SETTINGS),
    "constraints": ("rules_list", *_SETTINGS),
    "communication": ("likes_dislikes", "rules_list", *_SETTINGS),
    "accessibility": ("rules_list", *_SETTINGS),
    "schedule": ("schedule_windows", *_SETTINGS),
    "attention": ("rules_list", *_SETTINGS),
}
_SECTION_ORDER = ("likes", "dislikes", "windows", "rules", "settings")
_SECTIONS_OF_SHAPE = {"likes_dislikes": ("likes", "dislikes", "settings"),
                      "boolean_flags": ("settings",), "kv_map": ("settings",),
                      "rules_list": ("rules",), "schedule_windows": ("windows",)}

# Rank decides between statements regardless of age; within a rank the later one wins.
SOURCE_RANK = {"explicit_user_input": 4, "user_feedback": 3, "system": 2, "conversation": 1,
               "inferred": 0}
# How much one statement from a source is worth in the confidence (see README).
SOURCE_WEIGHT = {"explicit_user_input": 1.0, "user_feedback": 0.9, "system": 0.8,
                 "conversation": 0.6, "inferred": 0.5}
AGE_HALF_LIFE_DAYS = 180.0
SINGLE_SOURCE_DISCOUNT = 0.15

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_ALIASES = {**{d: d for d in DAYS}, **{d[:3]: d for d in DAYS},
                "tues": "tuesday", "thur": "thursday", "thurs": "thursday"}
_TIME = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")
MAX_ITEM_CHARS = 500
MAX_KEY_CHARS = 128


def sections(scope: str) -> tuple[str, ...]:
    """The keys of a scope's merged ``summary_struct``, in display order."""
    present = {s for shape in SHAPES_BY_SCOPE[scope] for s in _SECTIONS_OF_SHAPE[shape]}
    return tuple(s for s in _SECTION_ORDER if s in present)


def _bad(scope: str, message: str) -> ProfileInvalidRequest:
    return ProfileInvalidRequest(f"value_json: {message}", loc=("body", "value_json"),
                          details={"scope": scope, "accepted_shapes": list(SHAPES_BY_SCOPE[scope])})


def _strings(scope: str, name: str, items: Any) -> list[str]:
    if not isinstance(items, list):
        raise _bad(scope, f"{name} must be a list of strings")
    out: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item.strip() or len(item) > MAX_ITEM_CHARS:
            raise _bad(scope, f"{name} holds non-empty strings of at most {MAX_ITEM_CHARS} "
                              "characters")
        out.append(" ".join(item.split()))
    return out


def _time_minutes(scope: str, text: Any, *, end: bool) -> int:
    if isinstance(text, str) and end and text == "24:00":
        return 24 * 60
    if not isinstance(text, str) or not _TIME.match(text):
        raise _bad(scope, f"times are HH:MM (00:00-23:59{', or 24:00 as an end' if end else ''})"
                          f", not {text!r}")
    return int(text[:2]) * 60 + int(text[3:])


def _windows(scope: str, value: list[Any]) -> list[dict[str, str]]:
    out = []
    for window in value:
        if not isinstance(window, dict) or set(window) != {"day", "start", "end"}:
            raise _bad(scope, 'schedule windows are {"day", "start", "end"} objects')
        day = _DAY_ALIASES.get(str(window["day"]).strip().lower()) \
            if isinstance(window["day"], str) else None
        if day is None:
            raise _bad(scope, f"unknown day {window['day']!r}; use monday..sunday")
        start = _time_minutes(scope, window["start"], end=False)
        end = _time_minutes(scope, window["end"], end=True)
        if start >= end:
            raise _bad(scope, "a window's start is before its end (split windows at midnight)")
        out.append({"day": day, "start": window["start"], "end": window["end"]})
    return out


def normalize(scope: str, value: Any) -> tuple[str, Any]:
    """The shape of ``value`` and its normalized form, if ``scope`` accepts that shape.

    Raises:
        ProfileInvalidRequest: the value fits no shape the scope accepts (422).
    """
    accepted = SHAPES_BY_SCOPE[scope]
    if isinstance(value, dict):
        if not value:
            raise _bad(scope, "an empty object says nothing")
        if set(value) <= {"likes", "dislikes", "settings"} and ({"likes", "dislikes"} & set(value)):
            if "likes_dislikes" not in accepted:
                raise _bad(scope, f"scope {scope!r} does not take likes/dislikes")
            likes = _strings(scope, "likes", value.get("likes", []))
            dislikes = _strings(scope, "dislikes", value.get("dislikes", []))
            if {x.casefold() for x in likes} & {x.casefold() for x in dislikes}:
                raise _bad(scope, "an item cannot be liked and disliked at once")
            settings = value.get("settings", {})
            if not isinstance(settings, dict):
                raise _bad(scope, "settings must be an object")
            _check_keys(scope, settings)
            return "likes_dislikes", {"likes": likes, "dislikes": dislikes, "settings": settings}
        _check_keys(scope, value)
        flags = all(isinstance(v, bool) for v in value.values())
        return ("boolean_flags" if flags else "kv_map"), value
    if isinstance(value, list) and value:
        if all(isinstance(v, str) for v in value):
            if "rules_list" not in accepted:
                raise _bad(scope, f"scope {scope!r} does not take a rules list")
            return "rules_list", _strings(scope, "rules", value)
        if all(isinstance(v, dict) for v in value):
            if "schedule_windows" not in accepted:
                raise _bad(scope, f"scope {scope!r} does not take schedule windows")
            return "schedule_windows", _windows(scope, value)
    raise _bad(scope, "the value fits none of the shapes this scope accepts")


def _check_keys(scope: str, mapping: dict[str, Any]) -> None:
    for key in mapping:
        if not key.strip() or len(key) > MAX_KEY_CHARS:
            raise _bad(scope, f"keys are non-empty, at most {MAX_KEY_CHARS} characters")


@dataclass(frozen=True)
class Merged:
    """A scope's merged value: structure, count line and confidence."""

    struct: dict[str, Any]
    text: str
    confidence: float


def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:])


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def merge(scope: str, records: list[ProfileRecord], now: float) -> Merged:
    """Merge live records of one scope (rules in the README, Profile memory)."""
    ordered = sorted(records, key=lambda r: (SOURCE_RANK[r.source], r.created_at, r.id))
    prefs: dict[str, tuple[str, str]] = {}  # casefold -> (list name, spelling)
    stated: dict[str, set[str]] = {}  # casefold -> lists it was ever put in
    settings: dict[str, Any] = {}
    seen_values: dict[str, list[Any]] = {}
    rules: dict[str, str] = {}
    day_tiers: dict[str, tuple[int, list[tuple[int, int]]]] = {}
    overridden_days: set[str] = set()
    for record in sorted(records, key=lambda r: (r.created_at, r.id)):
        if record.shape == "rules_list":
            for rule in record.value:
                rules.setdefault(rule.casefold(), rule)
    for record in ordered:
        rank = SOURCE_RANK[record.source]
        if record.shape == "likes_dislikes":
            for name in ("likes", "dislikes"):
                for item in record.value[name]:
                    key = item.casefold()
                    prefs.pop(key, None)  # re-insert: a moved item goes to its list's end
                    prefs[key] = (name, item)
                    stated.setdefault(key, set()).add(name)
            flat = record.value["settings"]
        elif record.shape in _SETTINGS:
            flat = record.value
        else:
            flat = {}
        for key, item in flat.items():
            settings[key] = item
            values = seen_values.setdefault(key, [])
            if item not in values:
                values.append(item)
        if record.shape == "schedule_windows":
            for window in record.value:
                day = window["day"]
                # Stored windows were validated on the way in: no need to check again.
                span = (_minutes(window["start"]), _minutes(window["end"]))
                tier_rank, spans = day_tiers.get(day, (rank, []))
                if rank > tier_rank:  # ordered by rank: a higher tier replaces the day
                    overridden_days.add(day)
                    spans = []
                day_tiers[day] = (rank, [*spans, span])
    struct: dict[str, Any] = {}
    for section in sections(scope):
        if section in ("likes", "dislikes"):
            struct[section] = [spelling for lst, spelling in prefs.values() if lst == section]
        elif section == "settings":
            struct[section] = settings
        elif section == "rules":
            struct[section] = list(rules.values())
        elif section == "windows":
            struct[section] = _merged_windows(day_tiers)
    text = ", ".join(f"{s.capitalize()}: {len(struct[s])}" for s in struct)
    conflicts = (sum(1 for lists in stated.values() if len(lists) > 1)
                 + sum(1 for values in seen_values.values() if len(values) > 1)
                 + len(overridden_days))
    items = len(prefs) + len(settings) + len(rules) + len(day_tiers)
    return Merged(struct, text, confidence(records, conflicts, items, now))


def _merged_windows(day_tiers: dict[str, tuple[int, list[tuple[int, int]]]]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for day in DAYS:
        if day not in day_tiers:
            continue
        spans = sorted(day_tiers[day][1])
        joined: list[list[int]] = []
        for start, end in spans:
            if joined and start <= joined[-1][1]:  # overlapping or touching
                joined[-1][1] = max(joined[-1][1], end)
            else:
                joined.append([start, end])
        out += [{"day": day, "start": _hhmm(s), "end": _hhmm(e)} for s, e in joined]
    return out


def confidence(records: list[ProfileRecord], conflicts: int, items: int, now: float) -> float:
    """``S × A × (1 − 0.15 / n)`` rounded to 2 places, 0 without records.

    ``S``: mean over the n records of the source weight times ``0.5 ** (age_days / 180)``;
    ``A``: ``1 − 0.5 × conflicting items / items`` (an item stated two ways: liked and
    disliked, a key set to different values, a day whose windows a higher source replaced).
    """
    if not records:
        return 0.0
    support = sum(SOURCE_WEIGHT[r.source] * math.pow(
        0.5, max(0.0, now - r.created_at) / 86_400 / AGE_HALF_LIFE_DAYS) for r in records)
    agreement = 1 - 0.5 * conflicts / max(1, items)
    value = support / len(records) * agreement * (1 - SINGLE_SOURCE_DISCOUNT / len(records))
    return round(min(1.0, max(0.0, value)), 2)
