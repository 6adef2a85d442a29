"""Wire shapes of ``POST /v1/process`` (post-turn processing)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent_memory.models._ingest_types import Identifier, Text, Timestamp

WritePolicy = Literal["auto", "true", "false"]


def _policy_value(value: object) -> object:
    # JSON booleans are accepted as their spelled-out values; anything else must be one of
    # the three strings (an unknown value is a 422, never a silent default).
    if value is True:
        return "true"
    if value is False:
        return "false"
    return value


class ContainerHint(BaseModel):
    """A scope bucket (a thread, a project); created when missing."""

    model_config = ConfigDict(extra="ignore")

    id: Identifier
    type: str | None = Field(default=None, max_length=64)


class ScopePolicy(BaseModel):
    """Which scopes the turn's memories may be written at."""

    model_config = ConfigDict(extra="ignore")

    write_user: WritePolicy = "auto"
    write_global: WritePolicy = "auto"
    write_container: bool = True

    _spelled = field_validator("write_user", "write_global", mode="before")(_policy_value)

    @field_validator("write_container", mode="before")
    @classmethod
    def _strict_bool(cls, value: object) -> object:
        if not isinstance(value, bool):
            raise ValueError("write_container must be true or false")  # noqa: TRY004 (a 422)
        return value


class TurnEnvelope(BaseModel):
    """The completed user and assistant messages of one turn."""

    model_config = ConfigDict(extra="ignore")

    user_message: Text
    assistant_response: Text
    occurred_at: Timestamp | None = None
    user_message_id: Identifier | None = None
    assistant_message_id: Identifier | None = None


class RequestMetadata(BaseModel):
    """Host application metadata, kept on what the job writes (provenance)."""

    model_config = ConfigDict(extra="ignore")

    app: str | None = Field(default=None, max_length=256)
    source: str | None = Field(default=None, max_length=256)
    model: str | None = Field(default=None, max_length=256)
    trace_id: str | None = Field(default=None, max_length=256)


class ProcessRequest(BaseModel):
    """Body of ``POST /v1/process``."""

    model_config = ConfigDict(extra="ignore")

    user_id: Identifier
    containers: list[ContainerHint] = Field(default_factory=list, max_length=100)
    scope_policy: ScopePolicy = Field(default_factory=ScopePolicy)
    turn: TurnEnvelope
    metadata: RequestMetadata = Field(default_factory=RequestMetadata)

    @field_validator("containers")
    @classmethod
    def _distinct(cls, value: list[ContainerHint]) -> list[ContainerHint]:
        ids = [c.id for c in value]
        if len(ids) != len(set(ids)):
            raise ValueError("containers repeat an id")
        return value


class ProcessResponse(BaseModel):
    """The 202 of ``POST /v1/process``: accepted, before any model work."""

    status: Literal["accepted"] = "accepted"
    job_id: str
    created_user: bool
    created_containers: list[str]
    accepted_at: str = Field(
        description="When the server accepted the turn: UTC, ISO 8601 without an offset and "
        "with microseconds (2026-03-16T10:00:00.000000), as the contract shows.")
