"""Prompt-assembly wire models (AMS route 13, ``POST /v1/memory/prompt``).

Messages keep MCP's shapes as AMS renders them: ``{"role": "user"|"assistant",
"content": {"type": "text", "text", "annotations": null, "_meta": null}}`` and a system
message with the same TextContent. The response adds the token accounting AMS lacks.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, field_validator

from agent_memory.models._types import BoundedText, JsonInt
from agent_memory.models.long_term import MemoryRecordResult, SearchRequest
from agent_memory.models.working_memory import MemoryStrategyConfig


class TextContent(BaseModel):
    """MCP ``TextContent``; ``_meta`` is spelled with its underscore on the wire."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    type: Literal["text"] = "text"
    text: str
    annotations: dict[str, Any] | None = None
    meta: dict[str, Any] | None = Field(default=None, alias="_meta")


class PromptMessage(BaseModel):
    """A user or assistant message (MCP ``Message``)."""

    role: Literal["user", "assistant"]
    content: TextContent


class SystemMessage(BaseModel):
    """A system message (AMS ``SystemMessage``) carrying the summary or the memories."""

    role: Literal["system"] = "system"
    content: TextContent


def _blank_to_none(value: Any) -> Any:
    # An empty tenant value means "none", never "any".
    return None if isinstance(value, str) and value == "" else value


class WorkingMemoryRequest(BaseModel):
    """The ``session`` part of the body: which session to read and how large the window is.

    ``model_name`` takes any string (AMS: a closed Literal); ``context_window_max`` takes an
    integer or a numeric string, which is what the official Python client sends.
    """

    model_config = ConfigDict(extra="ignore")

    session_id: str = Field(min_length=1, max_length=512)
    namespace: str | None = Field(default=None, max_length=512)
    user_id: str | None = Field(default=None, max_length=512)
    model_name: str | None = Field(default=None, max_length=256)
    context_window_max: JsonInt | None = Field(default=None, gt=0, le=100_000_000)
    long_term_memory_strategy: MemoryStrategyConfig | None = None  # accepted, unused (as AMS)

    _blank = field_validator("namespace", "user_id", "model_name", mode="before")(_blank_to_none)


class MemoryPromptRequest(BaseModel):
    """Body of ``POST /v1/memory/prompt``.

    ``long_term_search`` is a search (its ``text`` is replaced by ``query``), ``true`` (search
    with ``query`` in the session's namespace and user, other sessions only) or absent.
    """

    model_config = ConfigDict(extra="ignore")

    query: BoundedText = Field(min_length=1, max_length=100_000)
    session: WorkingMemoryRequest | None = None
    long_term_search: SearchRequest | bool | None = None

    @field_validator("query")
    @classmethod
    def _query_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("query must not be empty")
        return value


class PromptQuery(BaseModel):
    """Query parameters of the prompt route."""

    optimize_query: bool = False


class MemoryPromptResponse(BaseModel):
    """The assembled prompt (AMS fields first) and what it cost.

    Attributes:
        messages: Summary, session messages, memories, then the query, in that order.
        long_term_memories: The memories the prompt includes, best first; ``None`` when none.
        tokens_used: Tokens of all messages, each counted as ``"{role}: {text}"``.
        token_budget: The most the prompt may use (window of the session or model).
        messages_omitted: Older session messages left out to stay within the budget.
        memories_omitted: Search hits left out to stay within the budget.
    """

    # SerializeAsAny: each message is written by its own class's serializer; matching a
    # union per item cost twice as much on long histories. The schema is unchanged.
    messages: list[SerializeAsAny[SystemMessage | PromptMessage]]
    long_term_memories: list[MemoryRecordResult] | None = None
    tokens_used: int = 0
    token_budget: int = 0
    messages_omitted: int = 0
    memories_omitted: int = 0
