"""Summary-view routes (AMS routes 14-20): views, partition runs, full runs as tasks."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from agent_memory.api._http import endpoint, principal_of
from agent_memory.models.common import AckResponse
from agent_memory.models.summary_views import (
    CreateSummaryViewRequest,
    PartitionsQuery,
    RunPartitionRequest,
    RunSummaryViewRequest,
    SummaryView,
    SummaryViewPartitionResult,
)
from agent_memory.models.tasks import Task
from agent_memory.services.summary_views import SummaryViewService

TAGS = ("summary-views",)
ADMIN = {403: "Summary views span tenants: an admin token is needed"}


def _service(request: Request) -> SummaryViewService:
    return request.state.services.summary_views


@endpoint("POST", "/summary-views", summary="Create a summary view",
          body=CreateSummaryViewRequest, response=SummaryView, tags=TAGS,
          extra_responses={400: "Unsupported source", **ADMIN})
async def create_view(request: Request, body: CreateSummaryViewRequest) -> SummaryView:
    """Store a view over long-term memory (``source`` must be ``long_term``, as AMS)."""
    return await _service(request).create(principal_of(request), body)


@endpoint("GET", "/summary-views", summary="List summary views", response=list[SummaryView],
          tags=TAGS, extra_responses=ADMIN)
async def list_views(request: Request) -> list[SummaryView]:
    """Every view, oldest first."""
    return await _service(request).list(principal_of(request))


@endpoint("GET", "/summary-views/{view_id}", summary="Get a summary view", response=SummaryView,
          tags=TAGS, extra_responses={404: "No such view", **ADMIN})
async def get_view(request: Request, view_id: str) -> SummaryView:
    """One view."""
    return await _service(request).get(principal_of(request), view_id)


@endpoint("DELETE", "/summary-views/{view_id}", summary="Delete a summary view",
          response=AckResponse, tags=TAGS, extra_responses=ADMIN)
async def delete_view(request: Request, view_id: str) -> AckResponse:
    """Delete a view and its stored partitions (AMS leaves the partitions behind)."""
    await _service(request).delete(principal_of(request), view_id)
    return AckResponse(status="ok")


@endpoint("POST", "/summary-views/{view_id}/partitions/run", summary="Summarize one partition",
          body=RunPartitionRequest, response=SummaryViewPartitionResult, tags=TAGS,
          extra_responses={400: "group does not match group_by", 404: "No such view", **ADMIN})
async def run_partition(request: Request, view_id: str,
                        body: RunPartitionRequest) -> SummaryViewPartitionResult:
    """Summarize the memories of one group now, store and return the result."""
    return await _service(request).run_partition(principal_of(request), view_id, body.group)


@endpoint("GET", "/summary-views/{view_id}/partitions", summary="List partition results",
          query=PartitionsQuery, response=list[SummaryViewPartitionResult], tags=TAGS,
          extra_responses={404: "No such view", **ADMIN})
async def list_partitions(request: Request, view_id: str,
                          query: PartitionsQuery) -> list[SummaryViewPartitionResult]:
    """Stored partition results, optionally only those with the given group values."""
    return await _service(request).partitions(principal_of(request), view_id, query)


@endpoint("POST", "/summary-views/{view_id}/run", summary="Recompute every partition",
          body=RunSummaryViewRequest, response=Task, tags=TAGS,
          extra_responses={404: "No such view", **ADMIN})
async def run_view(request: Request, view_id: str, body: RunSummaryViewRequest) -> Task:
    """Start a full run as a background task; poll ``GET /v1/tasks/{id}``."""
    return await _service(request).start_run(principal_of(request), view_id, body.task_id)


routes: list[Route] = [create_view, list_views, get_view, delete_view, run_partition,
                       list_partitions, run_view]
