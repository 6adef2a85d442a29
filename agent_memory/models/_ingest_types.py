"""Field types the turn-ingestion doors share: identifiers Redis can match, bounded texts."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from agent_memory.errors import ValidationFailed
from agent_memory.models._types import UTCDateTime, utcnow
from agent_memory.storage.filters import check_tag_value

MAX_TURNS = 100
MAX_FUTURE = timedelta(seconds=300)  # as for working-memory messages


def _identifier(value: str) -> str:
    try:
        return check_tag_value("id", value)
    except ValidationFailed as exc:
        raise ValueError(exc.message) from exc


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _not_future(value: Any) -> Any:
    if value is not None and value - utcnow() > MAX_FUTURE:
        raise ValueError("timestamp is more than 300 seconds in the future")
    return value


Identifier = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(_identifier)]
"""A user, container, org, session or message id: 1-256 characters that a tag can match."""

Text = Annotated[str, Field(min_length=1), AfterValidator(_not_blank)]
"""A message text: not empty, not only whitespace (the size cap is ``MAX_TEXT_CHARS``)."""

Timestamp = Annotated[UTCDateTime, AfterValidator(_not_future)]
"""An ISO 8601 timestamp (naive means UTC), at most five minutes in the future."""
