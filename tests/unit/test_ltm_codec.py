"""The record codec's direct decode gives what decoding through validation gives (no Redis)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agent_memory.models.long_term import MemoryRecordResult
from agent_memory.models.records import MemoryRecord, MemoryTypeEnum
from agent_memory.storage._ltm_codec import FIELDS, decode, decode_validated, encode

TIMES = ("created_at", "last_accessed", "updated_at")


def _row(fields: dict[str, Any]) -> tuple[bytes | None, ...]:
    """An ``HMGET`` reply: every value as bytes, absent fields as ``None``."""
    def as_bytes(value: Any) -> bytes | None:
        if value is None or isinstance(value, bytes):
            return value
        return str(value).encode()
    return tuple(as_bytes(fields.get(name)) for name in FIELDS)


def _same(row: tuple[bytes | None, ...], cls: type[MemoryRecord] = MemoryRecord,
          **extra: Any) -> MemoryRecord:
    """Decode ``row`` both ways and check the records are the same; return the fast one."""
    try:
        expected = decode_validated(row, cls, **extra)
    except ValidationError:
        with pytest.raises(ValidationError):
            decode(row, cls, **extra)
        return None  # type: ignore[return-value]
    got = decode(row, cls, **extra)
    assert type(got) is type(expected)
    assert got.model_fields_set == expected.model_fields_set
    # Times absent from the hash default to "now": equal up to when each decode ran.
    unset = {t for t in TIMES if t not in expected.model_fields_set}
    assert got.model_dump_json(exclude=unset) == expected.model_dump_json(exclude=unset)
    assert got.model_dump(exclude=unset) == expected.model_dump(exclude=unset)
    assert list(got.__dict__) == list(expected.__dict__)  # same key order in JSON
    for name in unset:
        assert abs((getattr(got, name) - getattr(expected, name)).total_seconds()) < 5
    return got


def test_encoded_records_decode_to_themselves() -> None:
    """A record written with every optional field set reads back equal, both ways."""
    record = MemoryRecord(
        id="m-1", text="Alice prefers window seats", session_id="s", user_id="u",
        namespace="n", topics=["travel", "seats"], entities=["Alice"], memory_type="semantic",
        metadata={"k": "v", "n": 2}, extraction_strategy_config={"x": 1}, pinned=True,
        access_count=3, extracted_from=["a", "b"], discrete_memory_extracted="t",
        persisted_at="2024-01-02T03:04:05.123456Z", event_date="2024-02-01T00:00:00Z",
        tags=["t1"], source="chat", event_type="note", tier="warm", summary_id="sum-1",
        importance=0.5, expires_at="2030-01-01T00:00:00Z", is_summary=True, covers=["x", "y"],
        enrichment={"summary": "s"})
    encoded = {k: v for k, v in encode(record, None).items()}
    got = _same(_row(encoded))
    assert got == record.model_copy(update={"memory_hash": None})
    hit = _same(_row(encoded), MemoryRecordResult, dist=0.25, score=0.75, score_type="hybrid")
    assert isinstance(hit, MemoryRecordResult)
    assert (hit.dist, hit.score, hit.score_type) == (0.25, 0.75, "hybrid")


@pytest.mark.parametrize("fields", [
    {"id_": "m", "text": "t"},  # the bare minimum: every default
    {"id_": "m", "text": "t", "namespace": "", "user_id": "", "session_id": ""},  # AMS blanks
    {"id_": "m", "text": "t", "topics": "a|b", "entities": "x,,y"},  # AMS's old separator
    {"id_": "m", "text": "t", "memory_type": "message", "extraction_strategy": ""},
    {"id_": "m", "text": "t", "memory_type": "dream"},  # unknown type: an error both ways
    {"id_": "", "text": "t"},  # no id: an error both ways
    {"id_": "m", "text": "t", "tier": "lukewarm", "source": "a,b"},  # a rule added later
    {"id_": "m", "text": "t", "access_count": str(2**60), "importance": "7"},
    {"id_": "m", "text": "t", "metadata": "not json", "covers": "[1, 2]", "enrichment": "{}"},
    {"id_": "m", "text": "t", "pinned": "true", "is_summary": "True", "discrete_memory_extracted": "x"},
    {"id_": "m", "text": "t", "created_at": "1700000000.5", "updated_at": "1700000001"},
])
def test_stored_oddities_decode_alike(fields: dict[str, Any]) -> None:
    """Rows AMS or older versions wrote, and rows validation refuses, decode the same way."""
    _same(_row(fields))
    _same(_row(fields), MemoryRecordResult, dist=0.5, score=None, score_type="keyword")


def test_bad_extras_take_the_validated_path() -> None:
    """Extra values that are not what the class declares are handled by validation, as
    before (served as given when only they are wrong)."""
    row = _row({"id_": "m", "text": "t"})
    hit = _same(row, MemoryRecordResult, dist="0.5", score=1, score_type="keyword")
    assert (hit.dist, hit.score) == (0.5, 1.0) and type(hit.score) is float  # type: ignore[attr-defined]
    _same(row, MemoryRecordResult, text="overridden")
    # Refused by validation: served with the values as given, both ways.
    got = decode(row, MemoryRecordResult, dist=0.1, score=None, score_type="fuzzy")
    expected = decode_validated(row, MemoryRecordResult, dist=0.1, score=None, score_type="fuzzy")
    assert got.model_dump(exclude=set(TIMES), warnings=False) == expected.model_dump(
        exclude=set(TIMES), warnings=False)


_VALUE = st.one_of(st.none(), st.just(b""), st.binary(max_size=6),
                   st.sampled_from([b"0", b"1", b"t", b"f", b"true", b"1700000000.25", b"{}",
                                    b'{"a": [1]}', b'["x"]', b"a,b", b"semantic", b"message",
                                    b"hot", b"0.3", b"-1", "é".encode()]))


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({name: _VALUE for name in FIELDS}))
def test_any_row_decodes_alike(values: dict[str, bytes | None]) -> None:
    """Whatever a hash holds, the direct decode and the validated one agree: the same
    record, or the same kind of failure."""
    row = tuple(values[name] for name in FIELDS)
    try:
        expected = decode_validated(row)
    except Exception as exc:  # noqa: BLE001 - the failure must be the same kind
        with pytest.raises(type(exc)):
            decode(row)
        return
    got = decode(row)
    unset = {t for t in TIMES if t not in expected.model_fields_set}
    assert got.model_dump_json(exclude=unset) == expected.model_dump_json(exclude=unset)
    assert got.model_fields_set == expected.model_fields_set
    assert isinstance(got.memory_type, MemoryTypeEnum)
    json.loads(got.model_dump_json())
