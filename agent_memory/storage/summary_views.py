"""Summary views in Redis: one hash of view configs, one hash of partition results per view.

AMS keeps one string per view plus one string per partition found by ``SCAN`` and left
behind when the view is deleted; here listing is one ``HGETALL`` and deleting a view removes
its partitions in the same transaction.
"""

from __future__ import annotations

import json

from redis.asyncio import Redis
from redis.exceptions import RedisError

from agent_memory.errors import StorageError
from agent_memory.models.summary_views import SummaryView, SummaryViewPartitionResult
from agent_memory.storage.keys import SUMMARY_VIEWS_KEY, summary_partitions_key


def partition_key(group: dict[str, str]) -> str:
    """A stable field name for one partition: its sorted ``[key, value]`` pairs as JSON."""
    return json.dumps(sorted(group.items()), ensure_ascii=False, separators=(",", ":"))


class SummaryViewStore:
    """Reads and writes views and their partition results."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def save(self, view: SummaryView) -> None:
        """Store (or overwrite) a view's configuration."""
        try:
            await self.redis.hset(SUMMARY_VIEWS_KEY, view.id, view.model_dump_json())
        except RedisError as exc:
            raise StorageError(f"could not store summary view {view.id}: {exc}") from exc

    async def get(self, view_id: str) -> SummaryView | None:
        """One view, or ``None``."""
        try:
            raw = await self.redis.hget(SUMMARY_VIEWS_KEY, view_id)
        except RedisError as exc:
            raise StorageError(f"could not read summary view {view_id}: {exc}") from exc
        return None if raw is None else SummaryView.model_validate_json(raw)

    async def list(self) -> list[SummaryView]:
        """Every view, in id order (ULIDs: creation order)."""
        try:
            raw = await self.redis.hgetall(SUMMARY_VIEWS_KEY)
        except RedisError as exc:
            raise StorageError(f"could not list summary views: {exc}") from exc
        views = [SummaryView.model_validate_json(value) for value in raw.values()]
        return sorted(views, key=lambda v: v.id)

    async def delete(self, view_id: str) -> bool:
        """Remove a view and all its partition results; True when the view existed."""
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hdel(SUMMARY_VIEWS_KEY, view_id)
                pipe.delete(summary_partitions_key(view_id))
                removed, _ = await pipe.execute()
        except RedisError as exc:
            raise StorageError(f"could not delete summary view {view_id}: {exc}") from exc
        return bool(removed)

    async def save_partition(self, result: SummaryViewPartitionResult) -> None:
        """Store one partition's result (replacing the previous one)."""
        try:
            await self.redis.hset(summary_partitions_key(result.view_id),
                                  partition_key(result.group), result.model_dump_json())
        except RedisError as exc:
            raise StorageError(f"could not store a partition of {result.view_id}: {exc}") from exc

    async def partitions(self, view_id: str) -> list[SummaryViewPartitionResult]:
        """Every stored partition result of a view, in partition-key order."""
        try:
            raw = await self.redis.hgetall(summary_partitions_key(view_id))
        except RedisError as exc:
            raise StorageError(f"could not list partitions of {view_id}: {exc}") from exc
        return [SummaryViewPartitionResult.model_validate_json(raw[key]) for key in sorted(raw)]

    async def erase_user(self, namespace: str | None, user_id: str) -> dict[str, int]:
        """Erase (issue 16): drop every partition result that may summarize this user's
        memories: those grouped by this user, and those not grouped by user at all within
        the namespace (they are recomputed without the erased memories on the next run).
        Partitions of other users stay."""
        removed = 0
        try:
            for view in await self.list():
                key = summary_partitions_key(view.id)
                doomed = []
                for field, raw in (await self.redis.hgetall(key)).items():
                    group = SummaryViewPartitionResult.model_validate_json(raw).group
                    if "user_id" in group and group["user_id"] != user_id:
                        continue
                    if namespace is not None and group.get("namespace", namespace) != namespace:
                        continue
                    doomed.append(field)
                if doomed:
                    removed += int(await self.redis.hdel(key, *doomed))
        except RedisError as exc:
            raise StorageError(f"could not erase summary partitions: {exc}") from exc
        return {"partitions": removed}
