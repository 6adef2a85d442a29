"""uvicorn's httptools protocol, with each response sent in one write.

uvicorn writes a response's head when the app starts it and its body when the app sends
it: two system calls and two TCP segments for every small JSON response, and the client
wakes up twice to read them. Here the connection's writes made during one event-loop turn
leave together at the end of it. Everything else is uvicorn's own protocol.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _CoalescingTransport:
    """A transport whose writes are joined and flushed once per event-loop turn; every
    other attribute is the wrapped transport's."""

    __slots__ = ("_transport", "_loop", "_pending")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


# Longest request target (path and query) served; longer gets 414. Deleting 1,000 memories by
# id in one query string (DELETE /v1/long-term-memory) needs about 40 KB.
MAX_URL_BYTES = 64 * 1024


def _error_response(status: int, reason: bytes, code: str, message: str) -> bytes:
    """A complete HTTP/1.1 response in the server's JSON error shape, closing the connection."""
    body = json.dumps({"detail": message,
                       "error": {"code": code, "message": message, "details": None}}).encode()
    return b"".join([b"HTTP/1.1 %d %s\r\n" % (status, reason),
                     b"content-type: application/json\r\n",
                     b"content-length: %d\r\n" % len(body),
                     b"connection: close\r\n\r\n", body])


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """Pass as ``uvicorn.Config(http=...)``.

    Requests the HTTP parser refuses are answered in the JSON error shape (uvicorn's own
    answer is a plain-text 400), and an over-long request target gets 414.
    """

    _url_too_long = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(_CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]

    def on_message_begin(self) -> None:
        self._url_too_long = False
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        if len(self.url) + len(url) > MAX_URL_BYTES:
            self._url_too_long = True
            raise ValueError("request target too long")  # the parser stops: see below
        super().on_url(url)

    def send_400_response(self, msg: str) -> None:
        if self._url_too_long:
            data = _error_response(414, b"URI Too Long", "uri_too_long",
                                   f"the request target is longer than {MAX_URL_BYTES} bytes")
        else:
            data = _error_response(400, b"Bad Request", "bad_request",
                                   "invalid HTTP request")
        self.transport.write(data)
        self.transport.close()


def uvicorn_config(app: Any, host: str, port: int, log_level: str) -> Any:
    """How the API is served (the CLI, and tests that serve it over real HTTP)."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False,
                          loop="uvloop", http=CoalescingHttpToolsProtocol, lifespan="on")
