"""Forgetting route (AMS route 12): ``POST /v1/long-term-memory/forget``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from agent_memory.api._http import endpoint, principal_of
from agent_memory.errors import FeatureDisabled
from agent_memory.models.tasks import ForgetQuery, ForgetRequest, ForgetResponse

TAGS = ("long-term-memory",)


@endpoint("POST", "/long-term-memory/forget", summary="Forget memories by policy",
          body=ForgetRequest, query=ForgetQuery, response=ForgetResponse, tags=TAGS)
async def forget(request: Request, body: ForgetRequest, query: ForgetQuery) -> ForgetResponse:
    """Select memories in the caller's scope by age, inactivity and budget; delete them
    unless ``dry_run`` (default true, as AMS). The pass is exhaustive over the scope;
    pinned memories are never deleted; ``limit`` caps deletions per call. With
    ``background=true`` the pass runs on a worker and ``task_id`` names its status.
    """
    background = request.state.services.background
    if background is None:
        raise FeatureDisabled("Long-term memory is disabled")
    return await background.forget(principal_of(request), body, query)


routes: list[Route] = [forget]
