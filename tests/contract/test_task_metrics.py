"""Task outcomes: Docket task runs are counted through ``observed_task``; a worker process
can serve its own /metrics."""

from __future__ import annotations

import contextvars
import urllib.request

from docket import Docket, Worker

from agent_memory.embedded_redis import free_port
from agent_memory.observability import Metrics, metrics
from agent_memory.observability.exposition import serve_metrics
from agent_memory.observability.metrics import observed_task
from agent_memory.tasks import task_collection


async def _works(n: int) -> int:
    return n * 2


async def _breaks() -> None:
    raise RuntimeError("boom")


async def test_a_real_worker_records_success_and_failure(redis_url: str, redis: object) -> None:
    """Runs executed by a Docket worker land in the bound metrics, by task and outcome."""
    bound = Metrics()
    token = metrics.bind(bound)
    try:
        async with Docket(name="metrics-test", url=redis_url) as docket:
            works, breaks = observed_task(_works), observed_task(_breaks)
            docket.register(works)
            docket.register(breaks)
            await docket.add("_works")(1)
            await docket.add("_works")(2)
            await docket.add("_breaks")()
            async with Worker(docket) as worker:
                await worker.run_until_finished()
    finally:
        metrics.unbind(token)
    reg = bound.registry
    assert reg.get_sample_value("agent_memory_task_runs_total",
                                {"task": "_works", "outcome": "success"}) == 2
    assert reg.get_sample_value("agent_memory_task_runs_total",
                                {"task": "_breaks", "outcome": "failed"}) == 1
    assert reg.get_sample_value("agent_memory_task_duration_seconds_count",
                                {"task": "_works", "outcome": "success"}) == 2


def test_every_server_task_is_observed_under_its_own_name() -> None:
    """The collection workers register is wrapped, names and signatures intact."""
    for task in task_collection:
        assert hasattr(task, "__wrapped__"), task
        assert task.__name__ == task.__wrapped__.__name__


def test_a_worker_can_serve_its_metrics() -> None:
    """``agent-memory worker --metrics-port``: its registry answers over HTTP."""
    port = free_port()
    context = contextvars.copy_context()  # keep the binding out of the other tests
    served = context.run(serve_metrics, port, "127.0.0.1")
    context.run(metrics.task_finished, "promote_session", "success", 0.5)
    assert served.registry.get_sample_value(
        "agent_memory_task_runs_total", {"task": "promote_session", "outcome": "success"}) == 1
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    assert 'agent_memory_task_runs_total{outcome="success",task="promote_session"} 1.0' in text
    assert metrics.current() is None
