"""Shared field types: UTC datetimes, ULIDs, tag lists."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, StringConstraints, ValidationInfo
from pydantic_core import PydanticCustomError
from ulid import ULID


def utcnow() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)


def new_ulid() -> str:
    """A new ULID string (the id format AMS assigns)."""
    return str(ULID())


def _as_utc(value: datetime) -> datetime:
    # AMS accepts naive ISO strings and treats them as UTC.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # "0001-01-01T00:00:00+00:01" is before year 1 in UTC
        raise ValueError("datetime out of range once converted to UTC") from exc


UTCDateTime = Annotated[datetime, AfterValidator(_as_utc)]


def _no_commas(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    for value in values:
        if "," in value:
            raise ValueError("tag values cannot contain commas")
    return values


TagList = Annotated[list[str] | None, AfterValidator(_no_commas)]


def from_epoch(value: float | str | bytes | None) -> datetime | None:
    """A stored epoch-seconds value (float, str or bytes) as a UTC datetime; blank is None."""
    if value is None or value == "" or value == b"":
        return None
    return datetime.fromtimestamp(float(value), UTC)


# --- text size caps (issue 12) ---
DEFAULT_MAX_TEXT_CHARS = 100_000


def _within_text_cap(value: str | None, info: ValidationInfo) -> str | None:
    """Enforce ``MAX_TEXT_CHARS`` when the caller passes it in the validation context (request
    bodies do, see ``api/_http.body_context``); stored records read back are not re-checked."""
    if value is None or not info.context:
        return value
    limit = info.context.get("max_text_chars")
    if limit is not None and len(value) > limit:
        raise PydanticCustomError(
            "string_too_long",
            "String should have at most {max_length} characters (MAX_TEXT_CHARS)",
            {"max_length": limit},
        )
    return value


BoundedText = Annotated[str, AfterValidator(_within_text_cap)]
"""A free text that reaches an embedder or a model: capped at ``MAX_TEXT_CHARS`` (422)."""


def _not_a_bool(value: object) -> object:
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be an integer, not a boolean")
    return value


def _not_a_number(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise PydanticCustomError("bool_type", "Input should be a boolean, not a number")
    return value


JsonInt = Annotated[int, BeforeValidator(_not_a_bool)]
"""An integer of a JSON body: ``true``/``false`` are not integers (422)."""
JsonBool = Annotated[bool, BeforeValidator(_not_a_number)]
"""A boolean of a JSON body: ``0``/``1`` are not booleans (422)."""


# --- identifiers (issue 12) ---
# RediSearch's tag parser drops these at the edges of a value; a value made only of them
# becomes the unparseable "{}" clause, and a NUL anywhere ends the query string.
TAG_EDGE_CHARS = "".join(map(chr, range(33))) + "\x7f_`"
MAX_ID_CHARS = 256
_ID_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f]")


def tag_value_problem(value: str) -> str | None:
    """Why RediSearch could not match ``value`` as a tag, or ``None`` when it can."""
    if "\x00" in value:
        return "must not contain NUL"
    if not value.strip(TAG_EDGE_CHARS):
        return "must have a visible character other than '_' and '`'"
    return None


def memory_id_problem(value: str) -> str | None:
    """Why ``value`` is not a valid memory or message id, or ``None``.

    One rule for every door that takes an id (create, get, edit, delete, session messages
    and memories, pinned ids): 1-256 characters, no whitespace or control characters, and
    searchable as a tag (see :func:`tag_value_problem`).
    """
    if not value or len(value) > MAX_ID_CHARS:
        return f"must be 1 to {MAX_ID_CHARS} characters"
    if _ID_FORBIDDEN.search(value):
        return "must not contain whitespace or control characters"
    return tag_value_problem(value)


# The same rule as one pattern, checked in pydantic-core (no Python call per id on the hot
# path) and shown in the OpenAPI document; ``memory_id_problem`` explains a refusal in words
# where an id arrives outside a model (the path).
MEMORY_ID_PATTERN = r"^[^\s\x00-\x1f\x7f]*[^\s\x00-\x20\x7f_`][^\s\x00-\x1f\x7f]*$"

MemoryId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_CHARS,
                                            pattern=MEMORY_ID_PATTERN)]
"""A memory or message id (see :func:`memory_id_problem`)."""
