"""Turn wire filter objects into RedisVL filter expressions.

Only RedisVL ``Tag``/``Num`` objects and ``&``/``|`` build queries here; no query string is
written by hand. Guard rails, each covered by a test:

- ``all`` is an AND of one clause per value, ``any`` an OR (AMS made ``all`` an OR).
- Every operator of a date filter applies: ``{"gte": a, "lte": b}`` is a closed range.
- Dates are float epoch seconds, so sub-second precision survives.
- Empty values never reach ``Tag`` (an empty Tag renders as ``*``, the match-all wildcard):
  the models reject them, and :func:`tag_in` refuses them again here.
- Values are escaped by RedisVL's tag escaper (``Tag ==``); ``startswith`` values cannot
  carry the wildcard characters the ``%`` path leaves live (the model rejects ``* ? |``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from redisvl.query.filter import FilterExpression, Num, Tag

from agent_memory.errors import ValidationFailed
from agent_memory.models._types import tag_value_problem
from agent_memory.models.filters import DateTimeFilter, NumberFilter, TagFilter


class EmptyFilterValue(ValueError):
    """An empty value reached a filter builder (would have matched everything)."""


def check_tag_value(field: str, value: str) -> str:
    """``value`` if RediSearch can match it as a tag, else a 422.

    RediSearch cannot parse a tag clause holding NUL, nor one made only of control
    characters, spaces, ``_`` and `````: without this check such an id, sent by any client,
    became a 503 "storage error" (found by the fuzzing test).
    """
    if tag_value_problem(value) is not None:
        raise ValidationFailed(
            f"{field} must have a visible character other than '_' and '`', and no NUL",
            details=[{"type": "value_error", "loc": ["query", field],
                      "msg": "unsearchable identifier"}],
        )
    return value


def tag_in(field: str, values: Sequence[str]) -> FilterExpression:
    """``field`` has at least one of ``values`` (escaped)."""
    cleaned = [v for v in values if v]
    if not cleaned or len(cleaned) != len(values):
        raise EmptyFilterValue(f"empty value for {field}")
    for value in cleaned:
        check_tag_value(field, value)
    return Tag(field) == list(cleaned)


def tag_missing(field: str) -> FilterExpression:
    """``field`` is absent (a ``None`` namespace/user/session)."""
    return Tag(field).is_missing()


def tag_eq_or_missing(field: str, value: str | None) -> FilterExpression:
    """``field`` equals ``value``, or is absent when ``value`` is ``None``."""
    return tag_missing(field) if value is None else tag_in(field, [value])


def rendered(where: FilterExpression | None) -> str:
    """A filter as it goes into a query string ("*", every memory, for none): what RedisVL's
    queries render, for commands built by hand."""
    return "*" if where is None else str(where)


def and_all(parts: Iterable[FilterExpression | None]) -> FilterExpression | None:
    """AND of the given expressions (``None`` entries skipped); ``None`` if there are none."""
    out: FilterExpression | None = None
    for part in parts:
        if part is None:
            continue
        out = part if out is None else out & part
    return out


def number_filter(field: str, spec: NumberFilter) -> FilterExpression:
    """One number filter object as an expression: every operator given applies."""
    parts: list[FilterExpression] = []
    if spec.gt is not None:
        parts.append(Num(field) > spec.gt)
    if spec.gte is not None:
        parts.append(Num(field) >= spec.gte)
    if spec.lt is not None:
        parts.append(Num(field) < spec.lt)
    if spec.lte is not None:
        parts.append(Num(field) <= spec.lte)
    if spec.eq is not None:
        parts.append(Num(field) == spec.eq)
    combined = and_all(parts)
    if combined is None:
        raise EmptyFilterValue(f"filter on {field} has no operator")
    return combined


def not_expired(now: float) -> FilterExpression:
    """Records whose ``expires_at`` is absent or after ``now`` (epoch seconds).

    A negated numeric range, so records without the field (AMS-written, no TTL) match; the
    only text in it is a float's ``repr``.
    """
    return FilterExpression(f"-@expires_at:[-inf {float(now)!r}]")


def expired_by(now: float) -> FilterExpression:
    """Records whose ``expires_at`` is at or before ``now`` (what the purge deletes)."""
    return Num("expires_at") <= float(now)


def tag_not_in(field: str, values: Sequence[str]) -> FilterExpression:
    """``field`` has none of ``values``."""
    tag = Tag(field)
    tag_values = [v for v in values if v]
    if not tag_values or len(tag_values) != len(values):
        raise EmptyFilterValue(f"empty value for {field}")
    for value in tag_values:  # the same check as tag_in: every operator, one rule
        check_tag_value(field, value)
    return tag != tag_values  # renders (-@field:{a|b}): none of the values


def tag_filter(field: str, spec: TagFilter) -> FilterExpression:
    """One tag filter object as an expression (its operators AND-ed)."""
    parts: list[FilterExpression] = []
    if spec.eq is not None:
        parts.append(tag_in(field, [spec.eq]))
    if spec.ne is not None:
        parts.append(tag_not_in(field, [spec.ne]))
    if spec.any is not None:
        parts.append(tag_in(field, spec.any))
    if spec.all is not None:
        parts.extend(tag_in(field, [value]) for value in spec.all)
    if spec.startswith is not None:
        if not spec.startswith:
            raise EmptyFilterValue(f"empty prefix for {field}")
        parts.append(Tag(field) % f"{spec.startswith}*")
    if spec.none is not None:
        parts.append(tag_not_in(field, spec.none))
    combined = and_all(parts)
    if combined is None:  # the model guarantees an operator; never widen silently
        raise EmptyFilterValue(f"filter on {field} has no operator")
    return combined


def date_filter(field: str, spec: DateTimeFilter) -> FilterExpression:
    """One date filter object as an expression: every operator given applies."""
    num = Num  # a fresh field object per operator: RedisVL fields keep state
    parts: list[FilterExpression] = []
    if spec.gt is not None:
        parts.append(num(field) > spec.gt.timestamp())
    if spec.gte is not None:
        parts.append(num(field) >= spec.gte.timestamp())
    if spec.lt is not None:
        parts.append(num(field) < spec.lt.timestamp())
    if spec.lte is not None:
        parts.append(num(field) <= spec.lte.timestamp())
    if spec.eq is not None:
        parts.append(num(field) == spec.eq.timestamp())
    if spec.ne is not None:
        parts.append(num(field) != spec.ne.timestamp())
    if spec.between is not None:
        start, end = spec.between
        parts.append(num(field).between(start.timestamp(), end.timestamp(), spec.inclusive))
    combined = and_all(parts)
    if combined is None:
        raise EmptyFilterValue(f"filter on {field} has no operator")
    return combined


__all__ = [
    "EmptyFilterValue",
    "and_all",
    "date_filter",
    "expired_by",
    "not_expired",
    "number_filter",
    "tag_eq_or_missing",
    "tag_filter",
    "tag_in",
    "tag_missing",
    "tag_not_in",
]
