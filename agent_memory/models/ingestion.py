"""Wire shapes of ``POST /ingestion/memory`` (conversation ingestion, active and passive)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent_memory.models._ingest_types import MAX_TURNS, Identifier, Text, Timestamp


class IngestionScope(BaseModel):
    """Where the turns are written: org (our namespace), end user, session."""

    model_config = ConfigDict(extra="ignore")

    org_id: Identifier
    user_id: Identifier | None = None  # defaults to the token's user
    session_id: Identifier | None = None  # defaults to "default-session"


class IngestionTurn(BaseModel):
    """One message of the conversation."""

    model_config = ConfigDict(extra="ignore")

    role: str = Field(min_length=1, max_length=64)
    text: Text
    timestamp: Timestamp
    observations: Any = None


class IngestionOptions(BaseModel):
    """Which storage tiers to write."""

    model_config = ConfigDict(extra="ignore")

    write_active: bool = True
    write_passive: bool = True


class IngestionRequest(BaseModel):
    """Body of ``POST /ingestion/memory``."""

    model_config = ConfigDict(extra="ignore")

    scope: IngestionScope
    turns: list[IngestionTurn] = Field(min_length=1, max_length=MAX_TURNS)
    options: IngestionOptions = Field(default_factory=IngestionOptions)
    metadata: dict[str, Any] = Field(default_factory=dict)


class Usage(BaseModel):
    """Tokens billed for a call (cl100k_base, as the rest of the server counts)."""

    tokens_in: int = 0
    tokens_out: int = 0


class IngestionResponse(BaseModel):
    """The 202 of ``POST /ingestion/memory``."""

    job_id: str
    active_fragment_ids: list[str]
    passive_job_id: str | None
    usage: Usage
