"""``POST /v1/users/{user_id}/erase``: erase a person, as a task (issue 16)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from agent_memory.api._http import endpoint, parse_body, principal_of
from agent_memory.errors import FeatureDisabled
from agent_memory.models.forgetting import (
    EraseStatusResponse,
    EraseUserRequest,
    EraseUserResponse,
)
from agent_memory.services.erase import EraseService

TAGS = ("erase",)


def _erase(request: Request) -> EraseService:
    erase = request.state.services.erase
    if erase is None:  # pragma: no cover - build_services always wires it
        raise FeatureDisabled("Erase is not wired")
    return erase  # type: ignore[no-any-return]


@endpoint("POST", "/users/{user_id}/erase", summary="Erase everything about a user",
          response=EraseUserResponse, status_code=202, tags=TAGS,
          extra_responses={403: "Outside the caller's bounds", 422: "Invalid body"})
async def erase_user(request: Request, user_id: str) -> EraseUserResponse:
    """Remove, at once and with no grace period, the user's working memories, long-term
    memories (and their trash, provenance and session neighbours' context), and every
    store registered for erase; then Redis rewrites its append-only file. Optional JSON
    body: ``{"namespace": ..., "reason": ...}`` (an admin may omit the namespace: every
    namespace). Answers 202 with a task id; ``GET /v1/users/{user_id}/erase/{task_id}``
    gives the counts removed per store."""
    body = EraseUserRequest()
    if (await request.body()).strip():
        body = await parse_body(request, EraseUserRequest)  # type: ignore[assignment]
    record = await _erase(request).request(principal_of(request), user_id, body)
    return EraseUserResponse(task_id=record.id, status=record.status.value, user_id=user_id,
                             namespace=record.namespace)


@endpoint("GET", "/users/{user_id}/erase/{task_id}", summary="An erase task's outcome",
          response=EraseStatusResponse, tags=TAGS, extra_responses={404: "No such task"})
async def erase_status(request: Request, user_id: str, task_id: str) -> EraseStatusResponse:
    """The erase task's status and, once done, what it removed per store."""
    return await _erase(request).status(principal_of(request), user_id, task_id)


routes: list[Route] = [erase_user, erase_status]
