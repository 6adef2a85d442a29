"""Provenance of long-term memories: a list of JSON events per memory."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from agent_memory.errors import StorageError
from agent_memory.storage.keys import provenance_key
from agent_memory.storage.mux import mux_of


class ProvenanceStore:
    """Appends and reads the provenance events of memories; the only code that knows
    their keys."""

    def __init__(self, redis: Redis) -> None:
        self.mux = mux_of(redis)

    async def append(self, memory_id: str, event: Mapping[str, Any]) -> None:
        """Add one event at the end of a memory's history."""
        try:
            await self.mux.execute("RPUSH", provenance_key(memory_id), json.dumps(event))
        except RedisError as exc:
            raise StorageError(f"could not record provenance: {exc}") from exc

    @staticmethod
    def append_commands(events: Iterable[tuple[str, Mapping[str, Any]]]
                        ) -> list[tuple[str, str, str]]:
        """The commands of :meth:`append_many`, to send in another batch (not safe to run
        twice: each appends)."""
        return [("RPUSH", provenance_key(mid), json.dumps(ev)) for mid, ev in events]

    async def append_many(self, events: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        """Add one event to each of several memories in one round trip."""
        commands = self.append_commands(events)
        if not commands:
            return
        try:
            await self.mux.batch(commands)
        except RedisError as exc:
            raise StorageError(f"could not record provenance: {exc}") from exc

    async def history(self, memory_id: str) -> list[dict[str, Any]]:
        """Every event of a memory, oldest first (empty when none was recorded)."""
        try:
            raw = await self.mux.execute("LRANGE", provenance_key(memory_id), 0, -1)
        except RedisError as exc:
            raise StorageError(f"could not read provenance: {exc}") from exc
        return [json.loads(item) for item in raw]

    async def delete(self, memory_ids: Iterable[str]) -> int:
        """Remove the histories of memories that are gone for good (purge, erase)."""
        keys = [provenance_key(mid) for mid in memory_ids]
        if not keys:
            return 0
        try:
            return int(await self.mux.execute("DEL", *keys))
        except RedisError as exc:
            raise StorageError(f"could not delete provenance: {exc}") from exc
