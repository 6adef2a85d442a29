"""Wire shapes of ingestion jobs and of the users and containers the doors create."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

JobStatus = Literal["queued", "running", "succeeded", "failed"]


class JobCounts(BaseModel):
    """What a job decided, memory by memory."""

    added: int = 0
    updated: int = 0
    superseded: int = 0
    skipped: int = 0


class JobIds(BaseModel):
    """Ids a job wrote: messages (per container), fragments, and memories by decision."""

    messages: list[str] = Field(default_factory=list)
    fragments: list[str] = Field(default_factory=list)
    added: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    superseded: list[str] = Field(default_factory=list)


class JobResponse(BaseModel):
    """``GET /v1/jobs/{job_id}``."""

    job_id: str
    door: Literal["process", "ingestion"]
    status: JobStatus
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    turns: int = 0
    counts: JobCounts = Field(default_factory=JobCounts)
    ids: JobIds = Field(default_factory=JobIds)
    adjudicator: Literal["model", "rules"] | None = None
    model_calls: int = 0
    usage: dict[str, int] = Field(default_factory=dict)
    error: str | None = None
    attempts: int = 0


class ContainerRecord(BaseModel):
    """A container (a working-memory session) of one user."""

    id: str
    type: str | None = None
    created_at: datetime


class UserResponse(BaseModel):
    """``GET /v1/users/{user_id}``: the user and its containers."""

    user_id: str
    namespace: str | None = None
    created_at: datetime
    containers: list[ContainerRecord]


class UserListResponse(BaseModel):
    """``GET /v1/users``: a page of user ids, oldest first, with the real total."""

    users: list[str]
    total: int


class UserQuery(BaseModel):
    """Query of the user routes (``namespace`` for unbound callers)."""

    namespace: str | None = Field(default=None, min_length=1, max_length=512)


class UserListQuery(UserQuery):
    """Query of ``GET /v1/users``."""

    offset: int = Field(default=0, ge=0, le=1_000_000)
    limit: int = Field(default=50, ge=1, le=500)
