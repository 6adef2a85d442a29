"""Profile-memory wire models (``POST /memory``, ``/memory/read``, ``/memory/read/continue``,
``/memory/revoke`` and the same under ``/v1/profile``): structured values per scope."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

Scope = Literal["preferences", "constraints", "communication", "accessibility", "schedule",
                "attention"]
Source = Literal["explicit_user_input", "inferred", "system", "conversation", "user_feedback"]

SCOPES: tuple[str, ...] = Scope.__args__  # type: ignore[attr-defined]
SOURCES: tuple[str, ...] = Source.__args__  # type: ignore[attr-defined]

UserId = Annotated[str, Field(min_length=1, max_length=256)]
Domain = Annotated[str, Field(min_length=1, max_length=128)]
Namespace = Annotated[str, Field(
    min_length=1, max_length=256,
    description="Beyond the contract: the tenant namespace. A token bound to one namespace "
    "fills it in; one bound to several must name one.")]
# JSON numbers, never booleans (strict: ``true`` is not 1 day).
Days = Annotated[float, Field(strict=True)]


class CreateProfileMemory(BaseModel):
    """Body of ``POST /memory``: one structured value under a scope (and optional domain)."""

    model_config = ConfigDict(extra="forbid")

    user_id: UserId
    scope: Scope
    domain: Domain | None = None
    namespace: Namespace | None = None
    source: Source
    ttl_days: Annotated[Days, Field(ge=1, le=365)] | None = Field(
        default=None, description="Days until the memory expires (1-365); null: never.")
    value_json: dict[str, Any] | list[Any] = Field(
        description="likes_dislikes, boolean_flags, rules_list, schedule_windows or kv_map; "
        "which shapes a scope accepts is in the README (Profile memory).")


class ProfileMemoryCreated(BaseModel):
    """Answer of ``POST /memory``."""

    id: str
    user_id: str
    scope: str
    domain: str | None
    created_at: str = Field(description="ISO 8601, UTC.")
    expires_at: str | None = Field(description="ISO 8601, UTC; null when it never expires.")


class ReadProfileMemory(BaseModel):
    """Body of ``POST /memory/read``: the purpose is classified and checked by the policy."""

    model_config = ConfigDict(extra="forbid")

    user_id: UserId
    scope: Scope
    domain: Domain | None = None
    namespace: Namespace | None = None
    purpose: str = Field(min_length=1, max_length=500)
    max_age_days: Annotated[Days, Field(gt=0, le=36_500)] | None = Field(
        default=None, description="Only memories created within this many days.")


class GrantToken(BaseModel):
    """Body of ``POST /memory/read/continue`` and ``POST /memory/revoke``."""

    model_config = ConfigDict(extra="forbid")

    revocation_token: UUID


class ProfileReadResult(BaseModel):
    """Answer of a read or a continued read: the merged value and the grant it was read under."""

    summary_text: str
    summary_struct: dict[str, Any]
    confidence: float = Field(ge=0, le=1)
    revocation_token: str
    expires_at: str = Field(description="When the grant (and its token) expires, ISO 8601.")


class RevokeResult(BaseModel):
    """Answer of ``POST /memory/revoke``. Revoking twice answers the first revocation's time
    with ``already_revoked`` true."""

    revoked: bool
    revoked_at: str
    already_revoked: bool = False
