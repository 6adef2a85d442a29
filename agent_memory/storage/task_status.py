"""Task status records in Redis: one JSON string per task, expiring after seven days."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache

from redis.asyncio import Redis
from redis.exceptions import RedisError

from agent_memory.errors import StorageError
from agent_memory.models._types import utcnow
from agent_memory.models.tasks import TaskRecord, TaskStatus, TaskType
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

# A fresh pending record's JSON with markers for what varies; the model writes the rest.
_SLOTS = ("id", "namespace", "user_id", "created_at")
_MARK_TIME = datetime(2000, 1, 1, tzinfo=UTC)


@cache
def _pending_parts(task_type: TaskType) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The model's JSON of a fresh pending record of ``task_type``, split around its
    varying values: ``(text between them, index in _SLOTS of each value in order)``."""
    marks = {f'"\\u0000{name}"': i for i, name in enumerate(_SLOTS[:3])}
    marks['"2000-01-01T00:00:00Z"'] = 3
    text = TaskRecord(id="\x00id", type=task_type, namespace="\x00namespace",
                      user_id="\x00user_id", created_at=_MARK_TIME,
                      status=TaskStatus.pending).model_dump_json()
    found = sorted((text.index(mark), mark, slot) for mark, slot in marks.items())
    parts, at = [], 0
    for start, mark, _ in found:
        parts.append(text[at:start])
        at = start + len(mark)
    parts.append(text[at:])
    return tuple(parts), tuple(slot for _, _, slot in found)


def _json_value(value: str | None) -> str | None:
    """``value`` as the model writes it, or ``None`` when only the model should: text
    other than printable ASCII, where json's escaping differs from the model's (DEL)."""
    if value is None:
        return "null"
    return json.dumps(value) if value.isascii() and value.isprintable() else None


def _set_command(task_id: str, text: str) -> tuple[str, ...]:
    """The raw SET of a record's JSON, with the records' expiry."""
    return ("SET", task_status_key(task_id), text, "EX", str(TASK_STATUS_TTL_SECONDS))


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
        return _set_command(record.id, record.model_dump_json())

    @staticmethod
    def pending_command(task_id: str, task_type: TaskType, namespace: str | None,
                        user_id: str | None, created_at: datetime) -> tuple[str, ...]:
        """:meth:`put_command` of a fresh ``pending`` record (the same bytes), without
        building the model per call."""
        values = [_json_value(task_id), _json_value(namespace), _json_value(user_id)]
        if None in values or created_at.utcoffset() is None or created_at.utcoffset():
            return TaskStatusStore.put_command(TaskRecord(
                id=task_id, type=task_type, namespace=namespace, user_id=user_id,
                created_at=created_at, status=TaskStatus.pending))
        values.append(f'"{created_at.isoformat()[:-6]}Z"')
        parts, slots = _pending_parts(task_type)
        text = parts[0] + "".join(values[slot] + part  # type: ignore[operator]
                                  for slot, part in zip(slots, parts[1:]))
        return _set_command(task_id, text)

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
