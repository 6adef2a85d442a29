"""Search filter objects on the wire (AMS ``SessionId``, ``Namespace``, ``CreatedAt``, ...).

Each filter is a JSON object of operators. Tag filters take ``eq``/``ne``/``any``/``all``/
``startswith``; date filters take ``gt``/``lt``/``gte``/``lte``/``eq``/``ne``/``between``.
Operators of one object combine with AND (``{"gte": a, "lte": b}`` is a range, unlike AMS
which silently kept only ``gte``). The official Python client's spellings (``in_``,
``not_eq``, ``not_in``, ``none``) are accepted as aliases.

AMS lets a client set ``field`` and so point a filter at another indexed field. Here
``field`` is accepted for compatibility but must name the filter's own field, else 422.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from agent_memory.models._types import UTCDateTime, tag_value_problem
from agent_memory.models.records import MemoryTypeEnum


def _check_value(value: str) -> str:
    # An empty value would become RedisVL's wildcard: reject it instead of matching all.
    if not value or not value.strip():
        raise ValueError("filter values must not be empty")
    if len(value) > 512:
        raise ValueError("filter values are at most 512 characters")
    # Every operator (eq, ne, any, all, none, startswith) takes values through here, so a
    # value RediSearch cannot parse is a 422 whichever operator carries it.
    problem = tag_value_problem(value)
    if problem is not None:
        raise ValueError(f"filter values {problem}")
    return value


class _FieldBound(BaseModel):
    """A filter whose ``field`` may only name its own field."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    FIELD: ClassVar[str] = ""
    field: str | None = None

    @model_validator(mode="after")
    def _own_field(self) -> _FieldBound:
        if self.field is not None and self.field != self.FIELD:
            raise ValueError(f"this filter applies to {self.FIELD!r} only, not {self.field!r}")
        return self


class TagFilter(_FieldBound):
    """Operators on a TAG field. Exactly one of eq/ne/any/all/startswith (plus ``none``)."""

    eq: str | None = None
    ne: str | None = None
    any: list[str] | None = None
    all: list[str] | None = None
    none: list[str] | None = None  # match records that have none of these values
    startswith: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _client_aliases(cls, data: Any) -> Any:
        # agent-memory-client 0.14 models use in_/not_eq/not_in; map them onto ours.
        if isinstance(data, dict):
            data = dict(data)
            for src, dst in (("in_", "any"), ("not_eq", "ne"), ("not_in", "none")):
                if src in data and data[src] is not None:
                    if data.get(dst) is not None:
                        raise ValueError(f"{src} and {dst} cannot be combined")
                    data[dst] = data.pop(src)
        return data

    @field_validator("eq", "ne", "startswith")
    @classmethod
    def _scalar(cls, value: str | None) -> str | None:
        return None if value is None else _check_value(value)

    @field_validator("any", "all", "none")
    @classmethod
    def _listed(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("list must not be empty")
        if len(value) > 100:
            raise ValueError("at most 100 values")
        return [_check_value(v) for v in value]

    @field_validator("startswith")
    @classmethod
    def _prefix(cls, value: str | None) -> str | None:
        # The prefix goes through RedisVL's wildcard path, which keeps * ? | live.
        if value is not None and any(c in value for c in "*?|"):
            raise ValueError("startswith cannot contain '*', '?' or '|'")
        if value is not None and any(ord(c) < 32 or ord(c) == 127 for c in value):
            # A control character inside a prefix term is a RediSearch syntax error (a 503
            # before this check; found by fuzzing).
            raise ValueError("startswith cannot contain control characters")
        if value is not None and len(value) < 2:
            # RediSearch expands prefixes of at least MINPREFIX (2) characters only.
            raise ValueError("startswith needs at least 2 characters")
        return value

    @model_validator(mode="after")
    def _one_operator(self) -> TagFilter:
        ops = ("eq", "ne", "any", "all", "startswith")
        given = [n for n in ops if getattr(self, n) is not None]
        if len(given) > 1:
            raise ValueError(f"use one of eq, ne, any, all, startswith (got {', '.join(given)})")
        if not given and self.none is None:
            raise ValueError("a filter needs an operator (eq, ne, any, all, startswith, none)")
        return self

    def values(self) -> list[str]:
        """Every positive value this filter names (eq, any, all)."""
        out = [self.eq] if self.eq is not None else []
        return out + list(self.any or []) + list(self.all or [])


class SessionId(TagFilter):
    """Filter on ``session_id``."""

    FIELD = "session_id"


class Namespace(TagFilter):
    """Filter on ``namespace``."""

    FIELD = "namespace"


class UserId(TagFilter):
    """Filter on ``user_id``."""

    FIELD = "user_id"


class Topics(TagFilter):
    """Filter on ``topics``."""

    FIELD = "topics"


class Entities(TagFilter):
    """Filter on ``entities``."""

    FIELD = "entities"


class ExtractionStrategy(TagFilter):
    """Filter on ``extraction_strategy``."""

    FIELD = "extraction_strategy"


class MemoryType(TagFilter):
    """Filter on ``memory_type``; values must be episodic, semantic or message."""

    FIELD = "memory_type"

    @model_validator(mode="after")
    def _known_types(self) -> MemoryType:
        allowed = {m.value for m in MemoryTypeEnum}
        named = self.values() + ([self.ne] if self.ne else []) + list(self.none or [])
        bad = sorted(set(named) - allowed)
        if bad:
            raise ValueError(f"unknown memory types {bad}; use {sorted(allowed)}")
        if self.startswith is not None:
            raise ValueError("memory_type does not support startswith")
        return self


class DateTimeFilter(_FieldBound):
    """Operators on a date field; every operator given applies (AND)."""

    gt: UTCDateTime | None = None
    lt: UTCDateTime | None = None
    gte: UTCDateTime | None = None
    lte: UTCDateTime | None = None
    eq: UTCDateTime | None = None
    ne: UTCDateTime | None = None
    between: list[UTCDateTime] | None = None
    inclusive: Literal["both", "neither", "left", "right"] = "both"

    @model_validator(mode="before")
    @classmethod
    def _client_aliases(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("not_eq") is not None:
            data = {**data, "ne": data["not_eq"]}
            data.pop("not_eq")
        return data

    @model_validator(mode="after")
    def _consistent(self) -> DateTimeFilter:
        ops = ("gt", "lt", "gte", "lte", "eq", "ne", "between")
        if all(getattr(self, n) is None for n in ops):
            raise ValueError(f"a date filter needs one of {', '.join(ops)}")
        if self.between is not None:
            if len(self.between) != 2:
                raise ValueError("between takes exactly two datetimes")
            if self.between[0] > self.between[1]:
                raise ValueError("between must be [earlier, later]")
        if self.eq is not None and self.ne is not None:
            raise ValueError("eq and ne cannot be combined")
        return self


class CreatedAt(DateTimeFilter):
    """Filter on ``created_at``."""

    FIELD = "created_at"


class LastAccessed(DateTimeFilter):
    """Filter on ``last_accessed``."""

    FIELD = "last_accessed"


class EventDate(DateTimeFilter):
    """Filter on ``event_date``."""

    FIELD = "event_date"


# --- memories door fields (issue 14) -------------------------------------------------------
class Tags(TagFilter):
    """Filter on ``tags`` (the caller's tags of a memories-door row)."""

    FIELD = "tags"


class Source(TagFilter):
    """Filter on ``source`` (where a memories-door row came from)."""

    FIELD = "source"


class TierFilter(TagFilter):
    """Filter on ``tier``; values must be hot, warm or cold."""

    FIELD = "tier"

    @model_validator(mode="after")
    def _known_tiers(self) -> TierFilter:
        named = self.values() + ([self.ne] if self.ne else []) + list(self.none or [])
        bad = sorted(set(named) - {"hot", "warm", "cold"})
        if bad:
            raise ValueError(f"unknown tiers {bad}; use hot, warm or cold")
        if self.startswith is not None:
            raise ValueError("tier does not support startswith")
        return self


class NumberFilter(_FieldBound):
    """Operators on a numeric field; every operator given applies (AND)."""

    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    eq: float | None = None

    @model_validator(mode="after")
    def _some(self) -> NumberFilter:
        values = [getattr(self, n) for n in ("gt", "gte", "lt", "lte", "eq")]
        if all(v is None for v in values):
            raise ValueError("a number filter needs one of gt, gte, lt, lte, eq")
        if any(v is not None and v != v for v in values):  # NaN
            raise ValueError("numbers must not be NaN")
        return self


class Importance(NumberFilter):
    """Filter on ``importance`` (the caller's 0-1 hint), e.g. ``{"gte": 0.8}``."""

    FIELD = "importance"


__all__ = [
    "Importance",
    "NumberFilter",
    "Source",
    "Tags",
    "TierFilter",
    "CreatedAt",
    "DateTimeFilter",
    "Entities",
    "EventDate",
    "ExtractionStrategy",
    "LastAccessed",
    "MemoryType",
    "Namespace",
    "SessionId",
    "TagFilter",
    "Topics",
    "UserId",
]
