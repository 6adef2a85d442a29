"""Session tools: the clock, working memory (AMS names, plus the atomic append) and
prompt assembly, each a thin adapter over the service the REST route calls."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult
from pydantic import Field

from agent_memory.mcp.runtime import Runtime, reply
from agent_memory.mcp.tools_long_term import FILTER_HELP, Opt, search_request
from agent_memory.models.filters import (
    CreatedAt,
    Entities,
    EventDate,
    LastAccessed,
    MemoryType,
    Namespace,
    SessionId,
    Topics,
    UserId,
)
from agent_memory.models.long_term import SearchMode
from agent_memory.models.prompt import (
    MemoryPromptRequest,
    WorkingMemoryRequest,
)
from agent_memory.models.records import WorkingMemoryRecord
from agent_memory.models.working_memory import (
    AppendMessages,
    AppendQuery,
    GetSessionQuery,
    MemoryMessage,
    MemoryStrategyConfig,
    PutSessionQuery,
    UpdateWorkingMemory,
)

_MESSAGES = "Messages: role ('user', 'assistant', ...) and content; id optional."


def now_utc() -> CallToolResult:
    """The current time: ISO 8601 with ``Z``, and Unix seconds (from an aware clock, so
    right whatever the host's timezone)."""
    now = datetime.now(UTC).replace(microsecond=0)
    return {"iso_utc": now.isoformat().replace("+00:00", "Z"), "unix_ts": int(now.timestamp())}


def register(server: MCPServer, runtime: Runtime) -> None:
    """Add the session and prompt tools to ``server``."""

    @server.tool(structured_output=False, description=(
        "The current date and time in UTC. Call it whenever the user says 'today', "
        "'yesterday', 'last week'... and before writing a date into a memory."))
    async def get_current_datetime() -> CallToolResult:
        return reply(now_utc())

    @server.tool(structured_output=False, description=(
        "Replace a session's working memory: its messages, memories (facts kept with the "
        "session, promoted to long-term memory later), free-form data and summary context. "
        "Replaces everything; to add chat turns use append_messages instead. No expiry "
        "unless ttl_seconds is given."))
    async def set_working_memory(
        session_id: Annotated[str, Field(description="The session (use the real one).")],
        ctx: Context,
        memories: Opt[list[WorkingMemoryRecord] | None, Field(
            description="Structured memories: text, and optionally memory_type, topics, "
            "entities, id.")] = None,
        messages: Opt[list[MemoryMessage] | None, Field(description=_MESSAGES)] = None,
        context: Opt[str | None, Field(description="Summary of earlier conversation.")] = None,
        data: Opt[dict[str, Any] | None, Field(description="Any JSON to keep.")] = None,
        namespace: Opt[str | None, Field(description="Namespace of the session.")] = None,
        user_id: Opt[str | None, Field(description="User of the session.")] = None,
        ttl_seconds: Opt[int | None, Field(
            description="Expire the session after this many seconds (default: never).")] = None,
        long_term_memory_strategy: Opt[MemoryStrategyConfig | None, Field(
            description="How memories are extracted on promotion (discrete, summary, "
            "preferences, custom).")] = None,
    ) -> CallToolResult:
        async with runtime.call(ctx) as call:
            body = UpdateWorkingMemory.model_validate({k: v for k, v in {
                "memories": memories, "messages": messages, "context": context, "data": data,
                "namespace": namespace or call.namespace, "user_id": user_id or call.user_id,
                "ttl_seconds": ttl_seconds,
                "long_term_memory_strategy": long_term_memory_strategy}.items() if v is not None})
            memory, _ = await call.services.working_memory.put(
                call.principal, session_id, body, PutSessionQuery(), None)
            return reply(memory)

    @server.tool(structured_output=False, description=(
        "Read a session's working memory: messages (oldest first), memories, data and "
        "summary context. An unknown session is an error."))
    async def get_working_memory(
        session_id: Annotated[str, Field(description="The session to read.")],
        ctx: Context,
        user_id: Opt[str | None, Field(description="User of the session.")] = None,
        namespace: Opt[str | None, Field(description="Namespace of the session.")] = None,
        recent_messages_limit: Opt[int | None, Field(
            description="Only the newest N messages.")] = None,
    ) -> CallToolResult:
        async with runtime.call(ctx) as call:
            query = GetSessionQuery(namespace=namespace or call.namespace,
                                    user_id=user_id or call.user_id,
                                    recent_messages_limit=recent_messages_limit)
            memory, _ = await call.services.working_memory.get(call.principal, session_id, query)
            return reply(memory)

    @server.tool(structured_output=False, description=(
        "Add chat messages to the end of a session (created if new). Safe when several "
        "writers append at once, and a re-sent message id is stored once. Prefer this to "
        "set_working_memory for recording turns."))
    async def append_messages(
        session_id: Annotated[str, Field(description="The session to add to.")],
        messages: Annotated[list[MemoryMessage], Field(description=_MESSAGES)],
        ctx: Context,
        namespace: Opt[str | None, Field(description="Namespace of the session.")] = None,
        user_id: Opt[str | None, Field(description="User of the session.")] = None,
        ttl_seconds: Opt[int | None, Field(
            description="Expire the session after this many seconds.")] = None,
        recent_messages_limit: Opt[int | None, Field(
            description="Return only the newest N messages.")] = None,
    ) -> CallToolResult:
        async with runtime.call(ctx) as call:
            body = AppendMessages.model_validate({k: v for k, v in {
                "messages": messages, "namespace": namespace or call.namespace,
                "user_id": user_id or call.user_id, "ttl_seconds": ttl_seconds}.items()
                if v is not None})
            query = AppendQuery(recent_messages_limit=recent_messages_limit)
            memory, _ = await call.services.working_memory.append(
                call.principal, session_id, body, query)
            return reply(memory)

    @server.tool(structured_output=False, description=(
        "Build a ready-to-send prompt for the user's query: the session's summary and recent "
        "messages (when session_id is given) plus relevant long-term memories, within a "
        "token budget. Call it at the start of a turn. " + FILTER_HELP))
    async def memory_prompt(
        query: Annotated[str, Field(description="The user's message.")],
        ctx: Context,
        session_id: Opt[SessionId | None, Field(
            description="Session to include, as {\"eq\": \"<id>\"}.")] = None,
        namespace: Opt[Namespace | None, Field(
            description="Namespace of the session and the search.")] = None,
        model_name: Opt[str | None, Field(
            description="Model the prompt is for (sets the token budget).")] = None,
        context_window_max: Opt[int | None, Field(
            description="Token budget, overriding model_name.")] = None,
        topics: Topics | None = None,
        entities: Entities | None = None,
        created_at: CreatedAt | None = None,
        last_accessed: LastAccessed | None = None,
        user_id: Opt[UserId | None, Field(
            description="User of the session and the search.")] = None,
        memory_type: MemoryType | None = None,
        event_date: EventDate | None = None,
        distance_threshold: float | None = None,
        search_mode: Opt[SearchMode | None, Field(
            description="semantic, keyword or hybrid (default: the server's).")] = None,
        limit: Opt[int, Field(description="Long-term memories to consider.")] = 10,
        offset: int = 0,
        optimize_query: bool = False,
        recency_boost: bool | None = None,
        recency_semantic_weight: float | None = None,
        recency_recency_weight: float | None = None,
        recency_freshness_weight: float | None = None,
        recency_novelty_weight: float | None = None,
        recency_half_life_last_access_days: float | None = None,
        recency_half_life_created_days: float | None = None,
        server_side_recency: bool | None = None,
        include_long_term_search: Opt[bool, Field(
            description="False for session messages only.")] = True,
    ) -> CallToolResult:
        async with runtime.call(ctx) as call:
            if namespace is None and call.namespace is not None:
                namespace = Namespace(eq=call.namespace)
            if user_id is None and call.user_id is not None:
                user_id = UserId(eq=call.user_id)
            session = None
            if session_id is not None and session_id.eq:
                session = WorkingMemoryRequest(
                    session_id=session_id.eq, namespace=namespace.eq if namespace else None,
                    user_id=user_id.eq if user_id else None, model_name=model_name,
                    context_window_max=context_window_max)
            search = None
            if include_long_term_search:
                # As AMS: the session filter scopes the session, not the search (#268).
                search = search_request(query, {
                    "search_mode": search_mode, "namespace": namespace, "topics": topics,
                    "entities": entities, "created_at": created_at, "last_accessed": last_accessed,
                    "user_id": user_id, "memory_type": memory_type, "event_date": event_date,
                    "distance_threshold": distance_threshold, "limit": limit, "offset": offset,
                    "recency_boost": recency_boost,
                    "recency_semantic_weight": recency_semantic_weight,
                    "recency_recency_weight": recency_recency_weight,
                    "recency_freshness_weight": recency_freshness_weight,
                    "recency_novelty_weight": recency_novelty_weight,
                    "recency_half_life_last_access_days": recency_half_life_last_access_days,
                    "recency_half_life_created_days": recency_half_life_created_days,
                    "server_side_recency": server_side_recency})
            request = MemoryPromptRequest(query=query, session=session, long_term_search=search)
            return reply(await call.services.prompt.prompt(call.principal, request, optimize_query))
