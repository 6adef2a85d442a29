"""A minimal asyncio HTTP/1.1 keep-alive client for load generation.

httpx spends more CPU per request than our server does; on a 2-core machine the load
generator would then measure itself. This client only writes a request and reads a
Content-Length body, which is all our JSON API needs.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any


class HttpError(Exception):
    """The connection failed or the response could not be read."""


class Connection:
    """One keep-alive connection to ``host:port``; not safe for concurrent use."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    def prepare(self, method: str, path: str, body: Any = None,
                headers: dict[str, str] | None = None) -> bytes:
        """The bytes of one request, for :meth:`send` (build them before timing starts)."""
        payload = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        lines = [f"{method} {path} HTTP/1.1", f"host: {self.host}", f"content-length: {len(payload)}"]
        if body is not None:
            lines.append("content-type: application/json")
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload

    async def request(self, method: str, path: str, body: Any = None,
                      headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """Send one request; return ``(status, body)``. Reconnects once on a closed socket."""
        return await self.send(self.prepare(method, path, body, headers))

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        """Send one prepared request; return ``(status, body)``. Reconnects once."""
        for attempt in range(2):
            try:
                if self._writer is None:
                    await self._connect()
                assert self._writer is not None and self._reader is not None
                self._writer.write(raw)
                return await self._read_response()
            except (ConnectionError, asyncio.IncompleteReadError, HttpError) as exc:
                await self.close()
                if attempt == 1:
                    raise HttpError(str(exc)) from exc
        raise HttpError("unreachable")

    async def _read_response(self) -> tuple[int, bytes]:
        assert self._reader is not None
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        length = 0
        close = False
        for line in header_lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
            elif name == "transfer-encoding":
                raise HttpError("chunked responses are not supported")
        data = await self._reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, data

    async def close(self) -> None:
        """Close the socket (a later request reconnects)."""
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except (ConnectionError, OSError):
                pass
        self._reader = self._writer = None
