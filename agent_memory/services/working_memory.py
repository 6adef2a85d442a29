"""Working-memory logic: token budgets, summarization, scoping; no HTTP, no key names."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from agent_memory.errors import Conflict, NotFound
from agent_memory.llm import ChatModel, model_window
from agent_memory.models._types import from_epoch
from agent_memory.models.working_memory import (
    AppendMessages,
    AppendQuery,
    GetSessionQuery,
    ListSessionsQuery,
    MemoryMessage,
    PutSessionQuery,
    SessionListResponse,
    UpdateWorkingMemory,
    WorkingMemoryResponse,
)
from agent_memory.principal import Principal
from agent_memory.services.summarize import plan_fold, summarize
from agent_memory.settings import Settings
from agent_memory.storage.working_memory import (
    NewSession,
    Riders,
    StaleWrite,
    StoredSession,
    WorkingMemoryStore,
)
from agent_memory.tokenizer import count_message_tokens

log = logging.getLogger(__name__)

AfterWrite = Callable[[StoredSession, bool | None], Awaitable[None]]
"""``(session, armed)``: ``armed`` says whether the write set the promotion marker itself
(``None``: it did not try)."""
ArmSeconds = Callable[..., float | None]
"""``(messages, memories=())``: how long a write of these messages (and structured
memories) should set the promotion marker in its own round trip (``None``: not)."""
BeforeFold = Callable[[str | None, str | None, str, list[MemoryMessage]], Awaitable[None]]
"""``(namespace, user_id, session_id, messages)`` about to be folded into the summary."""


@dataclass(frozen=True)
class Window:
    """The token budget a session is measured against."""

    max_tokens: int
    explicit: bool  # the caller named a model or a window (percentages are reported)
    threshold: float

    @property
    def summarize_at(self) -> int:
        """Message tokens above which older messages are folded into the summary."""
        return max(int(self.max_tokens * self.threshold), 1)


class WorkingMemoryService:
    """Sessions as the API sees them.

    Args:
        store: Redis storage of sessions.
        settings: Thresholds and defaults.
        llm: Chat model for summaries; ``None`` uses the extractive summary.
        after_write: Called after every successful write (promotion scheduling).
        before_fold: Called with the messages a summary is about to replace, so promotion
            can keep those it has not extracted yet (summaries never lose a memory).
        arm_seconds: Lets an append set the promotion marker in its own round trip.
    """

    def __init__(self, store: WorkingMemoryStore, settings: Settings, llm: ChatModel | None,
                 after_write: AfterWrite | None = None,
                 before_fold: BeforeFold | None = None,
                 arm_seconds: ArmSeconds | None = None) -> None:
        self.store = store
        self.settings = settings
        self.llm = llm
        self.after_write = after_write
        self.before_fold = before_fold
        self.arm_seconds = arm_seconds
        # Commands a replace sends in its own round trip (promotion's schedule), set by
        # build_services: ``(namespace, user_id, session_id) -> Riders | None``.
        self.riders: Callable[[str | None, str | None, str], Riders | None] | None = None
        # Whether messages give promotion anything to do (set by build_services): lets
        # :meth:`append_turns` skip the marker check for turns already done.
        self.gives_work: Callable[[list[MemoryMessage]], bool] | None = None
        self.audit: Any = None  # AuditTrail, set by build_services: session deletes (issue 16)

    def window(self, model_name: str | None, context_window_max: int | None) -> Window:
        """The client's window, else the named model's, else the default."""
        explicit = model_name is not None or context_window_max is not None
        size = context_window_max or model_window(model_name) or self.settings.default_context_window
        return Window(size, explicit, self.settings.summarization_threshold)

    # -- reads -----------------------------------------------------------------------------

    async def _load(self, principal: Principal, session_id: str, namespace: str | None,
                    user_id: str | None, limit: int | None = None) -> StoredSession | None:
        """The session (its newest ``limit`` messages when given) within the caller's bounds."""
        namespace = principal.scope_namespace(namespace)
        user_id = principal.scope_user(user_id)
        session = await self.store.get(namespace, user_id, session_id, limit)
        if session is None and (namespace is None or user_id is None):
            # AMS clients PUT the scope in the body but GET/DELETE without it: resolve the
            # session when exactly one stored session matches what was given.
            found = await self.store.find_unique(namespace, user_id, session_id)
            if found is not None and principal.allows(*found):
                session = await self.store.get(found[0], found[1], session_id, limit)
        return session

    async def read(self, principal: Principal, session_id: str,
                   query: GetSessionQuery) -> StoredSession:
        """A session as stored (its newest ``recent_messages_limit`` messages when set);
        404 when absent."""
        session = await self._load(principal, session_id, query.namespace, query.user_id,
                                   query.recent_messages_limit)
        if session is None:
            raise NotFound.for_session(session_id)
        return session

    async def get(self, principal: Principal, session_id: str,
                  query: GetSessionQuery) -> tuple[WorkingMemoryResponse, int]:
        """A session sized to the caller's window; 404 when absent."""
        session = await self.read(principal, session_id, query)
        window = self.window(query.model_name, query.context_window_max)
        return self._sized_response(session, window, query.recent_messages_limit), session.version

    async def list_sessions(self, principal: Principal, query: ListSessionsQuery) -> SessionListResponse:
        """Session ids in the caller's scope, most recently updated first."""
        namespace = principal.scope_namespace(query.namespace)
        user_id = principal.scope_user(query.user_id)
        ids, total = await self.store.list_sessions(namespace, user_id, query.offset, query.limit)
        return SessionListResponse(sessions=ids, total=total)

    # -- writes ----------------------------------------------------------------------------

    async def put(self, principal: Principal, session_id: str, body: UpdateWorkingMemory,
                  query: PutSessionQuery, if_match: str | None) -> tuple[WorkingMemoryResponse, int]:
        """Replace a session, summarizing first when it is over its threshold."""
        namespace = principal.scope_namespace(body.namespace or query.namespace)
        user_id = principal.scope_user(body.user_id or query.user_id)
        window = self.window(query.model_name, query.context_window_max)
        sized = [(m, count_message_tokens(m.role, m.content)) for m in body.messages]
        context = body.context
        total = sum(t for _, t in sized)
        if self.settings.enable_working_memory_summarization and total > window.summarize_at:
            fold = plan_fold([t for _, t in sized], int(window.max_tokens * self.settings.summary_keep_ratio))
            if fold:
                if self.before_fold is not None:
                    await self.before_fold(namespace, user_id, session_id,
                                           [m for m, _ in sized[:fold]])
                context = await summarize(context, [m for m, _ in sized[:fold]],
                                          max_tokens=self._summary_budget(window), llm=self.llm,
                                          max_input_chars=self.settings.max_text_chars)
                sized = sized[fold:]
        new = NewSession(session_id, namespace, user_id, sized, body.memories, context,
                         body.data, body.ttl_seconds, body.long_term_memory_strategy)
        arm = (self.arm_seconds([m for m, _ in sized], body.memories)
               if self.arm_seconds is not None else None)
        version = _version_of(if_match)
        # Promotion's schedule rides with the replace (one round trip) unless If-Match could
        # refuse the write; the replace also sets the promotion marker, so a write that
        # carried no schedule schedules only when it armed the marker.
        riders = (self.riders(namespace, user_id, session_id)
                  if arm is not None and version is None and self.riders is not None else None)
        try:
            session, armed = await self.store.replace_and_arm(
                new, if_match=version, arm_seconds=arm, riders=riders)
        except StaleWrite as exc:
            raise Conflict(
                "the session changed since the version named in If-Match",
                details={"current_version": exc.current or None},
            ) from exc
        if self.after_write is not None and riders is None:
            await self.after_write(session, armed if arm is not None else None)
        return self._full_response(session, window), session.version

    async def append(self, principal: Principal, session_id: str, body: AppendMessages,
                     query: AppendQuery) -> tuple[WorkingMemoryResponse, int]:
        """Append messages atomically (ids already stored are skipped), then summarize if
        the session went over its threshold."""
        namespace = principal.scope_namespace(body.namespace or query.namespace)
        user_id = principal.scope_user(body.user_id or query.user_id)
        window = self.window(query.model_name, query.context_window_max)
        sized = [(m, count_message_tokens(m.role, m.content)) for m in body.messages]
        arm = self.arm_seconds(body.messages) if self.arm_seconds is not None else None
        session, added, armed = await self.store.append(
            namespace, user_id, session_id, sized,
            ttl_seconds=body.ttl_seconds, strategy=body.long_term_memory_strategy,
            limit=query.recent_messages_limit, arm_seconds=arm,
        )
        if (self.settings.enable_working_memory_summarization
                and session.message_tokens > window.summarize_at):
            whole = await self.store.get(namespace, user_id, session_id)
            if whole is not None:
                session = await self._summarize_stored(whole, window)
        if self.after_write is not None:
            # Nothing added (a re-sent turn): the marker was not tried; check as a PUT does.
            await self.after_write(session, armed if arm is not None and added else None)
        return self._sized_response(session, window, query.recent_messages_limit), session.version

    async def append_turns(self, namespace: str | None, user_id: str | None, session_id: str,
                           messages: list[tuple[MemoryMessage, int]]) -> int:
        """The ingestion pipeline's append (tenant resolved, tokens counted): what
        :meth:`append` stores and sets off (ids already stored skipped, the summary once
        over the threshold, promotion armed), without rendering a response; returns how
        many messages were added. Promotion hears of it only when these messages give it
        work (:attr:`gives_work`): turns stored already extracted and indexed leave it
        nothing, and each earlier write armed it for its own messages."""
        plain = [m for m, _ in messages]
        arm = self.arm_seconds(plain) if self.arm_seconds is not None else None
        session, added, armed = await self.store.append(namespace, user_id, session_id,
                                                        messages, limit=1, arm_seconds=arm)
        window = self.window(None, None)
        if (self.settings.enable_working_memory_summarization
                and session.message_tokens > window.summarize_at):
            whole = await self.store.get(namespace, user_id, session_id)
            if whole is not None:
                session = await self._summarize_stored(whole, window)
        if self.after_write is not None:
            if arm is not None and added:
                await self.after_write(session, armed)
            elif self.gives_work is None or self.gives_work(plain):
                await self.after_write(session, None)
        return added

    async def _summarize_stored(self, session: StoredSession, window: Window) -> StoredSession:
        fold = plan_fold([m.tokens for m in session.messages],
                         int(window.max_tokens * self.settings.summary_keep_ratio))
        if not fold:
            return session
        folded = session.messages[:fold]
        if self.before_fold is not None:
            await self.before_fold(session.namespace, session.user_id, session.session_id,
                                   [m.message for m in folded])
        context = await summarize(session.context, [m.message for m in folded],
                                  max_tokens=self._summary_budget(window), llm=self.llm,
                                  max_input_chars=self.settings.max_text_chars)
        if not await self.store.fold(session, folded[-1].seq, context):
            log.info("session %s was summarized concurrently; keeping that summary", session.session_id)
        refreshed = await self.store.get(session.namespace, session.user_id, session.session_id)
        return refreshed or session

    def _summary_budget(self, window: Window) -> int:
        return max(int(window.max_tokens * 0.1), 64)

    async def delete(self, principal: Principal, session_id: str, namespace: str | None,
                     user_id: str | None) -> None:
        """Delete a session (idempotent, as in AMS)."""
        session = await self._load(principal, session_id, namespace, user_id)
        if session is not None:
            await self.store.delete(session.namespace, session.user_id, session_id)
            if self.audit is not None:
                await self.audit.record("session.delete", principal=principal,
                                        namespace=session.namespace, user_id=session.user_id,
                                        method="api_delete", ids=[session_id],
                                        counts={"sessions": 1}, outcome="deleted")

    # -- rendering ---------------------------------------------------------------------------

    def _sized_response(self, session: StoredSession, window: Window,
                        recent_messages_limit: int | None) -> WorkingMemoryResponse:
        """The session with its newest ``recent_messages_limit`` messages, the oldest of
        those trimmed (in the response, not the store) until they fit an explicit window;
        ``tokens`` counts the messages returned."""
        messages = session.messages
        if recent_messages_limit is not None:
            messages = messages[-recent_messages_limit:]
        if window.explicit:
            total = sum(m.tokens for m in messages)
            start = 0
            while total > window.max_tokens and start < len(messages) - 1:
                total -= messages[start].tokens
                start += 1
            messages = messages[start:]
        return self._response(session, [m.message for m in messages],
                              sum(m.tokens for m in messages), window)

    def _full_response(self, session: StoredSession, window: Window) -> WorkingMemoryResponse:
        return self._response(session, [m.message for m in session.messages],
                              session.message_tokens, window)

    def _response(self, session: StoredSession, messages: list[MemoryMessage], tokens: int,
                  window: Window) -> WorkingMemoryResponse:
        total_pct = until_pct = None
        if window.explicit:
            total_pct = min(tokens / window.max_tokens * 100, 100.0) if messages else 0.0
            until_pct = min(tokens / window.summarize_at * 100, 100.0) if messages else 0.0
        return WorkingMemoryResponse.model_construct(
            messages=messages,
            memories=session.memories,
            data=session.data,
            context=session.context,
            user_id=session.user_id,
            tokens=tokens,
            session_id=session.session_id,
            namespace=session.namespace,
            long_term_memory_strategy=session.strategy,
            ttl_seconds=session.ttl_seconds,
            last_accessed=from_epoch(session.last_accessed),
            created_at=from_epoch(session.created_at),
            updated_at=from_epoch(session.updated_at),
            context_percentage_total_used=total_pct,
            context_percentage_until_summarization=until_pct,
        )


def _version_of(if_match: str | None) -> str | None:
    """The version an ``If-Match`` header names (``"3"``, ``W/"3"`` or ``*``)."""
    if if_match is None:
        return None
    value = if_match.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"') or None


def etag(version: int) -> str:
    """The ETag header value for a session version."""
    return f'"{version}"'
