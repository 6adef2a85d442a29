"""BERT's uncased tokenizer in pure Python: basic tokenizer, then greedy WordPiece.

Reproduces what Hugging Face ``tokenizers`` does for a ``tokenizer.json`` with a
``BertNormalizer`` (clean text, CJK characters split, lower case, accents stripped), a
``BertPreTokenizer`` (split on whitespace and punctuation) and a ``WordPiece`` model
(``##`` continuation, words over 100 characters become ``[UNK]``), so no compiled wheel is
needed. Pure CPU, no I/O.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from functools import lru_cache


def _is_control(ch: str) -> bool:
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch) in ("Cc", "Cf")


def _is_whitespace(ch: str) -> bool:
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    # ASCII symbols count as punctuation for BERT although Unicode calls some of them Sm/Sc.
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F
            or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


@lru_cache(maxsize=4096)
def _char_kind(ch: str) -> int:
    """0 keep, 1 drop, 2 whitespace, 3 punctuation or CJK (a token of its own)."""
    cp = ord(ch)
    if cp == 0 or cp == 0xFFFD or _is_control(ch):
        return 1
    if _is_whitespace(ch):
        return 2
    if _is_punctuation(ch) or _is_cjk(cp):
        return 3
    return 0


def basic_tokens(text: str) -> list[str]:
    """Lower-cased, accent-free words and punctuation marks, in order."""
    text = unicodedata.normalize("NFD", text.lower())
    words: list[str] = []
    current: list[str] = []
    for ch in text:
        if unicodedata.category(ch) == "Mn":
            continue  # accents (every nonspacing mark) go after NFD
        kind = _char_kind(ch)
        if kind == 0:
            current.append(ch)
            continue
        if kind == 1:
            continue  # removed without splitting the word (a zero-width joiner, say)
        if current:
            words.append("".join(current))
            current = []
        if kind == 3:
            words.append(ch)
    if current:
        words.append("".join(current))
    return words


class WordPiece:
    """Greedy longest-match-first WordPiece over ``vocab`` (token -> id).

    Args:
        vocab: The model's vocabulary.
        unk: The unknown token.
        max_word_chars: Longer words become ``unk`` whole (as BERT does).
    """

    def __init__(self, vocab: Mapping[str, int], *, unk: str = "[UNK]",
                 max_word_chars: int = 100) -> None:
        self.vocab = dict(vocab)
        self.unk_id = self.vocab[unk]
        self.max_word_chars = max_word_chars
        self._word_ids = lru_cache(maxsize=65536)(self._ids_uncached)

    def _ids_uncached(self, word: str) -> tuple[int, ...]:
        if len(word) > self.max_word_chars:
            return (self.unk_id,)
        ids: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = self.vocab.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return (self.unk_id,)
            ids.append(found)
            start = end
        return tuple(ids)

    def encode(self, text: str, max_ids: int) -> list[int]:
        """The ids of ``text`` (no special tokens), at most ``max_ids`` of them."""
        out: list[int] = []
        for word in basic_tokens(text):
            out.extend(self._word_ids(word))
            if len(out) >= max_ids:
                return out[:max_ids]
        return out
