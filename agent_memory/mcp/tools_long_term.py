"""Long-term memory tools (AMS names and parameters), each a thin adapter over
``LongTermService`` -- the same calls, models and checks as the REST routes."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult
from pydantic import Field

from agent_memory.errors import ValidationFailed
from agent_memory.mcp.runtime import Runtime, reply
from agent_memory.models.common import AckResponse
from agent_memory.models.filters import (
    CreatedAt,
    Entities,
    EventDate,
    ExtractionStrategy,
    LastAccessed,
    MemoryType,
    Namespace,
    SessionId,
    Topics,
    UserId,
)
from agent_memory.models.long_term import (
    CompactQuery,
    CreateMemoryRecordRequest,
    CreateMemoryResponse,
    DeleteMemoriesQuery,
    EditMemoryRecordRequest,
    ExtractedMemoryRecord,
    SearchMode,
    SearchRequest,
)
from agent_memory.models.records import MemoryTypeEnum

Opt = Annotated  # readability: ``Opt[T | None, Field(description=...)] = None``

FILTER_HELP = ("Filters are objects: tags take one of eq, ne, any, all, startswith "
               "(e.g. {\"eq\": \"work\"}); dates take gt, gte, lt, lte, eq, ne, between "
               "with ISO 8601 values (e.g. {\"gte\": \"2025-01-01T00:00:00Z\"}).")


def search_request(text: str | None, args: dict[str, Any]) -> SearchRequest:
    """A ``SearchRequest`` from a tool's flat arguments (``None`` means "not given"), with
    the same validation as the REST body."""
    fields = {k: v for k, v in args.items() if v is not None}
    return SearchRequest.model_validate({"text": text, **fields})


def register(server: MCPServer, runtime: Runtime) -> None:
    """Add the long-term memory tools to ``server``."""

    @server.tool(structured_output=False, description=(
        "Save facts worth remembering across conversations (preferences, decisions, events). "
        "Write each memory as one self-contained sentence: replace pronouns with names and "
        "relative dates with absolute ones (call get_current_datetime first). Use "
        "memory_type 'semantic' for lasting facts, 'episodic' for events (set event_date). "
        "Returns the id each memory was stored under; a duplicate reports the existing id."))
    async def create_long_term_memories(
        memories: Annotated[list[ExtractedMemoryRecord], Field(
            description="Memories: text (required), and optionally id, memory_type, topics, "
            "entities, namespace, user_id, session_id, event_date, pinned.")],
        ctx: Context,
    ) -> CallToolResult:
        async with runtime.call(ctx) as call:
            records = [m if m.namespace or not call.namespace else
                       m.model_copy(update={"namespace": call.namespace}) for m in memories]
            records = [m if m.user_id or not call.user_id else
                       m.model_copy(update={"user_id": call.user_id}) for m in records]
            body = CreateMemoryRecordRequest(memories=records)
            ids = await call.long_term.create(call.principal, body.memories, body.deduplicate)
            return reply(CreateMemoryResponse(status="ok", ids=ids))

    @server.tool(structured_output=False, description=(
        "Search long-term memory before answering anything about the user, their history or "
        "preferences. text is the query (empty to list what is stored). " + FILTER_HELP +
        " Never invent a session_id filter. Results come best first with a real total; "
        "page with offset."))
    async def search_long_term_memory(
        ctx: Context,
        text: Opt[str | None, Field(description="What to look for; '' lists memories.")] = None,
        search_mode: Opt[SearchMode | None, Field(
            description="semantic, keyword or hybrid (default: the server's).")] = None,
        session_id: Opt[SessionId | None, Field(description="Filter on session id.")] = None,
        namespace: Opt[Namespace | None, Field(description="Filter on namespace.")] = None,
        topics: Opt[Topics | None, Field(description="Filter on topics.")] = None,
        entities: Opt[Entities | None, Field(description="Filter on entities.")] = None,
        created_at: Opt[CreatedAt | None, Field(description="Filter on creation time.")] = None,
        last_accessed: Opt[LastAccessed | None, Field(
            description="Filter on last access time.")] = None,
        user_id: Opt[UserId | None, Field(description="Filter on user id.")] = None,
        memory_type: Opt[MemoryType | None, Field(
            description="Filter on semantic, episodic or message.")] = None,
        extraction_strategy: Opt[ExtractionStrategy | None, Field(
            description="Filter on the strategy that extracted the memory.")] = None,
        event_date: Opt[EventDate | None, Field(description="Filter on event date.")] = None,
        distance_threshold: Opt[float | None, Field(
            description="Semantic mode only: keep hits at most this far (0-2).")] = None,
        limit: Opt[int, Field(description="Results per page (1-100).")] = 10,
        offset: Opt[int, Field(description="Results to skip.")] = 0,
        optimize_query: Opt[bool, Field(
            description="Rewrite the query with the model first (semantic mode).")] = False,
        recency_boost: Opt[bool | None, Field(
            description="Re-rank by recency as well as relevance.")] = None,
        recency_semantic_weight: Opt[float | None, Field(
            description="Recency re-rank: weight of relevance (0.8).")] = None,
        recency_recency_weight: Opt[float | None, Field(
            description="Recency re-rank: weight of recency (0.2).")] = None,
        recency_freshness_weight: Opt[float | None, Field(
            description="Recency: share of last access in recency (0.6).")] = None,
        recency_novelty_weight: Opt[float | None, Field(
            description="Recency: share of creation time in recency (0.4).")] = None,
        recency_half_life_last_access_days: Opt[float | None, Field(
            description="Days for last-access recency to halve (7).")] = None,
        recency_half_life_created_days: Opt[float | None, Field(
            description="Days for creation recency to halve (30).")] = None,
        server_side_recency: Opt[bool | None, Field(
            description="Accepted for AMS clients; same ranking.")] = None,
    ) -> CallToolResult:
        async with runtime.call(ctx) as call:
            if namespace is None and call.namespace is not None:
                namespace = Namespace(eq=call.namespace)
            if user_id is None and call.user_id is not None:
                user_id = UserId(eq=call.user_id)
            request = search_request(text, {
                "search_mode": search_mode, "session_id": session_id, "namespace": namespace,
                "topics": topics, "entities": entities, "created_at": created_at,
                "last_accessed": last_accessed, "user_id": user_id, "memory_type": memory_type,
                "extraction_strategy": extraction_strategy, "event_date": event_date,
                "distance_threshold": distance_threshold, "limit": limit, "offset": offset,
                "recency_boost": recency_boost, "recency_semantic_weight": recency_semantic_weight,
                "recency_recency_weight": recency_recency_weight,
                "recency_freshness_weight": recency_freshness_weight,
                "recency_novelty_weight": recency_novelty_weight,
                "recency_half_life_last_access_days": recency_half_life_last_access_days,
                "recency_half_life_created_days": recency_half_life_created_days,
                "server_side_recency": server_side_recency})
            return reply(await call.long_term.search(call.principal, request, optimize_query))

    @server.tool(structured_output=False,
                 description="Read one long-term memory by its id (from a search or create).")
    async def get_long_term_memory(
        memory_id: Annotated[str, Field(description="The memory's id.")], ctx: Context,
    ) -> CallToolResult:
        async with runtime.call(ctx) as call:
            return reply(await call.long_term.get(call.principal, memory_id))

    @server.tool(structured_output=False, description=(
        "Correct or update a stored memory when the user gives new information. Only the "
        "arguments you pass change. For an event, set event_date (ISO 8601) and put the "
        "absolute date in text too."))
    async def edit_long_term_memory(
        memory_id: Annotated[str, Field(description="The memory to change.")],
        ctx: Context,
        text: Opt[str | None, Field(description="New text.")] = None,
        topics: Opt[list[str] | None, Field(description="New topics (replace).")] = None,
        entities: Opt[list[str] | None, Field(description="New entities (replace).")] = None,
        memory_type: Opt[MemoryTypeEnum | None, Field(
            description="semantic, episodic or message.")] = None,
        namespace: Opt[str | None, Field(description="Move to this namespace.")] = None,
        user_id: Opt[str | None, Field(description="Move to this user.")] = None,
        session_id: Opt[str | None, Field(description="Set the originating session.")] = None,
        event_date: Opt[str | None, Field(
            description="When the event happened, ISO 8601 (e.g. 2025-01-15T14:30:00Z).")] = None,
        pinned: Opt[bool | None, Field(
            description="Pinned memories are never forgotten automatically.")] = None,
    ) -> CallToolResult:
        async with runtime.call(ctx) as call:
            edit = EditMemoryRecordRequest.model_validate({k: v for k, v in {
                "text": text, "topics": topics, "entities": entities, "memory_type": memory_type,
                "namespace": namespace, "user_id": user_id, "session_id": session_id,
                "event_date": event_date, "pinned": pinned}.items() if v is not None})
            return reply(await call.long_term.update(call.principal, memory_id, edit))

    @server.tool(structured_output=False, description=(
        "Delete long-term memories by id: they leave every search at once and are purged "
        "after the grace period. When the user asks you to forget something, prefer "
        "forget_memories, which records why. Unknown ids are ignored; the answer says how "
        "many were deleted."))
    async def delete_long_term_memories(
        memory_ids: Annotated[list[str], Field(description="Ids to delete (at most 1000).")],
        ctx: Context,
    ) -> CallToolResult:
        async with runtime.call(ctx) as call:
            query = DeleteMemoriesQuery(memory_ids=memory_ids)
            deleted = await call.long_term.delete(call.principal, query.memory_ids)
            return reply(AckResponse(status=f"ok, deleted {deleted} memories"))

    @server.tool(structured_output=False, description=(
        "Remove exact duplicate memories (keeping the oldest) in a namespace and user. "
        "Rarely needed: the server also compacts on a schedule."))
    async def compact_long_term_memories(
        ctx: Context,
        namespace: Opt[str | None, Field(description="Namespace to compact.")] = None,
        user_id: Opt[str | None, Field(description="User to compact.")] = None,
        session_id: Opt[str | None, Field(
            description="Not supported: compaction runs per namespace and user.")] = None,
    ) -> CallToolResult:
        async with runtime.call(ctx) as call:
            if session_id is not None:
                raise ValidationFailed("session_id is not supported: compaction runs per "
                                       "namespace and user", details=[{
                                           "type": "unsupported", "loc": ["arguments",
                                                                          "session_id"],
                                           "msg": "leave session_id out"}])
            query = CompactQuery(namespace=namespace or call.namespace, user_id=user_id)
            remaining, damaged = await call.long_term.compact(call.principal, query.namespace,
                                                              query.user_id)
            return reply(AckResponse.compacted(remaining, damaged))
