"""Memory records: the long-term record and the structured memories of a session."""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent_memory.models._types import (
    BoundedText,
    JsonBool,
    JsonInt,
    MemoryId,
    TagList,
    UTCDateTime,
    new_ulid,
    utcnow,
)


class MemoryTypeEnum(str, Enum):
    """Kinds of long-term memory."""

    episodic = "episodic"
    semantic = "semantic"
    message = "message"


class _RecordFields(BaseModel):
    """Fields every memory record has (AMS ``MemoryRecord``)."""

    model_config = ConfigDict(extra="ignore")

    text: BoundedText
    session_id: str | None = None
    user_id: str | None = None
    namespace: str | None = None
    last_accessed: UTCDateTime = Field(default_factory=utcnow)
    created_at: UTCDateTime = Field(default_factory=utcnow)
    updated_at: UTCDateTime = Field(default_factory=utcnow)
    pinned: JsonBool = False
    # Redis counts it with HINCRBY (signed 64-bit): a larger stored value made every later
    # access update fail with a 503 (found by fuzzing). 2**53 also stays exact in JSON.
    access_count: JsonInt = Field(default=0, ge=0, le=2**53)
    topics: TagList = None
    entities: TagList = None
    memory_hash: str | None = None
    discrete_memory_extracted: Literal["t", "f"] = "f"
    memory_type: MemoryTypeEnum = MemoryTypeEnum.message
    persisted_at: UTCDateTime | None = None
    extracted_from: TagList = None
    event_date: UTCDateTime | None = None
    extraction_strategy: str = "discrete"
    extraction_strategy_config: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("session_id", "user_id", "namespace", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        # An empty tenant value must mean "none", never "any" (RedisVL's empty-Tag trap).
        return None if isinstance(value, str) and value == "" else value


Tier = Literal["hot", "warm", "cold"]


class MemoryRecord(_RecordFields):
    """A memory record with a required id (AMS ``MemoryRecord``).

    The fields after ``id`` are ours (the memories door, issue 14); every one is optional,
    so records AMS clients write and read are unchanged (the 0.14 client ignores them).
    """

    id: str = Field(min_length=1)
    tags: TagList = None
    source: str | None = Field(default=None, max_length=256)
    event_type: str | None = Field(default=None, max_length=256)
    tier: Tier | None = None  # hot/warm/cold, managed for rows the memories door writes
    importance: float | None = Field(default=None, ge=0, le=1)  # the caller's hint
    expires_at: UTCDateTime | None = None  # no route returns the memory from this instant
    is_summary: bool = False
    covers: list[str] | None = None  # a summary row: the ids it summarizes
    summary_id: str | None = None  # a covered row: the summary row covering it
    # What enrichment produced (summary, key_points, quality_score, memory_type,
    # importance_score) and how (status, method, pending fields).
    enrichment: dict[str, Any] | None = None

    @field_validator("source", "event_type", "summary_id", mode="before")
    @classmethod
    def _blank_tag_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and value == "" else value

    @field_validator("source", "event_type")
    @classmethod
    def _one_tag(cls, value: str | None) -> str | None:
        # Stored as a TAG: a comma would split it into two values.
        if value is not None and ("," in value or not value.strip()):
            raise ValueError("must be non-blank and contain no comma")
        return value


def text_not_blank(value: str | None) -> str | None:
    """Reject a memory text that is empty or only whitespace (``None`` passes: "unset")."""
    if value is not None and not value.strip():
        raise ValueError("text must not be empty")
    return value


class WorkingMemoryRecord(_RecordFields):
    """A structured memory inside a session; the id defaults to a new ULID."""

    id: MemoryId = Field(default_factory=new_ulid)

    _text = field_validator("text")(text_not_blank)
