"""Task status records in Redis: one JSON string per task, expiring after seven days."""

from __future__ import annotations

import json

from redis.asyncio import Redis
from redis.exceptions import RedisError

from agent_memory.errors import StorageError
from agent_memory.models._types import utcnow
from agent_memory.models.tasks import TaskRecord, TaskStatus
from agent_memory.storage.keys import TASK_STATUS_TTL_SECONDS, task_status_key

# Moves a stored record forward only: pending → running → success|failed, never back, so a
# redelivered attempt cannot turn a finished task into "running" again. KEYS[1] record;
# ARGV: new status, field to stamp, stamp, error, result json, ttl. The result stays a JSON
# string inside the record: cjson would turn an empty list into an object.
_ADVANCE = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local doc = cjson.decode(raw)
local rank = {pending = 0, running = 1, success = 2, failed = 2}
if rank[ARGV[1]] <= rank[doc['status']] and not (ARGV[1] == 'running' and doc['status'] == 'running') then
  return 0
end
doc['status'] = ARGV[1]
doc[ARGV[2]] = ARGV[3]
if ARGV[4] ~= '' then doc['error_message'] = ARGV[4] end
if ARGV[5] ~= '' then doc['result'] = ARGV[5] end
redis.call('SET', KEYS[1], cjson.encode(doc), 'EX', tonumber(ARGV[6]))
return 1
"""


class TaskStatusStore:
    """Creates and advances task records; the only code that knows their keys."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._advance = redis.register_script(_ADVANCE)

    async def create(self, record: TaskRecord) -> None:
        """Store a new record (``pending``); an existing record with the id is kept."""
        try:
            await self.redis.set(task_status_key(record.id), record.model_dump_json(),
                                 ex=TASK_STATUS_TTL_SECONDS, nx=True)
        except RedisError as exc:
            raise StorageError(f"could not store task {record.id}: {exc}") from exc

    async def put(self, record: TaskRecord) -> None:
        """Store a record, replacing any with the same id (for records that track the
        latest run of recurring work, such as a session's promotion)."""
        try:
            await self.redis.set(task_status_key(record.id), record.model_dump_json(),
                                 ex=TASK_STATUS_TTL_SECONDS)
        except RedisError as exc:
            raise StorageError(f"could not store task {record.id}: {exc}") from exc

    @staticmethod
    def put_command(record: TaskRecord) -> tuple[str, ...]:
        """:meth:`put` as one raw command, to ride in a batch of the caller's (``Mux.batch``)."""
        return ("SET", task_status_key(record.id), record.model_dump_json(), "EX",
                str(TASK_STATUS_TTL_SECONDS))

    async def get(self, task_id: str) -> TaskRecord | None:
        """The stored record, or ``None`` when unknown or expired."""
        try:
            raw = await self.redis.get(task_status_key(task_id))
        except RedisError as exc:
            raise StorageError(f"could not read task {task_id}: {exc}") from exc
        return None if raw is None else TaskRecord.model_validate_json(raw)

    async def advance(self, task_id: str, status: TaskStatus, *, error: str | None = None,
                      result: dict[str, object] | None = None) -> bool:
        """Move a task forward (never backward); True when the record changed."""
        stamp_field = "started_at" if status is TaskStatus.running else "completed_at"
        args = [status.value, stamp_field, utcnow().isoformat(), (error or "")[:2000],
                json.dumps(result) if result is not None else "", TASK_STATUS_TTL_SECONDS]
        try:
            return bool(await self._advance(keys=[task_status_key(task_id)], args=args))
        except RedisError as exc:
            raise StorageError(f"could not update task {task_id}: {exc}") from exc
