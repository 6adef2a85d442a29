"""The audit trail in Redis: one append-only stream, trimmed by age only."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from agent_memory.errors import StorageError
from agent_memory.storage.keys import AUDIT_STREAM_KEY
from agent_memory.storage.mux import mux_of

# Fields stored as JSON text (everything else is a plain string).
_JSON_FIELDS = ("ids", "counts", "details")


def _encode(event: Mapping[str, Any]) -> list[Any]:
    flat: list[Any] = []
    for name, value in event.items():
        if value is None:
            continue
        flat += [name, json.dumps(value) if name in _JSON_FIELDS else str(value)]
    return flat


def _decode(entry_id: bytes | str, fields: list[Any]) -> dict[str, Any]:
    eid = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    out: dict[str, Any] = {"id": eid, "at_ms": int(eid.split("-")[0])}
    for i in range(0, len(fields), 2):
        name = fields[i].decode() if isinstance(fields[i], bytes) else fields[i]
        raw = fields[i + 1].decode() if isinstance(fields[i + 1], bytes) else fields[i + 1]
        out[name] = json.loads(raw) if name in _JSON_FIELDS else raw
    return out


class AuditStore:
    """Appends events to the audit stream and reads them back in time order.

    The stream id is the event's time (milliseconds), so a time range is an id range and a
    cursor is the last id seen. Trimming uses ``MINID`` (age), never ``MAXLEN`` (count): a
    burst of events can never push older ones out before their retention ends.
    """

    def __init__(self, redis: Redis, retention_days: float) -> None:
        self.redis = redis
        self.mux = mux_of(redis)
        self.retention_ms = int(retention_days * 86_400_000)

    async def append(self, event: Mapping[str, Any]) -> str:
        """Store one event; returns its id (``<ms>-<seq>``)."""
        min_id = max(0, int(time.time() * 1000) - self.retention_ms)
        try:
            eid = await self.mux.execute("XADD", AUDIT_STREAM_KEY, "MINID", "~", min_id, "*",
                                         *_encode(event))
        except RedisError as exc:
            raise StorageError(f"could not write the audit trail: {exc}") from exc
        return eid.decode() if isinstance(eid, bytes) else str(eid)

    async def read(self, *, after: str | None, since_ms: int | None, until_ms: int | None,
                   count: int) -> list[dict[str, Any]]:
        """Up to ``count`` events in time order, strictly after the cursor ``after``."""
        start = f"({after}" if after else (str(since_ms) if since_ms is not None else "-")
        end = str(until_ms) if until_ms is not None else "+"
        try:
            rows = await self.mux.execute("XRANGE", AUDIT_STREAM_KEY, start, end, "COUNT", count)
        except RedisError as exc:
            raise StorageError(f"could not read the audit trail: {exc}") from exc
        return [_decode(eid, fields) for eid, fields in rows]

    async def trim(self) -> None:
        """Drop events older than the retention (also done on every append)."""
        min_id = max(0, int(time.time() * 1000) - self.retention_ms)
        try:
            await self.mux.execute("XTRIM", AUDIT_STREAM_KEY, "MINID", min_id)
        except RedisError as exc:
            raise StorageError(f"could not trim the audit trail: {exc}") from exc
