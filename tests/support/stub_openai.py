"""A small OpenAI-compatible server on loopback, so tests run the real ``openai`` client.

It answers ``POST /v1/chat/completions`` and ``POST /v1/embeddings``. Tests script replies
with ``chat_replies`` (a queue, or a function of the request) and read ``requests`` back.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agent_memory.embedded_redis import free_port

ChatReply = str | Callable[[dict[str, Any]], str]


@dataclass
class StubOpenAI:
    """State of the stub: scripted replies, recorded requests, injectable faults."""

    chat_replies: list[ChatReply] = field(default_factory=list)
    default_reply: ChatReply = "stub summary"
    requests: list[dict[str, Any]] = field(default_factory=list)
    delay_seconds: float = 0.0
    fail_status: int | None = None
    dims: int = 64
    # OpenAI answers base64 when asked; some compatible servers ignore the ask (float lists)
    honour_base64: bool = True
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["_path"] == "chat"]

    async def _chat(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append({"_path": "chat", **body})
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if self.fail_status:
            return JSONResponse({"error": {"message": "stub failure", "type": "server_error"}},
                                status_code=self.fail_status)
        reply = self.chat_replies.pop(0) if self.chat_replies else self.default_reply
        text = reply(body) if callable(reply) else reply
        return JSONResponse({
            "id": "chatcmpl-stub", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "stub"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        })

    async def _embeddings(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append({"_path": "embeddings", **body})
        if self.fail_status:
            return JSONResponse({"error": {"message": "stub failure"}}, status_code=self.fail_status)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        dims = body.get("dimensions") or self.dims
        data = []
        for i, text in enumerate(inputs):
            seed = int.from_bytes(hashlib.sha256(str(text).encode()).digest()[:8], "little")
            vec = np.random.default_rng(seed).standard_normal(dims)
            vec /= np.linalg.norm(vec)
            if body.get("encoding_format") == "base64" and self.honour_base64:
                vector: Any = base64.b64encode(vec.astype("<f4").tobytes()).decode()
            else:
                vector = vec.tolist()
            data.append({"object": "embedding", "index": i, "embedding": vector})
        return JSONResponse({"object": "list", "data": data, "model": body.get("model"),
                             "usage": {"prompt_tokens": 1, "total_tokens": 1}})

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/v1/chat/completions", self._chat, methods=["POST"]),
            Route("/v1/embeddings", self._embeddings, methods=["POST"]),
        ])


class StubServer:
    """Runs a :class:`StubOpenAI` with uvicorn in a thread (its own loop)."""

    def __init__(self, stub: StubOpenAI | None = None) -> None:
        self.stub = stub or StubOpenAI()
        self.stub.port = free_port()
        config = uvicorn.Config(self.stub.app(), host="127.0.0.1", port=self.stub.port,
                                log_level="error", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> StubOpenAI:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("stub OpenAI server did not start")
            time.sleep(0.02)
        return self.stub

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


def reply_json(payload: Any) -> str:
    """A chat reply carrying JSON (extraction prompts ask for a JSON object)."""
    return json.dumps(payload)
