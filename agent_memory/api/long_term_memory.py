"""Long-term memory routes (AMS routes 6-11, plus DELETE by id)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from agent_memory.api._http import ModelResponse, endpoint, path_memory_id, principal_of
from agent_memory.errors import FeatureDisabled
from agent_memory.models.common import AckResponse
from agent_memory.models.long_term import (
    AcceptedCreateResponse,
    CompactQuery,
    CreateMemoryRecordRequest,
    CreateMemoryResponse,
    DeleteMemoriesQuery,
    EditMemoryRecordRequest,
    MemoryRecordResultsResponse,
    SearchQuery,
    SearchRequest,
)
from agent_memory.models.records import MemoryRecord
from agent_memory.models.tasks import TaskAckResponse
from agent_memory.services.long_term import LongTermService

TAGS = ("long-term-memory",)


def _service(request: Request) -> LongTermService:
    services = request.state.services
    if not services.settings.long_term_memory or getattr(services, "long_term", None) is None:
        raise FeatureDisabled("Long-term memory is disabled")
    return services.long_term  # type: ignore[no-any-return]


def _prefers_async(request: Request) -> bool:
    """``Prefer: respond-async`` (RFC 7240) among the request's preferences."""
    prefer = request.headers.get("prefer")
    return prefer is not None and "respond-async" in (
        p.split(";", 1)[0].strip().lower() for p in prefer.split(","))


@endpoint("POST", "/long-term-memory/", summary="Create long-term memories",
          body=CreateMemoryRecordRequest, response=CreateMemoryResponse, tags=TAGS,
          extra_responses={202: "Prefer: respond-async: stored, indexed by task_id"})
async def create_memories(request: Request, body: CreateMemoryRecordRequest
                          ) -> CreateMemoryResponse | ModelResponse:
    """Store memories (deduplicated unless ``deduplicate`` is false); ``ids`` gives, in
    order, the id each memory is stored under (a skipped duplicate reports the original).
    The 200 means every memory is searchable.

    With ``Prefer: respond-async``, or on a server with ``LONG_TERM_CREATE_ASYNC=true``
    (and a task queue), the answer is 202 once the memories and the task that indexes them
    are in Redis, before embedding (as AMS answers every create): ``ids`` as submitted,
    ``task_id`` to poll at ``GET /v1/tasks/{task_id}``; they are searchable when it says
    ``success``.
    """
    service = _service(request)
    services = request.state.services
    background = services.background
    asked = _prefers_async(request)
    if ((asked or services.settings.long_term_create_async)
            and background is not None and background.can_accept_creates):
        task = await background.create_in_background(principal_of(request), body.memories,
                                                     body.deduplicate)
        accepted = AcceptedCreateResponse(
            status=f"ok, accepted: {len(body.memories)} memories queued for indexing as "
                   f"task {task.id}", ids=[m.id for m in body.memories], task_id=task.id)
        return ModelResponse(accepted, status_code=202,
                             headers={"preference-applied": "respond-async"} if asked else None)
    ids = await service.create(principal_of(request), body.memories, body.deduplicate)
    return CreateMemoryResponse(status="ok", ids=ids)


@endpoint("POST", "/long-term-memory/search", summary="Search long-term memories",
          body=SearchRequest, query=SearchQuery, response=MemoryRecordResultsResponse, tags=TAGS,
          extra_responses={400: "distance_threshold outside semantic mode"})
async def search_memories(request: Request, body: SearchRequest,
                          query: SearchQuery) -> MemoryRecordResultsResponse:
    """Semantic, keyword or hybrid search with filters, recency re-rank and a real total."""
    return await _service(request).search(principal_of(request), body, query.optimize_query)


@endpoint("DELETE", "/long-term-memory", summary="Delete long-term memories by id",
          query=DeleteMemoriesQuery, response=AckResponse, tags=TAGS)
async def delete_memories(request: Request, query: DeleteMemoriesQuery) -> AckResponse:
    """Delete the listed memories (repeat ``memory_ids``); unknown ids are ignored."""
    deleted = await _service(request).delete(principal_of(request), query.memory_ids)
    return AckResponse(status=f"ok, deleted {deleted} memories")


@endpoint("POST", "/long-term-memory/compact", summary="Compact long-term memories",
          query=CompactQuery, response=AckResponse, tags=TAGS)
async def compact_memories(request: Request,
                           query: CompactQuery) -> AckResponse | TaskAckResponse:
    """Remove exact duplicates in scope (keeping the oldest); no memory changes id.

    With ``background=true`` the pass runs on a worker and the answer carries ``task_id``.
    """
    background = request.state.services.background
    if query.background and background is not None:
        task = await background.compact_in_background(principal_of(request), query.namespace,
                                                      query.user_id)
        return TaskAckResponse(status=f"ok, compaction scheduled as task {task.id}",
                               task_id=task.id)
    remaining, damaged = await _service(request).compact(principal_of(request), query.namespace,
                                                         query.user_id)
    return AckResponse.compacted(remaining, damaged)


@endpoint("GET", "/long-term-memory/{memory_id}", summary="Get a long-term memory",
          response=MemoryRecord, tags=TAGS, extra_responses={404: "No such memory"})
async def get_memory(request: Request, memory_id: str) -> MemoryRecord:
    """One memory by id."""
    return await _service(request).get(principal_of(request), path_memory_id(memory_id))


@endpoint("PATCH", "/long-term-memory/{memory_id}", summary="Edit a long-term memory",
          body=EditMemoryRecordRequest, response=MemoryRecord, tags=TAGS,
          extra_responses={400: "No fields provided", 404: "No such memory"})
async def edit_memory(request: Request, memory_id: str,
                      body: EditMemoryRecordRequest) -> MemoryRecord:
    """Change the given fields; the text is re-embedded only when it changes."""
    return await _service(request).update(principal_of(request), path_memory_id(memory_id),
                                          body)


@endpoint("DELETE", "/long-term-memory/{memory_id}", summary="Delete one long-term memory",
          response=AckResponse, tags=TAGS, extra_responses={404: "No such memory"})
async def delete_memory(request: Request, memory_id: str) -> AckResponse:
    """Delete one memory by id (our addition to the AMS routes)."""
    service = _service(request)
    principal = principal_of(request)
    memory_id = path_memory_id(memory_id)
    await service.get(principal, memory_id)  # 404 when missing or outside bounds
    deleted = await service.delete(principal, [memory_id])
    return AckResponse(status=f"ok, deleted {deleted} memories")


# Static paths first: "/long-term-memory/search" must not be taken for a memory id.
routes: list[Route] = [create_memories, search_memories, delete_memories, compact_memories,
                       get_memory, edit_memory, delete_memory]
