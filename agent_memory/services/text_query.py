"""Clean user text into the words a full-text (BM25) query may contain.

RediSearch 2.10.5 crashes the whole server on a DIALECT 2 union made mostly of stopwords
(ENVIRONMENT.md), and punctuation inside a token changes the query syntax. So before any
full-text clause is built, the text is split into word tokens (letters, digits and
underscores only: no punctuation survives), lower-cased, stripped of English stopwords
(RedisVL's list plus RediSearch's own default list) and de-duplicated. What remains is a
space-separated string of plain words that RedisVL's ``TextQuery`` ORs together (it
escapes each token once more). An empty result means "no lexical query".
"""

from __future__ import annotations

import re
from functools import lru_cache

from redisvl.utils.stopwords import get_stopwords

# RediSearch's built-in default stopword list (the index uses it, so these never match).
_REDISEARCH_DEFAULT = frozenset(
    "a is the an and are as at be but by for if in into it no not of on or such that their "
    "then there these they this to was will with".split()
)
_WORD = re.compile(r"[^\W_]+(?:_[^\W_]+)*", re.UNICODE)
MAX_TERMS = 32  # a longer query adds little recall and costs a union per term


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """English stopwords removed from every full-text query."""
    return frozenset(get_stopwords("english")) | _REDISEARCH_DEFAULT


def index_stopwords() -> frozenset[str]:
    """The words RediSearch itself leaves out of the index (its default list)."""
    return _REDISEARCH_DEFAULT


def query_terms(text: str | None) -> list[str]:
    """The distinct content words of ``text``, in order (at most :data:`MAX_TERMS`)."""
    if not text:
        return []
    stop = stopwords()
    out: list[str] = []
    seen: set[str] = set()
    for word in _WORD.findall(text.lower()):
        if len(word) < 2 and not word.isdigit():
            continue  # single letters are noise (and "s" from "james's")
        if word in stop or word in seen:
            continue
        seen.add(word)
        out.append(word)
        if len(out) == MAX_TERMS:
            break
    return out


def lexical_query(text: str | None) -> str:
    """``query_terms`` joined by spaces: safe input for ``TextQuery`` (may be empty)."""
    return " ".join(query_terms(text))
