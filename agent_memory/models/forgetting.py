"""Wire models of accountable forgetting: forget with a reason, restore, erase a person."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

MAX_FORGET_IDS = 1000
MAX_REASON_CHARS = 500

# Ids are integers (the /v1/memories door) or strings (AMS ids, ULIDs).
MemoryId = Annotated[int, Field(ge=0, strict=True)] | Annotated[
    str, StringConstraints(min_length=1, max_length=256, strip_whitespace=True)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                          max_length=MAX_REASON_CHARS)]


class ForgetMemoriesRequest(BaseModel):
    """``POST /v1/memories/forget``: which memories, and why.

    A reason citing an erasure request (GDPR Article 17, "right to be forgotten") records
    the delete as ``gdpr_request``; ``method`` names it explicitly instead.
    """

    model_config = ConfigDict(extra="forbid")

    memory_ids: list[MemoryId] = Field(min_length=1, max_length=MAX_FORGET_IDS)
    reason: Reason | None = None
    method: Literal["gdpr_request", "user_request", "api_delete"] | None = None

    @field_validator("memory_ids")
    @classmethod
    def _no_blank_ids(cls, value: list[int | str]) -> list[int | str]:
        if any(isinstance(v, str) and not v for v in value):
            raise ValueError("memory ids must not be blank")
        return value

    def ids(self) -> list[str]:
        """The ids as stored (strings), first occurrence kept."""
        return list(dict.fromkeys(str(i) for i in self.memory_ids))


class ForgetMemoriesResponse(BaseModel):
    """What a forget did: ids now in the trash, ids not found (or not the caller's), the
    method recorded, and when the trash is purged for good."""

    forgotten: list[str]
    not_found: list[str]
    method: str
    reason: str | None = None
    purge_after: str | None = None
    grace_days: float


class RestoreResponse(BaseModel):
    """A memory brought back from the trash (it is searchable again at once)."""

    id: str
    status: Literal["restored"] = "restored"
    namespace: str | None = None
    user_id: str | None = None
    deleted_method: str


class EraseUserRequest(BaseModel):
    """``POST /v1/users/{user_id}/erase`` (body optional): the namespace to erase in (an
    admin may omit it: every namespace) and why."""

    model_config = ConfigDict(extra="forbid")

    namespace: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    reason: Reason | None = None


class EraseUserResponse(BaseModel):
    """The erase was accepted: follow ``task_id`` at ``GET /v1/users/{user_id}/erase/{task_id}``
    (counts per store) or ``GET /v1/tasks/{task_id}`` (status)."""

    task_id: str
    status: str
    user_id: str
    namespace: str | None = None


class EraseStatusResponse(BaseModel):
    """An erase task's status and, once done, what it removed per store."""

    task_id: str
    status: str
    user_id: str | None = None
    namespace: str | None = None
    error_message: str | None = None
    result: dict[str, object] | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None  # a worker picked it up
    completed_at: datetime | None = None
