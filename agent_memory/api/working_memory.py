"""Working-memory routes (AMS routes 2-5) plus the atomic append."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from agent_memory.api._http import ModelResponse, endpoint, principal_of
from agent_memory.models.common import AckResponse
from agent_memory.models.working_memory import (
    AppendMessages,
    AppendQuery,
    DeleteSessionQuery,
    GetSessionQuery,
    ListSessionsQuery,
    PutSessionQuery,
    SessionListResponse,
    UpdateWorkingMemory,
    WorkingMemoryResponse,
)
from agent_memory.services.promotion import promotion_task_id
from agent_memory.services.working_memory import WorkingMemoryService, etag

TAGS = ("working-memory",)


def _write_headers(memory: WorkingMemoryResponse, version: int) -> dict[str, str]:
    # X-Promotion-Task: GET /v1/tasks/{id} reports this session's latest promotion.
    return {"ETag": etag(version),
            "X-Promotion-Task": promotion_task_id(memory.namespace, memory.user_id,
                                                  memory.session_id)}


def _service(request: Request) -> WorkingMemoryService:
    return request.state.services.working_memory


@endpoint("GET", "/working-memory/", summary="List sessions", query=ListSessionsQuery,
          response=SessionListResponse, tags=TAGS)
async def list_sessions(request: Request, query: ListSessionsQuery) -> SessionListResponse:
    """Session ids in scope, most recently updated first, with the real total."""
    return await _service(request).list_sessions(principal_of(request), query)


@endpoint("GET", "/working-memory/{session_id}", summary="Get a session", query=GetSessionQuery,
          response=WorkingMemoryResponse, tags=TAGS, extra_responses={404: "No such session"})
async def get_session(request: Request, session_id: str, query: GetSessionQuery) -> ModelResponse:
    """A session; the ``ETag`` header names its version for ``If-Match``."""
    memory, version = await _service(request).get(principal_of(request), session_id, query)
    return ModelResponse(memory, headers={"ETag": etag(version)})


@endpoint("PUT", "/working-memory/{session_id}", summary="Replace a session",
          body=UpdateWorkingMemory, query=PutSessionQuery, response=WorkingMemoryResponse,
          tags=TAGS, extra_responses={412: "If-Match names an older version"})
async def put_session(request: Request, session_id: str, body: UpdateWorkingMemory,
                      query: PutSessionQuery) -> ModelResponse:
    """Replace messages, memories, data and context; honours ``If-Match``."""
    memory, version = await _service(request).put(
        principal_of(request), session_id, body, query, request.headers.get("if-match")
    )
    return ModelResponse(memory, headers=_write_headers(memory, version))


@endpoint("POST", "/working-memory/{session_id}/messages", summary="Append messages atomically",
          body=AppendMessages, query=AppendQuery, response=WorkingMemoryResponse, tags=TAGS)
async def append_messages(request: Request, session_id: str, body: AppendMessages,
                          query: AppendQuery) -> ModelResponse:
    """Append messages server-side (concurrent writers lose nothing; a re-sent id is a no-op)."""
    memory, version = await _service(request).append(principal_of(request), session_id, body, query)
    return ModelResponse(memory, headers=_write_headers(memory, version))


@endpoint("DELETE", "/working-memory/{session_id}", summary="Delete a session",
          query=DeleteSessionQuery, response=AckResponse, tags=TAGS)
async def delete_session(request: Request, session_id: str, query: DeleteSessionQuery) -> AckResponse:
    """Delete a session; answers ok whether or not it existed (as AMS)."""
    await _service(request).delete(principal_of(request), session_id, query.namespace, query.user_id)
    return AckResponse(status="ok")


routes: list[Route] = [list_sessions, get_session, put_session, append_messages, delete_session]
