"""Working-memory wire models (AMS routes 2-5, plus our append)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent_memory.models._types import BoundedText, JsonInt, MemoryId, UTCDateTime, new_ulid, utcnow
from agent_memory.models.records import WorkingMemoryRecord
from agent_memory.services.extraction_prompts import check_custom_prompt

MAX_FUTURE_TIMESTAMP = timedelta(seconds=300)
# Redis rejects expire times past its 64-bit millisecond clock ("invalid expire time"), which
# surfaced as a 503; ten years is far beyond any session's useful life.
MAX_TTL_SECONDS = 10 * 365 * 24 * 3600


class MemoryMessage(BaseModel):
    """One chat message of a session (frozen: stored messages are shared, see
    storage/working_memory.py)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    # Free text, as in AMS (the official client types it ``str``): "user", "assistant",
    # "system", "tool", "function" or any other. Never blank nor holding control characters:
    # roles are written into model prompts as "[ROLE]: content" lines.
    role: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$")
    content: BoundedText
    id: MemoryId = Field(default_factory=new_ulid)
    created_at: UTCDateTime = Field(default_factory=utcnow)
    persisted_at: UTCDateTime | None = None
    discrete_memory_extracted: Literal["t", "f"] = "f"

    @field_validator("content")
    @classmethod
    def _content_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("content must not be empty")
        return value

    @field_validator("created_at")
    @classmethod
    def _not_in_future(cls, value: Any) -> Any:
        if value - utcnow() > MAX_FUTURE_TIMESTAMP:
            raise ValueError("created_at is more than 300 seconds in the future")
        return value


class MemoryStrategyConfig(BaseModel):
    """How promotion extracts long-term memories from this session."""

    strategy: Literal["discrete", "summary", "preferences", "custom"] = "discrete"
    config: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _custom_prompt_is_safe(self) -> MemoryStrategyConfig:
        # Refuse a bad custom prompt at write time (422), not in a background task later.
        if self.strategy == "custom":
            check_custom_prompt(self.config.get("custom_prompt"))
        return self


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and value == "" else value


class UpdateWorkingMemory(BaseModel):
    """PUT body: replaces the session's messages, memories, data and context."""

    model_config = ConfigDict(extra="ignore")

    messages: list[MemoryMessage] = Field(default_factory=list)
    memories: list[WorkingMemoryRecord] = Field(default_factory=list)
    data: dict[str, Any] | None = None
    context: BoundedText | None = None
    user_id: str | None = Field(default=None, max_length=512)
    tokens: JsonInt = 0
    session_id: str | None = None  # sent by the Python client; the path wins
    namespace: str | None = Field(default=None, max_length=512)
    long_term_memory_strategy: MemoryStrategyConfig = Field(default_factory=MemoryStrategyConfig)
    ttl_seconds: JsonInt | None = Field(default=None, gt=0, le=MAX_TTL_SECONDS)
    last_accessed: UTCDateTime = Field(default_factory=utcnow)
    created_at: UTCDateTime = Field(default_factory=utcnow)
    updated_at: UTCDateTime = Field(default_factory=utcnow)

    _blank = field_validator("user_id", "namespace", mode="before")(_blank_to_none)

    @model_validator(mode="after")
    def _unique_ids(self) -> UpdateWorkingMemory:
        for name, items in (("messages", self.messages), ("memories", self.memories)):
            ids = [item.id for item in items]
            if len(ids) != len(set(ids)):
                raise ValueError(f"{name} contain duplicate ids")
        return self


class AppendMessages(BaseModel):
    """Body of the atomic server-side append (our extension; AMS clients GET then PUT)."""

    model_config = ConfigDict(extra="ignore")

    messages: list[MemoryMessage] = Field(min_length=1)
    namespace: str | None = Field(default=None, max_length=512)
    user_id: str | None = Field(default=None, max_length=512)
    ttl_seconds: JsonInt | None = Field(default=None, gt=0, le=MAX_TTL_SECONDS)
    long_term_memory_strategy: MemoryStrategyConfig | None = None

    _blank = field_validator("user_id", "namespace", mode="before")(_blank_to_none)


class WorkingMemoryResponse(BaseModel):
    """A session as returned by GET, PUT and append."""

    messages: list[MemoryMessage] = Field(default_factory=list)
    memories: list[WorkingMemoryRecord] = Field(default_factory=list)
    data: dict[str, Any] | None = None
    context: str | None = None
    user_id: str | None = None
    tokens: int = 0
    session_id: str
    namespace: str | None = None
    long_term_memory_strategy: MemoryStrategyConfig = Field(default_factory=MemoryStrategyConfig)
    ttl_seconds: int | None = None
    last_accessed: UTCDateTime = Field(default_factory=utcnow)
    created_at: UTCDateTime = Field(default_factory=utcnow)
    updated_at: UTCDateTime = Field(default_factory=utcnow)
    context_percentage_total_used: float | None = None
    context_percentage_until_summarization: float | None = None


class SessionListResponse(BaseModel):
    """A page of session ids with the real total."""

    sessions: list[str]
    total: int


class _Scope(BaseModel):
    namespace: str | None = Field(default=None, max_length=512)
    user_id: str | None = Field(default=None, max_length=512)

    _blank = field_validator("user_id", "namespace", mode="before")(_blank_to_none)


class ListSessionsQuery(_Scope):
    """Query of ``GET /v1/working-memory/``."""

    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class WindowQuery(BaseModel):
    """The token window a caller sizes the session against."""

    model_name: str | None = Field(default=None, max_length=256)  # any name (AMS: Literal)
    context_window_max: int | None = Field(default=None, gt=0, le=100_000_000)


class GetSessionQuery(_Scope, WindowQuery):
    """Query of ``GET /v1/working-memory/{session_id}``."""

    recent_messages_limit: int | None = Field(default=None, ge=1)


class PutSessionQuery(WindowQuery):
    """Query of ``PUT``; ``user_id``/``namespace`` here only fill what the body omits."""

    user_id: str | None = Field(default=None, max_length=512)
    namespace: str | None = Field(default=None, max_length=512)

    _blank = field_validator("user_id", "namespace", mode="before")(_blank_to_none)


class AppendQuery(PutSessionQuery):
    """Query of the append; ``recent_messages_limit`` trims the response as on GET (a long
    session need not travel back on every turn)."""

    recent_messages_limit: int | None = Field(default=None, ge=1)


class DeleteSessionQuery(_Scope):
    """Query of ``DELETE /v1/working-memory/{session_id}``."""
