"""Wire shapes of the memories door (``/v1/memories``): rows with importance, tags, a TTL
and a tier, enriched on write, recalled by a weighted score.

Field meanings that are easy to mix up:

- ``importance`` is the caller's hint in [0, 1]; ``importance_score`` (0-100) is what
  enrichment scores and lives on the extraction candidate, not on the row.
- ``summary`` is the one-line summary of this row; a *summary row* (``is_summary``) is the
  summarizer's roll-up of several cold rows, listed in ``covers``.
- ``memory_type`` is the type enrichment gave the row (decision, preference, fact, ...),
  not the AMS ``memory_type`` (episodic/semantic/message) of the same record.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StrictStr,
    field_validator,
    model_validator,
)

from agent_memory.models._types import UTCDateTime
from agent_memory.models.records import Tier

MAX_TTL_MINUTES = 10 * 366 * 24 * 60  # ten years, leap days included
MAX_RECALL_K = 50
DEFAULT_IMPORTANCE = 0.5
DEFAULT_WEIGHTS = {"semantic": 0.6, "recency": 0.2, "importance": 0.2}
ENRICHED_FIELDS = ("summary", "key_points", "quality_score", "memory_type")


def _id_text(value: Any) -> Any:
    # Ids are integers for rows this door writes and strings for other doors' rows: accept
    # both, keep one canonical text form inside.
    if isinstance(value, bool):
        raise ValueError("an id is an integer or a string")
    if isinstance(value, int):
        return str(value)
    return value


MemoryId = Annotated[StrictStr, BeforeValidator(_id_text), Field(min_length=1, max_length=256)]
UserIdIn = Annotated[StrictStr, BeforeValidator(_id_text), Field(min_length=1, max_length=512)]


def wire_id(value: str | None) -> int | str | None:
    """An id as it leaves: an integer when it is one written canonically ("42"), else the
    string (ids written by other doors keep their form)."""
    if value is not None and value.isdigit() and value.isascii() and str(int(value)) == value:
        return int(value)
    return value


def _check_tag(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    if "," in value or "\x00" in value:
        raise ValueError("must not contain a comma or NUL")
    return value


Tag = Annotated[StrictStr, Field(max_length=128)]
Label = Annotated[StrictStr, Field(max_length=256)]


def _finite(value: Any) -> Any:
    """Reject NaN and infinities anywhere in a metadata value (they are not JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("metadata numbers must be finite")
    if isinstance(value, dict):
        for item in value.values():
            _finite(item)
    elif isinstance(value, list):
        for item in value:
            _finite(item)
    return value


class _Strict(BaseModel):
    # Unknown fields are a 422: a misspelt "ttl_minute" must not be silently dropped.
    model_config = ConfigDict(extra="forbid")


class _Scoped(_Strict):
    user_id: UserIdIn | None = None
    namespace: str | None = Field(default=None, min_length=1, max_length=512)
    session_id: str | None = Field(default=None, min_length=1, max_length=512)


class _Editable(_Strict):
    """Validation shared by add and edit."""

    @field_validator("tags", check_fields=False)
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        out: list[str] = []
        for tag in value:
            _check_tag(tag)
            if tag not in out:
                out.append(tag)
        return out

    @field_validator("metadata", check_fields=False)
    @classmethod
    def _metadata(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else _finite(value)

    @field_validator("text", check_fields=False)
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("text must not be empty")
        return value


class AddMemoryRequest(_Editable, _Scoped):
    """Body of ``POST /v1/memories``; only ``text`` is required."""

    text: StrictStr = Field(max_length=1_000_000)
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    source: Label | None = None
    event_type: Label | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=64)
    importance: float = Field(default=DEFAULT_IMPORTANCE, ge=0, le=1, strict=True)
    ttl_minutes: float | None = Field(default=None, gt=0, le=MAX_TTL_MINUTES, strict=True)

    @field_validator("source", "event_type")
    @classmethod
    def _label(cls, value: str | None) -> str | None:
        return None if value is None else _check_tag(value)

    @field_validator("importance", "ttl_minutes", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a number")
        return float(value) if isinstance(value, int) else value


class EditMemoryRequest(_Editable):
    """Body of ``PATCH /v1/memories/{id}``: the fields given change, the others stay.

    ``ttl_minutes`` counts from the edit; ``null`` removes the expiry.
    """

    text: StrictStr | None = Field(default=None, max_length=1_000_000)
    tags: list[Tag] | None = Field(default=None, max_length=64)
    metadata: dict[str, JsonValue] | None = None
    importance: float | None = Field(default=None, ge=0, le=1, strict=True)
    ttl_minutes: float | None = Field(default=None, gt=0, le=MAX_TTL_MINUTES, strict=True)

    @field_validator("importance", "ttl_minutes", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a number")
        return float(value) if isinstance(value, int) else value

    @model_validator(mode="after")
    def _something(self) -> EditMemoryRequest:
        if not self.model_fields_set:
            raise ValueError("no fields to change (text, tags, metadata, importance, "
                             "ttl_minutes)")
        for name in ("text", "tags", "metadata", "importance"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class Lifecycle(BaseModel):
    """When a row became (or becomes) warm and cold if left idle, and when it expires."""

    tier: Tier | None
    last_active_at: datetime
    warm_at: datetime | None
    cold_at: datetime | None
    expires_at: datetime | None


class Enrichment(BaseModel):
    """How the enriched fields were made: ``pending`` until the task ran, then ``done``
    with ``method`` ``model`` or ``rules`` (deterministic, offline)."""

    status: Literal["pending", "done"]
    method: Literal["model", "rules"] | None = None
    pending: list[str] = Field(default_factory=list)
    note: str | None = None


class MemoryResponse(BaseModel):
    """One memory as this door returns it (every field of the seed's response shape,
    plus the scope, summary coverage, enrichment status and lifecycle)."""

    id: int | str
    user_id: int | str | None
    text: str
    summary: str | None
    created_at: datetime
    updated_at: datetime
    metadata: dict[str, Any]
    tags: list[str]
    source: str | None
    event_type: str | None
    tier: Tier | None
    importance: float
    is_summary: bool
    expires_at: datetime | None
    key_points: list[str]
    quality_score: float | None
    memory_type: str | None
    namespace: str | None = None
    session_id: str | None = None
    covers: list[int | str] | None = None
    summary_id: int | str | None = None
    enrichment: Enrichment
    lifecycle: Lifecycle


class RecallFilters(_Strict):
    """Recall's filters; every one given applies (AND). ``tags`` matches rows with any of
    them; ``metadata`` is key/value equality on scalar values."""

    sources: list[Label] | None = Field(default=None, min_length=1, max_length=50)
    tags: list[Tag] | None = Field(default=None, min_length=1, max_length=50)
    since: UTCDateTime | None = None
    until: UTCDateTime | None = None
    include_summaries: bool = False
    tier: Tier | list[Tier] | None = None
    metadata: dict[str, StrictStr | int | float | bool | None] | None = Field(
        default=None, max_length=20)

    @field_validator("sources", "tags")
    @classmethod
    def _values(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [_check_tag(v) for v in value]

    @model_validator(mode="after")
    def _range(self) -> RecallFilters:
        if self.since is not None and self.until is not None and self.since > self.until:
            raise ValueError("since must not be after until")
        return self

    def tiers(self) -> list[str] | None:
        """The tier filter as a list."""
        if self.tier is None:
            return None
        return [self.tier] if isinstance(self.tier, str) else list(dict.fromkeys(self.tier))


class RecallWeights(_Strict):
    """Weights of the three components; normalised to sum to 1. A weight left out is 0
    when ``weights`` is given; negative or all-zero weights are a 422."""

    semantic: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    recency: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    importance: float = Field(default=0.0, ge=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _not_all_zero(self) -> RecallWeights:
        if self.semantic + self.recency + self.importance <= 0:
            raise ValueError("at least one weight must be positive")
        return self

    def normalised(self) -> dict[str, float]:
        """The weights scaled to sum to 1."""
        total = self.semantic + self.recency + self.importance
        return {"semantic": self.semantic / total, "recency": self.recency / total,
                "importance": self.importance / total}


class RecallRequest(_Scoped):
    """Body of ``POST /v1/memories/recall``. ``k`` is clamped to [1, 50], not rejected;
    ``session_id`` names the asking conversation (recorded, not a filter)."""

    query: StrictStr = Field(max_length=10_000)
    k: int = 10
    filters: RecallFilters | None = None
    weights: RecallWeights | None = None

    @field_validator("query")
    @classmethod
    def _query(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("query must not be empty")
        return value

    @field_validator("k", mode="before")
    @classmethod
    def _k(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("k must be an integer")
        return min(max(value, 1), MAX_RECALL_K)

    def weights_used(self) -> dict[str, float]:
        """The normalised weights (the documented defaults when none were sent)."""
        return self.weights.normalised() if self.weights is not None else dict(DEFAULT_WEIGHTS)


class ScoreComponents(BaseModel):
    """The three components of a recall score, each in [0, 1] before weighting."""

    semantic: float
    recency: float
    importance: float


class RecallHit(MemoryResponse):
    """A recalled memory with its final score and the components it was made of:
    ``score = w.semantic*semantic + w.recency*recency + w.importance*importance``."""

    score: float
    components: ScoreComponents


class RecallResponse(BaseModel):
    """The best ``k`` memories by weighted score, best first."""

    query: str
    k: int
    weights: dict[str, float]
    results: list[RecallHit]
