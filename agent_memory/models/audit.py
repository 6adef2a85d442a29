"""Wire models of the audit trail and of memory provenance (issue 16)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class AuditQueryParams(BaseModel):
    """``GET /v1/audit`` filters; ``cursor`` is the previous page's ``next_cursor``."""

    model_config = ConfigDict(extra="forbid")

    user_id: str | None = Field(default=None, min_length=1, max_length=256)
    namespace: str | None = Field(default=None, min_length=1, max_length=256)
    method: str | None = Field(default=None, min_length=1, max_length=64)
    action: str | None = Field(default=None, min_length=1, max_length=64)
    since: datetime | None = None
    until: datetime | None = None
    cursor: str | None = Field(default=None, pattern=r"^\d{1,15}-\d{1,15}$")
    limit: int = Field(default=100, ge=1, le=1000)

    @field_validator("since", "until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a time zone (e.g. 2026-05-05T14:22:00Z)")
        return value


class AuditEvent(BaseModel):
    """One audit event: never the content of a memory."""

    id: str
    at: str
    action: str
    subject: str
    namespace: str | None = None
    user_id: str | None = None
    method: str | None = None
    reason: str | None = None
    ids: list[str] | None = None
    counts: dict[str, int] | None = None
    outcome: str | None = None
    details: dict[str, Any] | None = None


class AuditPage(BaseModel):
    """A page of events, oldest first; ``next_cursor`` is ``None`` at the end."""

    events: list[AuditEvent]
    next_cursor: str | None = None


class ProvenanceResponse(BaseModel):
    """A memory's history, oldest first, and whether it is live, in the trash."""

    memory_id: str
    state: str  # "live" or "trashed"
    created: dict[str, Any] | None = None
    events: list[dict[str, Any]]
