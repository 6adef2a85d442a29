"""Liveness and readiness."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.routing import Route

from agent_memory.api._http import ModelResponse, endpoint
from agent_memory.models.common import HealthCheckResponse, ReadinessResponse


@endpoint("GET", "/health", summary="Liveness", response=HealthCheckResponse, tags=("health",),
          public=True)
async def health(request: Request) -> HealthCheckResponse:
    """Always answers while the process runs: ``{"now": <ms since epoch>}``."""
    return HealthCheckResponse(now=int(time.time() * 1000))


@endpoint("GET", "/health/ready", summary="Readiness", response=ReadinessResponse,
          tags=("health",), public=True, extra_responses={503: "Redis or an index is down"})
async def ready(request: Request) -> ModelResponse:
    """Whether Redis and every index answer; 503 otherwise."""
    services = request.state.services
    checks = await services.readiness()
    status = 200 if checks.ready else 503
    return ModelResponse(checks, status_code=status)


routes: list[Route] = [health, ready]
