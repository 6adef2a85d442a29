"""Prompt assembly: session summary, recent messages and relevant memories within a budget.

The whole prompt stays within a token budget (the session's ``context_window_max``, else the
model's window, else ``DEFAULT_CONTEXT_WINDOW``). The query is always included; the rest is
filled by priority: the summary, then the most recent messages (newest first, stopping at the
first that does not fit so the conversation has no holes), then memories best first (one that
does not fit is skipped, a smaller later one may still fit). Every message is counted as it is
rendered, ``"{role}: {text}"`` with cl100k_base, the same convention as working memory.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from agent_memory.errors import ClientError, FeatureDisabled, NotFound
from agent_memory.llm import model_window
from agent_memory.models.long_term import (
    MemoryRecordResult,
    MemoryRecordResultsResponse,
    SearchRequest,
)
from agent_memory.models.prompt import (
    MemoryPromptRequest,
    MemoryPromptResponse,
    PromptMessage,
    SystemMessage,
    TextContent,
    WorkingMemoryRequest,
)
from agent_memory.models.working_memory import GetSessionQuery, MemoryMessage
from agent_memory.principal import Principal
from agent_memory.services.working_memory import WorkingMemoryService
from agent_memory.settings import Settings
from agent_memory.tokenizer import count_message_tokens, encoding

SUMMARY_HEADER = "## A summary of the conversation so far:\n"
# AMS's exact text, including the single space after the first newline.
MEMORIES_HEADER = "## Long term memories related to the user's query\n "
NO_MEMORIES = MEMORIES_HEADER + "No relevant long-term memories found."
TRUNCATED = " …"
TRUE_SEARCH_LIMIT = 20  # what AMS asks for with ``long_term_search: true``
# SearchRequest.text's limit: a longer query still makes a prompt, searched by its head.
SEARCH_TEXT_CHARS = 10_000


# (summary, messages oldest first, namespace, user) of the session a prompt reads.
_Session = tuple[str | None, list[MemoryMessage], str | None, str | None]


class MemorySearch(Protocol):
    """The long-term search the prompt calls (``LongTermService.search``)."""

    async def search(self, principal: Principal, request: SearchRequest,
                     optimize_query: bool) -> MemoryRecordResultsResponse: ...


@dataclass
class Assembly:
    """The parts chosen for one prompt, before rendering to wire messages."""

    budget: int
    used: int = 0
    summary: str | None = None
    messages: list[PromptMessage] = field(default_factory=list)  # oldest first
    memories: list[MemoryRecordResult] | None = None
    memory_text: str | None = None
    messages_omitted: int = 0
    memories_omitted: int = 0


def cost(role: str, text: str) -> int:
    """Tokens of one rendered message."""
    return count_message_tokens(role, text)


def wire_role(role: str) -> str:
    """AMS's role mapping: ``user`` stays, every other role becomes ``assistant``."""
    return "user" if role == "user" else "assistant"


@lru_cache(maxsize=65536)
def _line_tokens(line: str) -> int:
    """Tokens of one memory line (cached: a user's memories come back prompt after prompt)."""
    return len(encoding().encode(line, disallowed_special=()))


@lru_cache(maxsize=65536)
def _history_message(role: str, text: str) -> tuple[int, PromptMessage]:
    """A session message as the prompt renders it, with its token cost.

    Cached: every prompt of a session renders the same messages again, and building and
    counting them was most of a long session's prompt CPU. The instances are shared
    between responses and never modified.
    """
    wire = wire_role(role)
    return cost(wire, text), PromptMessage(role=wire, content=TextContent(text=text))  # type: ignore[arg-type]


def memory_block(memories: list[MemoryRecordResult]) -> str:
    """The system text listing memories, byte for byte as AMS renders it."""
    if not memories:
        return NO_MEMORIES
    return MEMORIES_HEADER + "\n".join(f"- {m.text} (ID: {m.id})" for m in memories)


def _fit_summary(context: str, room: int) -> str | None:
    """The summary message text within ``room`` tokens: whole, else its head cut at a token
    boundary and marked, else ``None`` when not even the header fits."""
    whole = SUMMARY_HEADER + context
    if cost("system", whole) <= room:
        return whole
    enc = encoding()
    tokens = enc.encode(context, disallowed_special=())
    lo, hi = 0, len(tokens)  # largest prefix whose rendered message fits
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if cost("system", SUMMARY_HEADER + enc.decode(tokens[:mid]) + TRUNCATED) <= room:
            lo = mid
        else:
            hi = mid - 1
    if lo == 0:
        return None
    return SUMMARY_HEADER + enc.decode(tokens[:lo]) + TRUNCATED


def assemble(query: str, context: str | None, history: list[MemoryMessage],
             hits: list[MemoryRecordResult] | None, budget: int) -> Assembly:
    """Choose what goes into the prompt; the total never exceeds ``budget``.

    Args:
        query: The user's query (always included).
        context: The session summary, if any.
        history: Session messages, oldest first.
        hits: Search results best first; ``None`` when no search was asked for.
        budget: The most tokens the prompt may use.

    Raises:
        ClientError: the query alone is over the budget (400).
    """
    out = Assembly(budget=budget)
    out.used = cost("user", query)
    if out.used > budget:
        raise ClientError(
            f"the query alone is {out.used} tokens, over the prompt budget of {budget}",
            details={"query_tokens": out.used, "token_budget": budget},
        )
    if context:
        out.summary = _fit_summary(context, budget - out.used)
        if out.summary is not None:
            out.used += cost("system", out.summary)
    kept: list[PromptMessage] = []
    for message in reversed(history):
        size, rendered = _history_message(message.role, message.content)
        if out.used + size > budget:
            break
        out.used += size
        kept.append(rendered)
    kept.reverse()
    out.messages = kept
    out.messages_omitted = len(history) - len(kept)
    if hits is not None:
        _fit_memories(out, hits)
    return out


def _fit_memories(out: Assembly, hits: list[MemoryRecordResult]) -> None:
    room = out.budget - out.used
    # Greedy on per-line counts (each line counted once, and cached), then the exact count of the block
    # as rendered. BPE can merge across a line break (")\n" is one token), so the estimate
    # is close but not exact: drop the least relevant line until the exact count fits.
    chosen: list[MemoryRecordResult] = []
    estimate = cost("system", MEMORIES_HEADER)
    for hit in hits:
        line = ("\n" if chosen else "") + f"- {hit.text} (ID: {hit.id})"
        size = _line_tokens(line)
        if estimate + size <= room:
            chosen.append(hit)
            estimate += size
    block_cost = cost("system", memory_block(chosen)) if chosen else 0
    while chosen and block_cost > room:
        chosen.pop()
        block_cost = cost("system", memory_block(chosen)) if chosen else 0
    out.memories_omitted = len(hits) - len(chosen)
    if chosen:
        out.memories, out.memory_text = chosen, memory_block(chosen)
    elif not hits and cost("system", NO_MEMORIES) <= room:
        # Saying "none found" when hits were only cut for space would be untrue.
        out.memory_text, block_cost = NO_MEMORIES, cost("system", NO_MEMORIES)
    out.used += block_cost


def render(query: str, parts: Assembly) -> MemoryPromptResponse:
    """The wire response: summary, messages, memories, then the query."""
    messages: list[SystemMessage | PromptMessage] = []
    if parts.summary is not None:
        messages.append(SystemMessage(content=TextContent(text=parts.summary)))
    messages.extend(parts.messages)
    if parts.memory_text is not None:
        messages.append(SystemMessage(content=TextContent(text=parts.memory_text)))
    messages.append(PromptMessage(role="user", content=TextContent(text=query)))
    # Every part is a model already: no second validation of the list.
    return MemoryPromptResponse.model_construct(
        messages=messages,
        long_term_memories=parts.memories,
        tokens_used=parts.used,
        token_budget=parts.budget,
        messages_omitted=parts.messages_omitted,
        memories_omitted=parts.memories_omitted,
    )


class PromptService:
    """Builds prompts from working memory and long-term search.

    Args:
        working_memory: Reads the session (same scoping and lookup as ``GET``).
        search: Long-term search; ``None`` when long-term memory is not available.
        settings: The default window.
    """

    def __init__(self, working_memory: WorkingMemoryService, search: MemorySearch | None,
                 settings: Settings) -> None:
        self.working_memory = working_memory
        self.search = search
        self.settings = settings

    def budget(self, request: MemoryPromptRequest) -> int:
        """The session's window, else its model's, else the default."""
        session = request.session
        if session is not None and session.context_window_max:
            return session.context_window_max
        if session is not None and (size := model_window(session.model_name)):
            return size
        return self.settings.default_context_window

    async def prompt(self, principal: Principal, request: MemoryPromptRequest,
                     optimize_query: bool) -> MemoryPromptResponse:
        """Assemble the prompt for ``request`` as ``principal``.

        When the session names both its namespace and user, the search scope cannot depend
        on the session lookup, so the two run concurrently.

        Raises:
            ClientError: neither ``session`` nor ``long_term_search`` was given (400).
        """
        session = request.session
        search_wanted = request.long_term_search not in (None, False)
        if session is None and not search_wanted:
            raise ClientError("Either session or long_term_search must be provided")
        if session is None:
            loaded: _Session = (None, [], None, None)
            hits = await self._search(principal, request, None, None, optimize_query)
        elif not search_wanted:
            loaded, hits = await self._session(principal, session), None
        elif session.namespace is not None and session.user_id is not None:
            # return_exceptions: both finish before either error is raised (no task is left
            # running, no exception group to unwrap).
            outcomes = await asyncio.gather(
                self._session(principal, session),
                self._search(principal, request, session.namespace, session.user_id,
                             optimize_query),
                return_exceptions=True,
            )
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
            loaded, hits = outcomes  # type: ignore[assignment]
        else:  # the lookup may resolve the scope the search is then narrowed to
            loaded = await self._session(principal, session)
            hits = await self._search(principal, request, loaded[2], loaded[3], optimize_query)
        context, history = loaded[0], loaded[1]
        parts = assemble(request.query, context, history, hits, self.budget(request))
        return render(request.query, parts)

    async def _session(self, principal: Principal, session: WorkingMemoryRequest) -> _Session:
        """(summary, messages, namespace, user) of the session; empty when it does not exist
        (as AMS), with the scope the lookup resolved."""
        try:
            stored = await self.working_memory.read(
                principal, session.session_id,
                GetSessionQuery(namespace=session.namespace, user_id=session.user_id),
            )
        except NotFound:
            return None, [], session.namespace, session.user_id
        return (stored.context, [m.message for m in stored.messages], stored.namespace,
                stored.user_id)

    async def _search(self, principal: Principal, request: MemoryPromptRequest,
                      namespace: str | None, user_id: str | None,
                      optimize_query: bool) -> list[MemoryRecordResult]:
        search = self._search_request(request, namespace, user_id)
        return (await self._searcher().search(principal, search, optimize_query)).memories

    def _searcher(self) -> MemorySearch:
        if self.search is None or not self.settings.long_term_memory:
            raise FeatureDisabled("Long-term memory is disabled")
        return self.search

    def _search_request(self, request: MemoryPromptRequest, namespace: str | None,
                        user_id: str | None) -> SearchRequest:
        """The search to run: the caller's (text := query) or, for ``true``, one within the
        session's namespace and user that excludes the session itself (as AMS)."""
        session = request.session
        if isinstance(request.long_term_search, SearchRequest):
            data = request.long_term_search.model_dump(exclude_unset=True)
            data["text"] = request.query[:SEARCH_TEXT_CHARS]
            # Fill the session's scope only where the caller set none; the principal's
            # bounds are applied again by the search itself, so nothing is ever widened.
            if data.get("user_id") is None and user_id is not None:
                data["user_id"] = {"eq": user_id}
            if data.get("namespace") is None and namespace is not None:
                data["namespace"] = {"eq": namespace}
            return SearchRequest.model_validate(data)
        scope: dict[str, object] = {"text": request.query[:SEARCH_TEXT_CHARS],
                                    "limit": TRUE_SEARCH_LIMIT}
        if session is not None:
            scope["session_id"] = {"ne": session.session_id}
        if namespace is not None:
            scope["namespace"] = {"eq": namespace}
        if user_id is not None:
            scope["user_id"] = {"eq": user_id}
        return SearchRequest.model_validate(scope)
