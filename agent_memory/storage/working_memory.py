"""Working memory in Redis hashes: one hash per session, listed through a search index."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.commands.search.field import NumericField, TagField
from redis.commands.search.index_definition import IndexDefinition, IndexType
from redis.commands.search.query import Query
from redis.exceptions import NoScriptError, RedisError, ResponseError
from redisvl.utils.token_escaper import TokenEscaper

from agent_memory.models._types import from_epoch
from agent_memory.models.records import WorkingMemoryRecord
from agent_memory.models.working_memory import MemoryMessage, MemoryStrategyConfig
from agent_memory.storage import _wm_scripts as scripts
from agent_memory.storage._wm_codec import (
    StoredMessage,
    _dec,
    _message_json,
    _MessageCache,
    _strategy,
)
from agent_memory.storage.filters import check_tag_value
from agent_memory.storage.keys import (
    LAYOUT_MARKER_KEY,
    WORKING_MEMORY_INDEX,
    WORKING_MEMORY_PREFIX,
    promotion_armed_key,
    working_memory_key,
)
from agent_memory.storage.mux import Script, mux_of

# The tag escape set includes "|": unescaped, a value like "a|b" would become an OR of
# two tenants inside a tag clause. (TokenEscaper's default set leaves "|" alone.)
_escape_tag = TokenEscaper(re.compile(TokenEscaper.TAG_ESCAPED_CHARS)).escape


def _escape(value: str) -> str:
    return _escape_tag(check_tag_value("id", value))


@dataclass
class StoredSession:
    """Everything one session hash holds, decoded."""

    session_id: str
    namespace: str | None
    user_id: str | None
    messages: list[StoredMessage] = field(default_factory=list)
    memories: list[WorkingMemoryRecord] = field(default_factory=list)
    context: str | None = None
    data: dict[str, Any] | None = None
    ttl_seconds: int | None = None
    strategy: MemoryStrategyConfig = field(default_factory=MemoryStrategyConfig)
    created_at: float = 0.0
    updated_at: float = 0.0
    last_accessed: float = 0.0
    version: int = 0
    context_version: int = 0
    message_tokens: int = 0
    complete: bool = True  # False: only the newest messages were read (older ones exist)


@dataclass(frozen=True)
class NewSession:
    """A full replacement of a session (PUT)."""

    session_id: str
    namespace: str | None
    user_id: str | None
    messages: list[tuple[MemoryMessage, int]]  # (message, tokens)
    memories: list[WorkingMemoryRecord]
    context: str | None
    data: dict[str, Any] | None
    ttl_seconds: int | None
    strategy: MemoryStrategyConfig


@dataclass(frozen=True)
class Riders:
    """Commands sent in the same round trip as a replace, after it (another layer's: e.g.
    scheduling promotion). ``done`` gets their replies, error replies as values; a command
    whose script Redis did not know is re-sent once with ``scripts`` loaded, so they must
    be safe to run twice."""

    commands: list[tuple[Any, ...]]
    scripts: list[Script]
    done: Callable[[list[Any]], None]


class StaleWrite(Exception):
    """``If-Match`` named a version that is no longer current."""

    def __init__(self, current: str) -> None:
        super().__init__(current)
        self.current = current


_META = [name.encode() for name in scripts.META]


class WorkingMemoryStore:
    """Reads and writes sessions; the only code that knows their Redis layout."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._messages = _MessageCache()
        self.mux = mux = mux_of(redis)
        self._read = mux.script(scripts.READ)
        self._replace = mux.script(scripts.REPLACE)
        self._append = mux.script(scripts.APPEND)
        self._fold = mux.script(scripts.FOLD)
        self._mark = mux.script(scripts.MARK)
        self._migrate = mux.script(scripts.MIGRATE)

    async def ensure_index(self) -> None:
        """Create the session listing index if it is missing (idempotent)."""
        try:
            await self.redis.ft(WORKING_MEMORY_INDEX).create_index(
                [
                    TagField("session_id"),
                    TagField("namespace"),
                    TagField("user_id"),
                    NumericField("updated_at", sortable=True),
                ],
                definition=IndexDefinition(prefix=[WORKING_MEMORY_PREFIX], index_type=IndexType.HASH),
            )
        except ResponseError as exc:
            if "already exists" not in str(exc).lower():
                raise

    async def migrate_layout(self) -> int:
        """Rewrite sessions stored by the first layout (messages keyed by id) into the
        current one; returns how many were rewritten. Idempotent; a marker key makes
        later starts skip the scan."""
        if await self.redis.get(LAYOUT_MARKER_KEY) == scripts.LAYOUT.encode():
            return 0
        rewritten = 0
        async for key in self.redis.scan_iter(match=f"{WORKING_MEMORY_PREFIX}*", count=1000,
                                              _type="HASH"):
            rewritten += int(await self._migrate(keys=[key]))
        await self.redis.set(LAYOUT_MARKER_KEY, scripts.LAYOUT)
        return rewritten

    async def index_ready(self) -> bool:
        """True when the listing index answers."""
        try:
            await self.redis.ft(WORKING_MEMORY_INDEX).info()
        except ResponseError:
            return False
        return True

    # -- reads -----------------------------------------------------------------------------

    async def get(self, namespace: str | None, user_id: str | None, session_id: str,
                  limit: int | None = None) -> StoredSession | None:
        """One session, or ``None`` when it does not exist (or has expired).

        With ``limit``, only the newest ``limit`` messages are read (``complete`` is then
        False when older ones exist): one round trip whose cost does not grow with the
        session.
        """
        key = working_memory_key(namespace, user_id, session_id)
        if limit is None:
            return self._from_hash(await self.mux.execute("HGETALL", key))
        reply = await self._read(keys=[key], args=[limit])
        return self._decode(reply) if reply else None

    def _from_hash(self, reply: list[bytes]) -> StoredSession | None:
        """A whole session from its HGETALL reply (a flat list of fields and values)."""
        raw = dict(zip(reply[::2], reply[1::2], strict=True))
        if b"version" not in raw:
            return None
        lo, hi = int(raw.get(b"lo", 1)), int(raw.get(b"seq", 0))
        flat: list[bytes | None] = []
        for seq in range(lo, hi + 1):
            flat += (raw.get(b"m:%d" % seq), raw.get(b"x:%d" % seq), raw.get(b"p:%d" % seq))
        records: list[bytes | None] = []
        for n in range(1, int(raw.get(b"rn", 0)) + 1):
            records += (raw.get(b"r:%d" % n), raw.get(b"rp:%d" % n))
        return self._decode([[raw.get(name) for name in _META], lo, flat, records])

    def _decode(self, reply: list[Any]) -> StoredSession:
        """A READ reply (see _wm_scripts.py): meta values, first seq, messages, memories."""
        meta, first, flat, records = reply
        (session_id, namespace, user_id, context, data, ttl, strategy, created_at, updated_at,
         last_accessed, version, cver, _, mtok, lo, _, _) = meta
        session = StoredSession(
            session_id=session_id.decode(),
            namespace=_dec(namespace),
            user_id=_dec(user_id),
            context=_dec(context),
            data=json.loads(data) if data is not None else None,
            ttl_seconds=int(ttl) if ttl is not None else None,
            strategy=_strategy(strategy),
            created_at=float(created_at or 0),
            updated_at=float(updated_at or 0),
            last_accessed=float(last_accessed or 0),
            version=int(version or 0),
            context_version=int(cver or 0),
            message_tokens=int(mtok or 0),
            complete=int(first) <= int(lo or 1),
        )
        decode = self._messages.decode
        seq = int(first)
        messages = session.messages
        for i in range(0, len(flat), 3):
            value = flat[i]
            if value is not None:  # always set between lo and seq; tolerate a gap
                messages.append(decode(seq, value, flat[i + 1], flat[i + 2]))
            seq += 1
        for i in range(0, len(records), 2):
            if records[i] is None:
                continue
            record = WorkingMemoryRecord.model_validate_json(records[i])
            if records[i + 1]:
                record.persisted_at = from_epoch(records[i + 1])
            session.memories.append(record)
        return session

    async def list_sessions(
        self, namespace: str | None, user_id: str | None, offset: int, limit: int
    ) -> tuple[list[str], int]:
        """Session ids, most recently updated first, with the real total."""
        clauses = []
        if namespace is not None:
            clauses.append(f"@namespace:{{{_escape(namespace)}}}")
        if user_id is not None:
            clauses.append(f"@user_id:{{{_escape(user_id)}}}")
        query = (
            Query(" ".join(clauses) or "*")
            .sort_by("updated_at", asc=False)
            .paging(offset, limit)
            .return_fields("session_id")
            .dialect(2)
        )
        result = await self.redis.ft(WORKING_MEMORY_INDEX).search(query)
        ids = [doc.session_id.decode() if isinstance(doc.session_id, bytes) else doc.session_id
               for doc in result.docs]
        return ids, int(result.total)

    async def find_unique(
        self, namespace: str | None, user_id: str | None, session_id: str
    ) -> tuple[str | None, str | None] | None:
        """The (namespace, user) of the one stored session with this id matching the given
        scope parts, if exactly one matches (AMS clients GET without the body's scope)."""
        clauses = [f"@session_id:{{{_escape(session_id)}}}"]
        if namespace is not None:
            clauses.append(f"@namespace:{{{_escape(namespace)}}}")
        if user_id is not None:
            clauses.append(f"@user_id:{{{_escape(user_id)}}}")
        query = Query(" ".join(clauses)).paging(0, 2).return_fields("namespace", "user_id").dialect(2)
        result = await self.redis.ft(WORKING_MEMORY_INDEX).search(query)
        if result.total != 1:
            return None
        doc = result.docs[0]
        ns = getattr(doc, "namespace", None)
        user = getattr(doc, "user_id", None)
        return (
            ns.decode() if isinstance(ns, bytes) else ns,
            user.decode() if isinstance(user, bytes) else user,
        )

    # -- writes ----------------------------------------------------------------------------

    async def replace(self, new: NewSession, *, if_match: str | None = None) -> StoredSession:
        """Replace a session atomically; returns it as stored (no second read).

        Raises:
            StaleWrite: ``if_match`` is set and does not name the current version.
        """
        return (await self.replace_and_arm(new, if_match=if_match))[0]

    async def replace_and_arm(self, new: NewSession, *, if_match: str | None = None,
                              arm_seconds: float | None = None,
                              riders: Riders | None = None) -> tuple[StoredSession, bool]:
        """:meth:`replace`, and in the same script (one round trip) set the session's
        promotion marker (``promotion_armed_key``) for ``arm_seconds`` unless it is set
        already. Returns the session as stored and whether this call set the marker
        (always False without ``arm_seconds``).

        Args:
            riders: Commands sent right behind the replace, in the same round trip (not
                with ``if_match``: they would run even when the replace is refused).

        Raises:
            StaleWrite: ``if_match`` is set and does not name the current version (the
                marker is then left alone).
        """
        if riders is not None and if_match is not None:
            raise ValueError("riders would run even when If-Match refuses the replace")
        now = time.time()
        pairs: list[Any] = ["session_id", new.session_id, "updated_at", now, "last_accessed", now,
                            "created_at", now, "strategy", new.strategy.model_dump_json()]
        if new.namespace is not None:
            pairs += ["namespace", new.namespace]
        if new.user_id is not None:
            pairs += ["user_id", new.user_id]
        if new.context is not None:
            pairs += ["context", new.context]
        if new.data is not None:
            pairs += ["data", json.dumps(new.data, ensure_ascii=False)]
        if new.ttl_seconds is not None:
            pairs += ["ttl", new.ttl_seconds]
        total = 0
        for seq, (msg, tokens) in enumerate(new.messages, start=1):
            pairs += [f"m:{seq}", f"{tokens}\t{msg.id}\t{_message_json(msg)}", f"i:{msg.id}", seq]
            total += tokens
            if msg.discrete_memory_extracted == "t":
                pairs += [f"x:{seq}", "t"]
            if msg.persisted_at is not None:
                pairs += [f"p:{seq}", msg.persisted_at.timestamp()]
        for n, record in enumerate(new.memories, start=1):
            pairs += [f"r:{n}", record.model_dump_json(exclude={"persisted_at"}), f"j:{record.id}", n]
            if record.persisted_at is not None:
                pairs += [f"rp:{n}", record.persisted_at.timestamp()]
        pairs += ["seq", len(new.messages), "mtok", total, "lo", 1, "rn", len(new.memories),
                  "lv", scripts.LAYOUT]
        keys = [working_memory_key(new.namespace, new.user_id, new.session_id),
                promotion_armed_key(new.namespace, new.user_id, new.session_id)]
        ttl = "" if new.ttl_seconds is None else str(new.ttl_seconds)
        arm_ms = "" if arm_seconds is None else max(int(arm_seconds * 1000), 1)
        args = [if_match or "", ttl, arm_ms, *pairs]
        ridden: list[Any] = []
        if riders is None:
            reply = await self._replace(keys=keys, args=args)
        else:
            reply, *ridden = await self.mux.replies([self._replace.command(keys, args),
                                                     *riders.commands])
            if isinstance(reply, NoScriptError):
                reply = await self._replace(keys=keys, args=args)  # loads it, runs it once
                ridden = await self._ride(riders)
            elif isinstance(reply, RedisError):
                raise reply
            elif any(isinstance(r, NoScriptError) for r in ridden):
                ridden = await self._ride(riders)
        version, current, *rest = reply
        if int(version) < 0:
            raise StaleWrite(current.decode() if isinstance(current, bytes) else str(current))
        created, armed = rest
        if riders is not None:
            riders.done(ridden)
        return StoredSession(
            session_id=new.session_id, namespace=new.namespace, user_id=new.user_id,
            messages=[StoredMessage(seq, tokens, msg)
                      for seq, (msg, tokens) in enumerate(new.messages, start=1)],
            memories=list(new.memories), context=new.context, data=new.data,
            ttl_seconds=new.ttl_seconds, strategy=new.strategy,
            created_at=float(created) if created else now, updated_at=now, last_accessed=now,
            version=int(version), message_tokens=total,
        ), armed == 1

    async def _ride(self, riders: Riders) -> list[Any]:
        """Riders once more, their scripts loaded (after a ``NOSCRIPT``)."""
        try:
            return await self.mux.batch(riders.commands, riders.scripts)
        except RedisError as exc:
            return [exc] * len(riders.commands)

    async def append(
        self,
        namespace: str | None,
        user_id: str | None,
        session_id: str,
        messages: list[tuple[MemoryMessage, int]],
        *,
        ttl_seconds: int | None = None,
        strategy: MemoryStrategyConfig | None = None,
        limit: int | None = None,
        arm_seconds: float | None = None,
    ) -> tuple[StoredSession, int, bool]:
        """Append messages atomically, creating the session if needed.

        Args:
            arm_seconds: When given and messages were added, set the session's promotion
                marker (``promotion_armed_key``) for that long unless it is set already.

        Returns:
            The session as stored right after the append, with its newest ``limit``
            messages (all when ``None``), read by the same script (no second round trip);
            how many messages were added (ids already stored are skipped); and whether
            this call set the promotion marker.
        """
        meta: list[Any] = ["session_id", session_id, "strategy",
                           (strategy or MemoryStrategyConfig()).model_dump_json()]
        if namespace is not None:
            meta += ["namespace", namespace]
        if user_id is not None:
            meta += ["user_id", user_id]
        arm_ms = "" if arm_seconds is None else max(int(arm_seconds * 1000), 1)
        args: list[Any] = [time.time(), "" if ttl_seconds is None else ttl_seconds,
                           "" if limit is None else limit, arm_ms, len(meta) // 2, *meta,
                           strategy.model_dump_json() if strategy is not None else ""]
        for msg, tokens in messages:
            args += [
                msg.id,
                tokens,
                _message_json(msg),
                "t" if msg.discrete_memory_extracted == "t" else "",
                msg.persisted_at.timestamp() if msg.persisted_at else "",
            ]
        keys = [working_memory_key(namespace, user_id, session_id),
                promotion_armed_key(namespace, user_id, session_id)]
        added, armed, reply = await self._append(keys=keys, args=args)
        session = self._decode(reply) if limit is not None else self._from_hash(reply)
        assert session is not None  # the script just wrote it
        return session, int(added), bool(armed)

    async def fold(self, session: StoredSession, upto_seq: int, context: str) -> bool:
        """Replace the messages up to ``upto_seq`` (the oldest) by the summary ``context``,
        unless another summary or a replace won since ``session`` was read."""
        key = working_memory_key(session.namespace, session.user_id, session.session_id)
        result = await self._fold(
            keys=[key], args=[session.context_version, context, time.time(), upto_seq]
        )
        return int(result) >= 0

    async def mark(
        self,
        namespace: str | None,
        user_id: str | None,
        session_id: str,
        *,
        extracted_messages: list[str] = (),  # type: ignore[assignment]
        persisted_messages: list[str] = (),  # type: ignore[assignment]
        persisted_memories: list[str] = (),  # type: ignore[assignment]
        persisted_at: float | None = None,
    ) -> int:
        """Set extraction/persistence flags on existing messages and memories only."""
        key = working_memory_key(namespace, user_id, session_id)
        stamp = persisted_at if persisted_at is not None else time.time()
        changed = 0
        for prefix, value, guard, ids in (
            ("x:", "t", "i:", extracted_messages),
            ("p:", stamp, "i:", persisted_messages),
            ("rp:", stamp, "j:", persisted_memories),
        ):
            if ids:
                changed += int(await self._mark(keys=[key], args=[prefix, value, guard, *ids]))
        return changed

    async def delete(self, namespace: str | None, user_id: str | None, session_id: str) -> bool:
        """Delete a session; True when it existed."""
        return bool(await self.mux.execute(
            "DEL", working_memory_key(namespace, user_id, session_id)))
