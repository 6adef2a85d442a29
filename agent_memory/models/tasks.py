"""Wire models of background work: task status (AMS ``Task``) and forgetting (AMS route 12)."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent_memory.models._types import JsonInt, MemoryId, UTCDateTime, utcnow


class TaskStatus(str, Enum):
    """AMS's task states: pending → running → success | failed."""

    pending = "pending"
    running = "running"
    success = "success"
    failed = "failed"


class TaskType(str, Enum):
    """Kinds of client-requested work with a status record (AMS has only the first)."""

    summary_view_full_run = "summary_view_full_run"
    forget = "forget"
    compact = "compact"
    promotion = "promotion"
    erase = "erase"  # issue 16: erase a person
    ingestion = "ingestion"  # issue 13: a turn-ingestion job (GET /v1/jobs/{id} has more)
    create = "create"  # a long-term create answered 202 (Prefer: respond-async)


class Task(BaseModel):
    """AMS's ``Task`` as ``GET /v1/tasks/{task_id}`` returns it."""

    id: str
    type: TaskType
    status: TaskStatus = TaskStatus.pending
    view_id: str | None = None
    created_at: UTCDateTime = Field(default_factory=utcnow)
    started_at: UTCDateTime | None = None
    completed_at: UTCDateTime | None = None
    error_message: str | None = None


class TaskRecord(Task):
    """A task as stored: the wire fields plus the tenant it ran for (never rendered)."""

    namespace: str | None = None
    user_id: str | None = None
    result: str | None = None  # JSON of what the work returned (e.g. the forget answer)

    def public(self) -> Task:
        """The AMS wire shape, without the tenant or the result."""
        return Task.model_validate(self.model_dump(include=set(Task.model_fields)))


class TaskAckResponse(BaseModel):
    """AMS's acknowledgement plus the id of the background task it started."""

    status: str
    task_id: str


class ForgetPolicy(BaseModel):
    """AMS's forgetting policy. Unknown keys are rejected so a typo cannot widen a deletion."""

    model_config = ConfigDict(extra="forbid")

    max_age_days: float | None = Field(default=None, ge=0)
    max_inactive_days: float | None = Field(default=None, ge=0)
    budget: JsonInt | None = Field(default=None, ge=0)
    memory_type_allowlist: list[str] | None = None
    hard_age_multiplier: float = Field(default=12.0, ge=1)

    @field_validator("memory_type_allowlist")
    @classmethod
    def _known_types(cls, value: list[str] | None) -> list[str] | None:
        allowed = {"episodic", "semantic", "message"}
        if value is not None and not set(value) <= allowed:
            raise ValueError(f"memory types must be among {sorted(allowed)}")
        return value

    @property
    def empty(self) -> bool:
        """True when no rule selects anything (such a pass deletes nothing)."""
        return self.max_age_days is None and self.max_inactive_days is None and self.budget is None


class ForgetRequest(BaseModel):
    """Body of ``POST /v1/long-term-memory/forget``."""

    policy: ForgetPolicy
    pinned_ids: list[MemoryId] | None = None


class ForgetQuery(BaseModel):
    """Query of the forget route: the scope, a deletion cap, dry run (default true, as AMS)."""

    namespace: str | None = Field(default=None, max_length=512)
    user_id: str | None = Field(default=None, max_length=512)
    session_id: str | None = Field(default=None, max_length=512)
    limit: int = Field(default=1000, ge=1, le=1_000_000)
    dry_run: bool = True
    background: bool = False

    @field_validator("namespace", "user_id", "session_id", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value


class ForgetResponse(BaseModel):
    """AMS's forget answer; ``task_id`` is set (and the counts zero) when run in background."""

    scanned: int
    deleted: int
    deleted_ids: list[str]
    dry_run: bool
    task_id: str | None = None
    skipped_damaged: int = Field(
        default=0, description="Records skipped because they could not be read (damaged in "
        "Redis); the pass went on without them.")
