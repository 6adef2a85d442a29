"""Structured logs: the request id of the current request and one JSON line per request.

The access log is quiet by default (``ACCESS_LOG=false``). When it is on, every request
writes one JSON object on one line to stderr through the ``agent_memory.access`` logger,
whatever the root logger's format or level, so a log shipper can parse it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

ACCESS_LOGGER = "agent_memory.access"
REQUEST_ID_HEADER = "x-request-id"

# A client-sent id is echoed only when it is short and made of safe characters: it ends up
# in headers and log lines, where CR/LF or megabytes of text would do harm.
_SAFE_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")

_request_id: ContextVar[str | None] = ContextVar("agent_memory_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served in this context, if any."""
    return _request_id.get()


def bind_request_id(request_id: str | None) -> Token[str | None]:
    """Make ``request_id`` the current request's id in this context (undo with ``reset``)."""
    return _request_id.set(request_id)


def reset_request_id(token: Token[str | None]) -> None:
    """Undo a :func:`bind_request_id`."""
    _request_id.reset(token)


def accept_request_id(sent: str | None) -> str:
    """The client's ``X-Request-ID`` when it is safe to echo, else a new random id."""
    if sent is not None and _SAFE_ID.fullmatch(sent):
        return sent
    return new_request_id()


def new_request_id() -> str:
    """A random UUID4 as 32 hex digits (``uuid.uuid4().hex``), built without the ``UUID``
    object: a third of the time, on every request."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    return raw.hex()


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (``-`` outside a request) so any format can show it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request id, extra fields.

    Fields passed as ``extra={"fields": {...}}`` are merged into the object.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        else:
            entry["message"] = record.getMessage()
        request_id = getattr(record, "request_id", None) or _request_id.get()
        if request_id and "request_id" not in entry:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is now (not the one at creation: tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # logging must never break a request
            self.handleError(record)


def access_logger(enabled: bool) -> logging.Logger | None:
    """The access logger, set up to write JSON lines to stderr; ``None`` when disabled.

    Idempotent: building many apps in one process adds one handler only.
    """
    if not enabled:
        return None
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(getattr(h, "_agent_memory_access", False) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(JsonFormatter())
        handler._agent_memory_access = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # the root format is for humans; this stream is for machines
    return logger
