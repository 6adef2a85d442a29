"""Embeddings from any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, TEI, LocalAI...).

Vectors are asked for as base64 (4 bytes a number instead of ~20 of JSON text) and the
reply is read straight into numpy: the ``openai`` client's typed parsing builds one Python
object per number (15,000 for ten 1536-dim vectors), which cost more than the rest of a
10-memory create. Endpoints that ignore ``encoding_format`` and answer float lists work too.
The request goes through the client's own ``post(..., cast_to=httpx.Response)`` (its way to
call an endpoint untyped: same URL, headers, timeout, retries and errors) rather than
``embeddings.create``, whose typed request transform and response wrapper cost ~350 µs of
CPU per call, a third of the client's work (docs/benchmarks.md, issue-17y).

Big batches are split into requests of at most ``batch_size`` inputs, sent concurrently (a few
at a time). Timeouts and retries come from settings; failures become our errors:
unreachable/timeout -> :class:`ServiceUnavailable`, an error answer -> :class:`UpstreamError`.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Sequence
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import openai

from agent_memory.embeddings.base import normalize
from agent_memory.tokenizer import encoding
from agent_memory.errors import ServiceUnavailable, UpstreamError
from agent_memory.llm import openai_client
from agent_memory.settings import Settings
from agent_memory.observability.metrics import observe_embedding

# Native sizes of OpenAI's own models; anything else comes from settings or one probe call.
KNOWN_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
# Only the text-embedding-3 family accepts a ``dimensions`` argument (shortened vectors);
# many compatible servers reject the argument, so it is never sent to other models.
_SHORTENABLE = ("text-embedding-3-",)
# Characters looked at before counting tokens: tokens average ~4 characters, so 32 per token
# keeps every token of any real text while bounding the work on a pathological one.
_CHARS_PER_TOKEN_BOUND = 32


def clip_tokens(text: str, max_tokens: int) -> str:
    """``text`` cut to its first ``max_tokens`` tokens (cl100k_base, the encoding of OpenAI's
    embedding models); untouched when it is surely shorter (a token is at least one byte)."""
    if len(text) * 4 <= max_tokens or len(text.encode("utf-8")) <= max_tokens:
        return text
    ids = encoding().encode(text[:max_tokens * _CHARS_PER_TOKEN_BOUND], disallowed_special=())
    if len(ids) <= max_tokens and len(text) <= max_tokens * _CHARS_PER_TOKEN_BOUND:
        return text
    return encoding().decode(ids[:max_tokens])


class OpenAIEmbedder:
    """Batched embeddings through ``AsyncOpenAI``.

    Args:
        settings: Endpoint (``openai_api_base``, ``openai_api_key``), model
            (``embedding_model``), size (``embedding_dimensions``), timeout and retries.
        batch_size: Most inputs per request.
        concurrency: Most requests in flight for one :meth:`embed` call.
    """

    def __init__(self, settings: Settings, *, batch_size: int = 512, concurrency: int = 4) -> None:
        self.client = openai_client(settings)
        self.model = settings.embedding_model
        requested = settings.embedding_dimensions
        native = KNOWN_DIMENSIONS.get(self.model)
        self._send_dimensions = (
            requested if requested and self.model.startswith(_SHORTENABLE) and requested != native
            else None
        )
        self.dimensions = requested or native or 0  # 0: unknown until probe_dimensions()
        self.batch_size = batch_size
        self.max_tokens = settings.embedding_max_tokens
        self._gate = asyncio.Semaphore(concurrency)

    @property
    def model_id(self) -> str:
        return f"openai:{self.model}:{self.dimensions}"

    async def probe_dimensions(self) -> int:
        """Learn the vector size from the endpoint once (one tiny request) if still unknown."""
        if not self.dimensions:
            self.dimensions = int((await self._request(["dimension probe"])).shape[1])
        return self.dimensions

    async def _request(self, texts: list[str]) -> npt.NDArray[np.float32]:
        kwargs: dict[str, Any] = {"model": self.model, "input": texts,
                                  "encoding_format": "base64"}
        if self._send_dimensions:
            kwargs["dimensions"] = self._send_dimensions
        async with self._gate:
            try:
                response = await self.client.post("/embeddings", body=kwargs,
                                                  cast_to=httpx.Response)
                body = await response.aread()
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                raise ServiceUnavailable(f"embedding endpoint unreachable: {exc}") from exc
            except openai.APIError as exc:
                raise UpstreamError(f"embedding endpoint error: {exc}") from exc
        rows = _rows(body)
        if len(rows) != len(texts):
            raise UpstreamError(
                f"embedding endpoint returned {len(rows)} vectors for {len(texts)} inputs"
            )
        try:
            matrix = np.vstack(rows) if rows else np.zeros((0, self.dimensions), np.float32)
        except ValueError as exc:  # rows of different sizes
            raise UpstreamError(f"embedding endpoint returned ragged vectors: {exc}") from exc
        if self.dimensions and matrix.shape[1] != self.dimensions:
            raise UpstreamError(
                f"embedding endpoint returned {matrix.shape[1]} dims, expected {self.dimensions}"
            )
        return matrix

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        # Labelled by model name: model_id changes once the size is probed.
        with observe_embedding(f"openai:{self.model}", len(texts)):
            await self.probe_dimensions()
            # Empty strings are rejected by OpenAI; a single space embeds as "nothing".
            items = [t if t.strip() else " " for t in texts]
            # Past the model's input limit the endpoint refuses the whole batch: embed each
            # text's first EMBEDDING_MAX_TOKENS tokens (counted off the event loop).
            if any(len(t) * 4 > self.max_tokens for t in items):
                items = await asyncio.to_thread(
                    lambda: [clip_tokens(t, self.max_tokens) for t in items])
            chunks = [items[i : i + self.batch_size] for i in range(0, len(items), self.batch_size)]
            parts = await asyncio.gather(*(self._request(chunk) for chunk in chunks))
            return normalize(np.vstack(parts))

    async def aclose(self) -> None:
        await self.client.close()


def _vector(value: Any) -> npt.NDArray[np.float32]:
    """One ``embedding`` of a reply: base64 of little-endian float32, or a list of numbers."""
    if isinstance(value, str):
        return np.frombuffer(base64.b64decode(value), dtype="<f4").astype(np.float32)
    return np.asarray(value, dtype=np.float32)


def _rows(body: bytes) -> list[npt.NDArray[np.float32]]:
    """The vectors of an embeddings reply, in input order; a malformed reply is an
    :class:`UpstreamError`."""
    try:
        data = json.loads(body)["data"]
        items = sorted(data, key=lambda item: int(item.get("index", 0)))
        return [_vector(item["embedding"]) for item in items]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UpstreamError(f"embedding endpoint returned an unreadable reply: {exc}") from exc
