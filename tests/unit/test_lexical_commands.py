"""The candidate search built by hand sends exactly what RedisVL's ``TextQuery`` would."""

from __future__ import annotations

from types import SimpleNamespace

from redisvl.query import TextQuery
from redisvl.query.filter import Tag

from agent_memory.storage.lexical import _CANDIDATE_FIELDS, LexicalStore, _parse_candidates, _scope


def _redisvl(words: list[str], weights: dict[str, float], where: object,
             fields: dict[str, float]) -> list[object]:
    q = TextQuery(" ".join(words), dict(fields), text_scorer="BM25STD",
                  filter_expression=where, num_results=100, stopwords=None,
                  return_fields=_CANDIDATE_FIELDS, text_weights=weights or None)
    q.query._with_scores = False
    return ["FT.SEARCH", "idx", *q.query.get_args()]


def test_candidate_command_matches_redisvl() -> None:
    """Words with and without weights, with and without a filter, one or three fields:
    the command is RedisVL's, argument for argument."""
    store = LexicalStore.__new__(LexicalStore)
    store.store = SimpleNamespace(text_index_name="idx")  # type: ignore[assignment]
    scopes = [None, Tag("namespace") == "load",
              (Tag("namespace") == "load") & (Tag("user_id") == "user-1")]
    fields = [{"text": 1.0, "context_prev": 0.5, "context_next": 0.4}, {"text": 1.0}]
    words = [(["school", "dog"], {"school": 1.0, "dog": 0.848}), (["école"], {}),
             (["jazz", "42"], {"42": 0.01})]
    for where in scopes:
        for weights in fields:
            for ws, ww in words:
                ours = store._candidate_command(ws, ww, _scope(where), 100, weights)
                assert ours == _redisvl(ws, ww, where, weights)


def test_parsed_candidates_are_cached_by_their_raw_reply() -> None:
    """A memory whose returned fields changed (touched, re-written) is parsed afresh."""
    reply = [1, b"p:m1", [b"created_at", b"1", b"last_accessed", b"2", b"text", b"hi"]]
    (first,) = _parse_candidates([reply], 2)
    assert first[0].memory_id == "m1" and first[0].text == "hi" and first[0].last_accessed == 2
    touched = [1, b"p:m1", [b"created_at", b"1", b"last_accessed", b"3", b"text", b"hi"]]
    (again,) = _parse_candidates([touched], 2)
    assert again[0].last_accessed == 3.0 and again[0].context_prev == ""


def test_a_cached_candidate_is_reused_only_while_its_fields_are_the_same() -> None:
    """Same key and fields: the very object parsed before; any field changed (the text, a
    context field added) or another key prefix length: parsed afresh."""
    fields = [b"created_at", b"1", b"last_accessed", b"2", b"text", b"same words"]
    (first,) = _parse_candidates([[1, b"p:m7", fields]], 2)
    (again,) = _parse_candidates([[1, b"p:m7", list(fields)]], 2)
    assert again[0] is first[0]
    (edited,) = _parse_candidates([[1, b"p:m7", [*fields[:5], b"other words"]]], 2)
    assert edited[0].text == "other words" and edited[0].memory_id == "m7"
    (context,) = _parse_candidates([[1, b"p:m7", [*fields, b"context_prev", b"before"]]], 2)
    assert context[0].context_prev == "before" and context[0].text == "same words"
    (shorter_prefix,) = _parse_candidates([[1, b"p:m7", list(fields)]], 1)
    assert shorter_prefix[0].memory_id == ":m7"


def test_candidates_of_several_replies_are_listed_once_in_the_first() -> None:
    """A memory two searches of one batch both return counts in the first only; inside one
    reply every document is listed."""
    row = [b"created_at", b"1", b"last_accessed", b"2", b"text", b"x"]
    first = [2, b"p:a", row, b"p:b", row]
    second = [2, b"p:b", row, b"p:c", row]
    ids = [[d.memory_id for d in docs] for docs in _parse_candidates([first, second], 2)]
    assert ids == [["a", "b"], ["c"]]
    (empty,) = _parse_candidates([[1, b"p:d", None]], 2)
    assert empty[0].memory_id == "d" and empty[0].text == "" and empty[0].created_at == 0.0


def test_a_value_holding_a_nul_is_never_mistaken_for_another_reply() -> None:
    """Joined, ``[text, "a\\0context_prev\\0b"]`` and ``[text, "a", context_prev, "b"]``
    are the same bytes: the one holding a NUL is parsed for itself, never taken from (or
    left in) the cache."""
    plain = [b"created_at", b"1", b"last_accessed", b"2", b"text", b"a", b"context_prev", b"b"]
    tricky = [b"created_at", b"1", b"last_accessed", b"2", b"text", b"a\0context_prev\0b"]
    (first,) = _parse_candidates([[1, b"p:n1", plain]], 2)
    (second,) = _parse_candidates([[1, b"p:n1", tricky]], 2)
    assert first[0].text == "a" and first[0].context_prev == "b"
    assert second[0].text == "a\0context_prev\0b" and second[0].context_prev == ""
    (third,) = _parse_candidates([[1, b"p:n1", plain]], 2)
    assert third[0] is first[0]
