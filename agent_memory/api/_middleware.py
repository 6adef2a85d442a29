"""Pure ASGI middleware (no BaseHTTPMiddleware: it breaks contextvars)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_memory.errors import Forbidden, MemoryServerError, PayloadTooLarge, RequestTimeout

# How much of an unread request body we discard so that an early answer (413, 401, 422)
# reaches a client that is still uploading. Past this the connection is closed.
MIN_DRAIN_BYTES = 64 * 1024 * 1024


async def send_error(send: Send, error: MemoryServerError, *, close: bool = False,
                     more_body: bool = False) -> None:
    """Send ``error`` as a complete JSON response (the body in one message).

    ``more_body`` leaves the ASGI response open after the body: the client has the whole
    answer (its Content-Length is sent) while the caller still drains the upload.
    """
    body = json.dumps(error.body()).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": more_body})


class BodySizeLimit:
    """Bound request bodies in size and in time.

    - A declared ``Content-Length`` over ``max_bytes`` is answered 413 at once, before any of
      the body is read; a streamed body that grows past it is answered 413 when it does.
    - A body that has not fully arrived ``timeout`` seconds after the request started is
      answered 408 and its connection closed (a client that declares 100 bytes and sends 8
      held a connection forever).
    - A request that declares no body (no ``Transfer-Encoding``, no or a zero
      ``Content-Length``: every GET and DELETE) passes untouched; it has nothing to bound.

    Any response that starts before the request body was read (this 413, a 401 from auth,
    an early validation error) first discards the rest of the body, up to a bound in bytes
    and within the same deadline: a client writes its whole request before it reads the
    answer, and closing on it mid-upload would look like a dropped connection instead of a
    clean 4xx.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float = 30.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.drain_bytes = max(MIN_DRAIN_BYTES, 4 * max_bytes)
        self.timeout = timeout

    def _too_large(self, kind: type[PayloadTooLarge] = PayloadTooLarge) -> PayloadTooLarge:
        # Made when needed: an error object per request was a microsecond of every POST.
        return kind(f"request body is larger than {self.max_bytes} bytes",
                    details={"max_bytes": self.max_bytes})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        chunked = False
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
            elif name == b"transfer-encoding":
                chunked = True
        if not declared and not chunked:
            # No body comes (HTTP/1.1 without Content-Length or Transfer-Encoding, as every
            # GET and DELETE sends): nothing to bound, time or drain.
            await self.app(scope, receive, send)
            return
        body_done = False
        seen = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout

        async def tracking_receive() -> Message:
            nonlocal body_done
            if body_done:
                return await receive()  # after the body: only a disconnect can come
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _SlowBody(f"the request body did not arrive within {self.timeout:g} "
                                "seconds", details={"timeout_seconds": self.timeout}) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def drain() -> bool:
            """Discard the unread body; False when it was too large or too slow to drain."""
            discarded = 0
            try:
                while not body_done:
                    message = await tracking_receive()
                    discarded += len(message.get("body", b""))
                    if discarded > self.drain_bytes:
                        return False
            except _SlowBody:
                return False
            return True

        if declared is not None and declared > self.max_bytes:
            # Answer now (a client waiting on "Expect: 100-continue" never sends the body),
            # then drain what does come so the answer is read cleanly.
            await send_error(send, self._too_large(), close=True, more_body=True)
            await drain()
            await send({"type": "http.response.body", "body": b""})
            return

        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await tracking_receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise self._too_large(_TooLarge)
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
                drained = await drain()
                await send_error(send, self._too_large(), close=not drained)
        except _SlowBody as exc:
            if not started:
                await send_error(send, exc, close=True)


# Raised from ``receive`` inside the app: the app's error handler renders them like any of
# our errors (JSON, with ``Connection: close`` for the timeout); the middleware renders them
# itself when they escape before a response started.
class _TooLarge(PayloadTooLarge):
    pass


class _SlowBody(RequestTimeout):
    pass


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class OriginGuard:
    """Refuse browser cross-origin writes (403 JSON).

    A browser tags every cross-site request with ``Origin``; a page on another site could
    otherwise make a user's browser write to (or delete from) a server on their machine,
    which is open by default (``AUTH_MODE=disabled``). A write carrying an ``Origin`` that is
    neither this server's own (``scheme://Host``) nor in ``allowed`` is refused. Requests
    without ``Origin`` (every non-browser client) and safe methods pass untouched.
    """

    def __init__(self, app: ASGIApp, allowed: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed = frozenset(o.rstrip("/").lower() for o in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            origin = host = None
            for name, value in scope.get("headers", ()):
                if name == b"origin":
                    origin = value.decode("latin-1").strip().rstrip("/").lower()
                elif name == b"host":
                    host = value.decode("latin-1").strip().lower()
            if origin is not None and origin not in self.allowed and (
                    host is None or origin != f"{scope.get('scheme', 'http')}://{host}"):
                await send_error(send, Forbidden(
                    "cross-origin writes are refused; add the origin to CORS_ALLOWED_ORIGINS "
                    "to allow it", details={"origin": origin}))
                return
        await self.app(scope, receive, send)
