"""Ingestion jobs and the users and containers the ingestion doors create."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from agent_memory.api._http import endpoint, principal_of
from agent_memory.errors import NotFound
from agent_memory.models.jobs import (
    JobResponse,
    UserListQuery,
    UserListResponse,
    UserQuery,
    UserResponse,
)
from agent_memory.services.ingestion import IngestionService

TAGS = ("ingestion",)


def _service(request: Request, what: str, ident: str) -> IngestionService:
    service: IngestionService | None = request.state.services.ingestion
    if service is None:
        raise NotFound(f"{what} {ident} not found")
    return service


@endpoint("GET", "/jobs/{job_id}", summary="Get an ingestion job", response=JobResponse,
          tags=TAGS, extra_responses={404: "No such job (or another tenant's)"})
async def get_job(request: Request, job_id: str) -> JobResponse:
    """``queued``, ``running``, ``succeeded`` or ``failed``, with timestamps, what the job
    decided (added, updated, superseded, skipped), the ids it wrote and the error when it
    failed. Jobs expire ``INGESTION_JOB_TTL_DAYS`` after their last change; another
    tenant's job answers 404, like an unknown one."""
    return await _service(request, "Job", job_id).job(principal_of(request), job_id)


@endpoint("GET", "/users/{user_id}", summary="Get a user and its containers", query=UserQuery,
          response=UserResponse, tags=TAGS,
          extra_responses={404: "No such user (or another tenant's)"})
async def get_user(request: Request, user_id: str, query: UserQuery) -> UserResponse:
    """A user created by the ingestion doors, with its containers (oldest first)."""
    return await _service(request, "User", user_id).user(principal_of(request), user_id,
                                                         query.namespace)


@endpoint("GET", "/users", summary="List users", query=UserListQuery,
          response=UserListResponse, tags=TAGS)
async def list_users(request: Request, query: UserListQuery) -> UserListResponse:
    """The namespace's users, oldest first (a user-bound token sees only itself)."""
    return await _service(request, "Users", "").users(principal_of(request), query.namespace,
                                                      query.offset, query.limit)


routes: list[Route] = [get_job, get_user, list_users]
