"""Task status route (AMS route 21): background work a client asked for."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from agent_memory.api._http import endpoint, principal_of
from agent_memory.errors import NotFound
from agent_memory.models.tasks import Task

TAGS = ("tasks",)


@endpoint("GET", "/tasks/{task_id}", summary="Get a background task's status", response=Task,
          tags=TAGS, extra_responses={404: "No such task (or another tenant's)"})
async def get_task(request: Request, task_id: str) -> Task:
    """``pending``, ``running``, ``success`` or ``failed``, with timestamps and the error.

    Records expire seven days after their last change; a task another tenant started
    answers 404, exactly like an unknown one.
    """
    background = request.state.services.background
    if background is None:
        raise NotFound(f"Task {task_id} not found", details={"task_id": task_id})
    return await background.task(principal_of(request), task_id)


routes: list[Route] = [get_task]
