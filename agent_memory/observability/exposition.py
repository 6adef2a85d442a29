"""``GET /metrics``: the app's registry in Prometheus text format.

The task queue depth is read from Redis at scrape time (Docket's stream holds tasks due now,
its sorted set the ones scheduled for later), so it is right whichever process enqueued or
ran them. Key names come from Docket itself, not from copies of its naming scheme.
"""

from __future__ import annotations

import functools
import logging

from docket import Docket
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest, start_http_server
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from agent_memory.observability.metrics import Metrics, bind

METRICS_PATH = "/metrics"

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=8)
def docket_keys(name: str) -> tuple[str, str]:
    """``(stream key, scheduled queue key)`` of the Docket called ``name``."""
    # An unopened Docket makes no connection; it only knows its key names.
    docket = Docket(name=name, url="redis://127.0.0.1:1/0")
    return docket.stream_key, docket.queue_key


async def refresh_queue_depth(metrics: Metrics, redis: Redis, docket_name: str) -> None:
    """Set ``agent_memory_task_queue_depth`` from Redis (left unchanged if Redis is down)."""
    stream, queue = docket_keys(docket_name)
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.xlen(stream)
            pipe.zcard(queue)
            ready, scheduled = await pipe.execute()
    except RedisError as exc:
        metrics.redis_errors.labels(type(exc).__name__).inc()
        log.warning("metrics: cannot read the task queue depth: %s", exc)
        return
    metrics.task_queue_depth.labels("ready").set(ready)
    metrics.task_queue_depth.labels("scheduled").set(scheduled)


async def metrics_endpoint(request: Request) -> Response:
    """The current values of every metric of this app."""
    metrics: Metrics = request.app.state.metrics
    services = getattr(request.state, "services", None)
    if services is not None:
        await refresh_queue_depth(metrics, services.redis, services.settings.docket_name)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def serve_metrics(port: int, host: str = "127.0.0.1") -> Metrics:
    """Serve a new :class:`Metrics` on ``http://host:port/metrics`` (a background thread) and
    bind it in this context: for a worker process, which has no app to serve /metrics.

    Call it before ``asyncio.run`` so the worker's tasks inherit the binding.
    """
    metrics = Metrics()
    start_http_server(port, addr=host, registry=metrics.registry)
    bind(metrics)
    return metrics


def metrics_routes() -> list[BaseRoute]:
    """The ``/metrics`` route, mounted at the application root."""
    return [Route(METRICS_PATH, metrics_endpoint, methods=["GET"], include_in_schema=False)]
