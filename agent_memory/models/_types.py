"""Shared field types: UTC datetimes, ULIDs, tag lists."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator
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
