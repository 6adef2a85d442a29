"""Exception handlers: every error leaves as JSON in one shape, never as a dropped connection."""

from __future__ import annotations

import logging

from pydantic import ValidationError
from redis.exceptions import BusyLoadingError, RedisError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from agent_memory.api._http import validation_details
from agent_memory.errors import MemoryServerError, StorageError, ValidationFailed
from agent_memory.observability import metrics

log = logging.getLogger(__name__)


def render(exc: MemoryServerError) -> JSONResponse:
    """The response for one of our errors."""
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers())


async def on_server_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MemoryServerError)
    if isinstance(exc, StorageError):
        metrics.redis_error(type(exc.__cause__ or exc).__name__)
    if exc.status_code >= 500:
        log.warning("%s %s -> %s: %s", request.method, request.url.path, exc.status_code, exc)
    return render(exc)


async def on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    return render(ValidationFailed("invalid input", details=validation_details(exc, "body")))


async def on_redis_error(request: Request, exc: Exception) -> Response:
    metrics.redis_error(type(exc).__name__)
    transient = isinstance(exc, RedisConnectionError | RedisTimeoutError | BusyLoadingError)
    if not transient:
        log.error("Redis error on %s %s", request.method, request.url.path, exc_info=exc)
    error = StorageError("Redis is unavailable; retry shortly" if transient else "storage error")
    return JSONResponse(error.body(), status_code=503, headers={"Retry-After": "1"})


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    body = {
        "detail": exc.detail,
        "error": {"code": codes.get(exc.status_code, "http_error"), "message": exc.detail,
                  "details": None},
    }
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    error = MemoryServerError("internal server error")
    return JSONResponse(error.body(), status_code=500)


exception_handlers = {
    MemoryServerError: on_server_error,
    ValidationError: on_validation_error,
    RedisError: on_redis_error,
    HTTPException: on_http_exception,
    Exception: on_unexpected,
}
