"""Prometheus metrics: one :class:`Metrics` (own ``CollectorRegistry``) per app or worker.

Code far from the HTTP layer (the model client, embedders, Docket tasks) records through the
module-level helpers below. They write into the :class:`Metrics` bound to the current context:
the request middleware binds the app's for each request, and a worker binds its own with
:func:`bind` before it starts serving tasks (tasks inherit the context). With nothing bound
the helpers do nothing, so library code and unit tests need no setup. A context variable,
not a process global, because tests build many apps in one process and each keeps its own
registry.

Example (a Docket task, from the tasks engineer)::

    from agent_memory.observability import metrics

    started = time.perf_counter()
    ...
    metrics.task_finished("extract_memories", "success", time.perf_counter() - started)
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar, Token
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Request latencies on a loopback server are mostly 1-50 ms; model calls take seconds.
_HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_CALL_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_TASK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900)


class Metrics:
    """Every metric the server exposes, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_requests = Counter(
            "agent_memory_http_requests", "HTTP requests by route template and status.",
            ("method", "route", "status"), registry=r)
        self.http_duration = Histogram(
            "agent_memory_http_request_duration_seconds",
            "Time from the request's arrival to the last byte of its response.",
            ("method", "route", "status"), buckets=_HTTP_BUCKETS, registry=r)
        self.http_in_flight = Gauge(
            "agent_memory_http_requests_in_flight", "Requests being served now.", registry=r)
        self.redis_errors = Counter(
            "agent_memory_redis_errors", "Redis failures seen while serving, by exception type.",
            ("kind",), registry=r)
        self.task_queue_depth = Gauge(
            "agent_memory_task_queue_depth",
            "Docket tasks waiting: 'ready' (stream, due now) and 'scheduled' (due later).",
            ("state",), registry=r)
        self.task_runs = Counter(
            "agent_memory_task_runs", "Background task runs by task name and outcome.",
            ("task", "outcome"), registry=r)
        self.task_duration = Histogram(
            "agent_memory_task_duration_seconds", "Background task run time.",
            ("task", "outcome"), buckets=_TASK_BUCKETS, registry=r)
        self.embedding_calls = Counter(
            "agent_memory_embedding_calls", "Embedding batches by model and outcome.",
            ("model", "outcome"), registry=r)
        self.embedding_texts = Counter(
            "agent_memory_embedding_texts", "Texts embedded, by model.", ("model",), registry=r)
        self.embedding_duration = Histogram(
            "agent_memory_embedding_duration_seconds", "Time per embedding batch.",
            ("model",), buckets=_CALL_BUCKETS, registry=r)
        self.llm_calls = Counter(
            "agent_memory_llm_calls", "Chat-model calls by model and outcome.",
            ("model", "outcome"), registry=r)
        self.llm_duration = Histogram(
            "agent_memory_llm_duration_seconds", "Time per chat-model call (with retries).",
            ("model",), buckets=_CALL_BUCKETS, registry=r)
        # Route labels are templates (bounded), so this stays small.
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one finished HTTP request."""
        key = (method, route, status)
        children = self._request_children.get(key)
        if children is None:  # labels() validates and locks: once per label set, not per request
            labels = (method, route, str(status))
            children = self._request_children[key] = (
                self.http_requests.labels(*labels), self.http_duration.labels(*labels))
        children[0].inc()
        children[1].observe(seconds)


TaskFunction = TypeVar("TaskFunction", bound=Callable[..., Awaitable[Any]])

_current: ContextVar[Metrics | None] = ContextVar("agent_memory_metrics", default=None)


def bind(metrics: Metrics | None) -> Token[Metrics | None]:
    """Make ``metrics`` the target of the helpers in this context (and tasks it creates)."""
    return _current.set(metrics)


def unbind(token: Token[Metrics | None]) -> None:
    """Undo a :func:`bind`."""
    _current.reset(token)


def current() -> Metrics | None:
    """The metrics bound to this context, if any."""
    return _current.get()


def redis_error(kind: str) -> None:
    """Count a Redis failure (``kind``: the exception class name)."""
    metrics = _current.get()
    if metrics is not None:
        metrics.redis_errors.labels(kind).inc()


def task_finished(name: str, outcome: str, seconds: float) -> None:
    """Record one background task run.

    Args:
        name: The task function's name.
        outcome: ``success``, ``failed``, ``retried`` or ``cancelled``.
        seconds: Wall time of the run.
    """
    metrics = _current.get()
    if metrics is not None:
        metrics.task_runs.labels(name, outcome).inc()
        metrics.task_duration.labels(name, outcome).observe(seconds)


def observed_task(function: TaskFunction) -> TaskFunction:
    """``function`` wrapped so each run records :func:`task_finished` (Docket task outcomes).

    Outcomes: ``success``, ``failed`` (it raised; Docket may retry it, and each attempt
    counts), ``cancelled``. ``functools.wraps`` keeps the name Docket registers it under and
    the signature its dependency injection reads.
    """
    name = function.__name__

    @functools.wraps(function)
    async def run(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            result = await function(*args, **kwargs)
        except asyncio.CancelledError:
            task_finished(name, "cancelled", time.perf_counter() - started)
            raise
        except Exception:
            task_finished(name, "failed", time.perf_counter() - started)
            raise
        task_finished(name, "success", time.perf_counter() - started)
        return result

    return run  # type: ignore[return-value]


def _outcome(exc: BaseException) -> str:
    name = type(exc).__name__.lower()
    return "timeout" if "timeout" in name else "error"


@contextlib.contextmanager
def _timed_call(record: Callable[[Metrics, str, float], None]) -> Iterator[None]:
    """Time the block and hand ``(metrics, outcome, seconds)`` to ``record``; an exception
    counts as ``error`` (or ``timeout``) and is re-raised. No-op without bound metrics."""
    metrics = _current.get()
    if metrics is None:
        yield
        return
    started = time.perf_counter()
    outcome = "ok"
    try:
        yield
    except BaseException as exc:
        outcome = _outcome(exc)
        raise
    finally:
        record(metrics, outcome, time.perf_counter() - started)


def observe_llm_call(model: str) -> contextlib.AbstractContextManager[None]:
    """Time one chat-model call; an exception counts as ``error`` (or ``timeout``)."""
    def record(metrics: Metrics, outcome: str, seconds: float) -> None:
        metrics.llm_calls.labels(model, outcome).inc()
        metrics.llm_duration.labels(model).observe(seconds)
    return _timed_call(record)


def observe_embedding(model: str, texts: int) -> contextlib.AbstractContextManager[None]:
    """Time one embedding batch of ``texts`` texts."""
    def record(metrics: Metrics, outcome: str, seconds: float) -> None:
        metrics.embedding_calls.labels(model, outcome).inc()
        metrics.embedding_texts.labels(model).inc(texts)
        metrics.embedding_duration.labels(model).observe(seconds)
    return _timed_call(record)
