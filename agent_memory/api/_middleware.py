"""Pure ASGI middleware (no BaseHTTPMiddleware: it breaks contextvars)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_memory.errors import PayloadTooLarge

# How much of an unread request body we discard so that an early answer (413, 401, 422)
# reaches a client that is still uploading. Past this the connection is closed.
MIN_DRAIN_BYTES = 64 * 1024 * 1024


class BodySizeLimit:
    """Answer 413 (JSON) to bodies over ``max_bytes``, declared or streamed, without keeping
    more than the limit in memory.

    Any response that starts before the request body was read (this 413, a 401 from auth,
    an early validation error) first discards the rest of the body, up to a bound: a client
    writes its whole request before it reads the answer, and closing on it mid-upload would
    look like a dropped connection instead of a clean 4xx.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.drain_bytes = max(MIN_DRAIN_BYTES, 4 * max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_done = False
        seen = 0

        async def tracking_receive() -> Message:
            nonlocal body_done
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def drain() -> bool:
            """Discard the unread body; False when it was too large to drain."""
            discarded = 0
            while not body_done:
                message = await tracking_receive()
                discarded += len(message.get("body", b""))
                if discarded > self.drain_bytes:
                    return False
            return True

        async def reject() -> None:
            drained = await drain()
            error = PayloadTooLarge(f"request body is larger than {self.max_bytes} bytes",
                                    details={"max_bytes": self.max_bytes})
            body = json.dumps(error.body()).encode()
            headers = [(b"content-type", b"application/json"),
                       (b"content-length", str(len(body)).encode())]
            if not drained:
                headers.append((b"connection", b"close"))
            await send({"type": "http.response.start", "status": 413, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await reject()
                    return

        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await tracking_receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def draining_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if not body_done and not await drain():
                    message = {**message, "headers": [*message.get("headers", []),
                                                      (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, limited_receive, draining_send)
        except _TooLarge:
            if not started:
                await reject()


class _TooLarge(Exception):
    pass
