"""Filter objects and how they render (no Redis): the AMS filter bugs stay fixed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from agent_memory.models.filters import CreatedAt, MemoryType, Namespace, Topics, UserId
from agent_memory.models.long_term import SearchRequest
from agent_memory.storage.filters import EmptyFilterValue, date_filter, tag_filter, tag_in


def test_all_is_an_and_of_each_value() -> None:
    """``all`` renders one clause per value (AMS rendered an OR)."""
    rendered = str(tag_filter("topics", Topics(all=["a", "b"])))
    assert rendered == "(@topics:{a} @topics:{b})"


def test_any_is_an_or() -> None:
    """``any`` renders a single IN clause."""
    assert str(tag_filter("topics", Topics(any=["a", "b"]))) == "@topics:{a|b}"


def test_range_operators_combine() -> None:
    """gte with lte is a closed range (AMS silently dropped lte)."""
    a = datetime(2024, 1, 1, tzinfo=UTC)
    b = datetime(2024, 2, 1, tzinfo=UTC)
    rendered = str(date_filter("created_at", CreatedAt(gte=a, lte=b)))
    assert f"@created_at:[{a.timestamp()} +inf]" in rendered
    assert f"@created_at:[-inf {b.timestamp()}]" in rendered


def test_sub_second_precision_is_kept() -> None:
    """Datetimes become float epoch seconds, keeping microseconds."""
    t = datetime(2024, 1, 1, 0, 0, 0, 250000, tzinfo=UTC)
    assert "1704067200.25" in str(date_filter("created_at", CreatedAt(gt=t)))


def test_between_and_ne() -> None:
    """between renders a range with its inclusivity; ne a negation."""
    a = datetime(2024, 1, 1, tzinfo=UTC)
    b = datetime(2024, 1, 2, tzinfo=UTC)
    assert str(date_filter("event_date", CreatedAt(between=[a, b], inclusive="neither"))) == (
        f"@event_date:[({a.timestamp()} ({b.timestamp()}]")
    assert str(tag_filter("user_id", UserId(ne="u1"))) == "(-@user_id:{u1})"


@pytest.mark.parametrize("value", ["a) | (@namespace:{*}", "*", '"', "\\", "{", "x y", "a|b"])
def test_tag_values_are_escaped(value: str) -> None:
    """Injection attempts stay inside one escaped tag value."""
    rendered = str(tag_filter("namespace", Namespace(eq=value)))
    assert rendered.startswith("@namespace:{") and rendered.endswith("}")
    inner = rendered[len("@namespace:{"):-1]
    # every special character is escaped: no unescaped | * { } ( ) " remain
    stripped = inner.replace("\\\\", "")
    for ch in "|*{}()\" ":
        for i, c in enumerate(stripped):
            if c == ch:
                assert i > 0 and stripped[i - 1] == "\\", (value, rendered)


def test_empty_values_are_rejected_not_wildcards() -> None:
    """Empty strings/lists are validation errors, and the builder refuses them too."""
    for bad in ({"eq": ""}, {"any": []}, {"all": [""]}, {"eq": "  "}, {}):
        with pytest.raises(ValidationError):
            Namespace.model_validate(bad)
    with pytest.raises(EmptyFilterValue):
        tag_in("namespace", [""])
    with pytest.raises(EmptyFilterValue):
        tag_in("namespace", [])


def test_field_cannot_point_elsewhere() -> None:
    """``field`` is accepted only when it names the filter's own field."""
    assert Namespace.model_validate({"eq": "a", "field": "namespace"}).eq == "a"
    with pytest.raises(ValidationError):
        Namespace.model_validate({"eq": "a", "field": "user_id"})
    with pytest.raises(ValidationError):
        SearchRequest.model_validate({"user_id": {"eq": "x", "field": "memory_hash"}})


def test_one_tag_operator_and_startswith_rules() -> None:
    """eq with any is rejected; startswith refuses wildcard characters and 1-char prefixes."""
    with pytest.raises(ValidationError):
        Namespace.model_validate({"eq": "a", "any": ["b"]})
    for bad in ("ab*", "a?", "x|y", "a"):
        with pytest.raises(ValidationError):
            Namespace.model_validate({"startswith": bad})
    assert str(tag_filter("namespace", Namespace(startswith="ws:ab"))) == "@namespace:{ws\\:ab*}"


def test_client_aliases() -> None:
    """agent-memory-client's in_/not_eq/not_in map onto any/ne/none."""
    assert Namespace.model_validate({"in_": ["a", "b"]}).any == ["a", "b"]
    assert Namespace.model_validate({"not_eq": "a"}).ne == "a"
    assert str(tag_filter("topics", Topics.model_validate({"not_in": ["x"]}))) == "(-@topics:{x})"


def test_memory_type_values_checked() -> None:
    """memory_type accepts only the three known types."""
    assert MemoryType(eq="episodic").eq == "episodic"
    with pytest.raises(ValidationError):
        MemoryType(eq="preference")
