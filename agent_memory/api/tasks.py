"""Task status route (AMS route 21): background work a client asked for."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from agent_memory.api._http import endpoint, principal_of
from agent_memory.errors import NotFound
from agent_memory.models.tasks import Task, TaskStatus, TaskType

TAGS = ("tasks",)


@endpoint("GET", "/tasks/{task_id}", summary="Get a background task's status", response=Task,
          tags=TAGS, extra_responses={404: "No such task (or another tenant's)"})
async def get_task(request: Request, task_id: str) -> Task:
    """``pending``, ``running``, ``success`` or ``failed``, with timestamps and the error.

    Records expire seven days after their last change; a task another tenant started
    answers 404, exactly like an unknown one. A turn-ingestion job id (``job_id`` of
    ``POST /v1/process`` and ``POST /ingestion/memory``) answers here too, as a task of
    type ``ingestion`` (``GET /v1/jobs/{job_id}`` has its counts and ids).
    """
    services = request.state.services
    principal = principal_of(request)
    if services.background is not None:
        try:
            return await services.background.task(principal, task_id)
        except NotFound:
            if services.ingestion is None:
                raise
    if services.ingestion is None:
        raise NotFound(f"Task {task_id} not found", details={"task_id": task_id})
    try:
        job = await services.ingestion.job(principal, task_id)
    except NotFound:
        raise NotFound(f"Task {task_id} not found", details={"task_id": task_id}) from None
    return Task(id=job.job_id, type=TaskType.ingestion, status=_STATUS[job.status],
                created_at=job.created_at, started_at=job.started_at,
                completed_at=job.finished_at, error_message=job.error)


_STATUS = {"queued": TaskStatus.pending, "running": TaskStatus.running,
           "succeeded": TaskStatus.success, "failed": TaskStatus.failed}


routes: list[Route] = [get_task]
