"""What the in-process (offline) embedders share: one worker thread off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt

from agent_memory.observability.metrics import observe_embedding


class LocalEmbedder:
    """An embedder whose model runs in this process.

    Subclasses implement :meth:`embed_sync` (pure CPU); :meth:`embed` runs it in a single
    background thread, since two forward passes would only fight for the same cores.
    """

    def __init__(self, *, model_id: str, dimensions: int, max_chars: int,
                 thread_name: str) -> None:
        self.model_id = model_id
        self.dimensions = dimensions
        self.max_chars = max_chars
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)

    def embed_sync(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        raise NotImplementedError

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        loop = asyncio.get_running_loop()
        with observe_embedding(self.model_id, len(texts)):
            return await loop.run_in_executor(self._executor, self.embed_sync, list(texts))

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
