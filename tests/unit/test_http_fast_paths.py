"""The HTTP layer's fast paths answer exactly what Starlette's general code does (no Redis)."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from agent_memory.api._http import ModelResponse, query_values, require_json_content_type
from agent_memory.errors import UnsupportedMediaType
from agent_memory.observability.logging import new_request_id


class _Out(BaseModel):
    name: str
    values: list[float]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "user_id", "", "a%20b", "x+y", "é"]),
                          st.sampled_from(["", "1", "v w", "%41", "+", "=", "%zz", "é&"])),
                max_size=6),
       st.sampled_from(["&", "&&"]))
def test_query_values_are_starlettes(pairs: list[tuple[str, str]], joiner: str) -> None:
    """Every query string, escaped or not, gives the values ``QueryParams`` gives, in order."""
    raw = joiner.join(k if v == "" and k.endswith("b") else f"{k}={v}" for k, v in pairs)
    query = raw.encode()
    params = QueryParams(query)
    got = query_values(query)
    assert list(got) == list(dict.fromkeys(k for k, _ in params.multi_items()))
    for key, values in got.items():
        assert values == params.getlist(key)
        assert values[-1] == params[key]


@pytest.mark.parametrize("headers", [None, {"ETag": '"3"'}, {"X-Prompt-Tokens": "12"},
                                     {"Content-Type": "application/problem+json"}])
@pytest.mark.parametrize("status", [200, 201, 204])
def test_model_responses_carry_starlettes_headers(headers: dict[str, str] | None,
                                                  status: int) -> None:
    """Body bytes and headers are the ones a Starlette JSON response of the same model has."""
    out = _Out(name="é", values=[1.5, 2])
    ours = ModelResponse(out, status_code=status, headers=headers)
    theirs = Response(out.model_dump_json(), status_code=status, headers=headers,
                      media_type="application/json")
    assert ours.body == theirs.body
    assert ours.raw_headers == theirs.raw_headers
    assert ours.headers["content-type"] == theirs.headers["content-type"]
    assert ModelResponse([out]).body == '[{"name":"é","values":[1.5,2.0]}]'.encode()


def _request(*headers: tuple[bytes, bytes]) -> Request:
    return Request({"type": "http", "method": "POST", "headers": list(headers)})


@pytest.mark.parametrize("value", [b"application/json", b"application/json; charset=utf-8",
                                   b"Application/JSON", b"application/merge-patch+json"])
def test_json_bodies_are_accepted(value: bytes) -> None:
    """JSON media types pass, with parameters and in any case."""
    require_json_content_type(_request((b"content-type", value)))


@pytest.mark.parametrize("headers", [(), ((b"content-type", b"text/plain"),),
                                     ((b"content-type", b"text/plain"),
                                      (b"content-type", b"application/json"))])
def test_other_bodies_are_415(headers: tuple[tuple[bytes, bytes], ...]) -> None:
    """No content type, or a first one that is not JSON (what a browser sends cross-site
    without a preflight), is refused and named in the error."""
    with pytest.raises(UnsupportedMediaType) as caught:
        require_json_content_type(_request(*headers))
    assert caught.value.details == {"content_type": "text/plain" if headers else None}


def test_new_request_ids_are_uuid4_hex() -> None:
    """Generated request ids keep ``uuid4().hex``'s shape: 32 hex digits of a version-4,
    RFC 4122 UUID, all different."""
    ids = [new_request_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for value in ids:
        parsed = uuid.UUID(hex=value)
        assert parsed.hex == value and parsed.version == 4 and parsed.variant == uuid.RFC_4122
