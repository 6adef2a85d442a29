"""``/metrics``: request, Redis, task-queue, embedding and model figures in Prometheus format."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from asgi_lifespan import LifespanManager
from docket import Docket, Worker
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from agent_memory.app import create_app
from agent_memory.embeddings import HashingEmbedder
from agent_memory.errors import UpstreamError
from agent_memory.llm import ChatModel
from agent_memory.observability import Metrics, metrics
from agent_memory.settings import Settings
from tests.conftest import make_settings
from tests.support.stub_openai import StubOpenAI

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def _samples(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_requests_are_counted_per_route_template_and_status(
        client: httpx.AsyncClient) -> None:
    """Both slash spellings and every session id share one label; unknown paths share one."""
    await client.get("/v1/health")
    await client.get("/v1/health/")
    await client.get("/v1/working-memory/s-1")
    await client.get("/v1/working-memory/s-2")
    await client.get("/no/such/path/123")
    samples = await _samples(client)
    total = "agent_memory_http_requests_total"
    assert _value(samples, total, method="GET", route="/v1/health", status="200") == 2
    assert _value(samples, total, method="GET", route="/v1/working-memory/{session_id}",
                  status="404") == 2
    assert _value(samples, total, method="GET", route="<unmatched>", status="404") == 1
    bucket = _value(samples, "agent_memory_http_request_duration_seconds_count", method="GET",
                    route="/v1/health", status="200")
    assert bucket == 2
    assert not any("s-1" in str(labels) for _, labels in samples)


async def test_each_app_has_its_own_registry(settings: Settings) -> None:
    """Requests to one app never show up in another app's /metrics (tests build many apps)."""
    first, second = create_app(settings), create_app(settings)
    async with LifespanManager(first) as one, LifespanManager(second) as two:
        t1, t2 = httpx.ASGITransport(app=one.app), httpx.ASGITransport(app=two.app)
        async with httpx.AsyncClient(transport=t1, base_url="http://a") as a, \
                httpx.AsyncClient(transport=t2, base_url="http://b") as b:
            for _ in range(3):
                await a.get("/v1/health")
            count = "agent_memory_http_requests_total"
            assert _value(await _samples(a), count, method="GET", route="/v1/health",
                          status="200") == 3
            assert _value(await _samples(b), count, method="GET", route="/v1/health",
                          status="200") == 0


async def _noop() -> None:
    return None


async def test_task_queue_depth_is_read_from_docket(settings: Settings, redis_url: str,
                                                    client: httpx.AsyncClient) -> None:
    """Tasks due now count as 'ready', future ones as 'scheduled', straight from Redis; both
    drop to 0 once run or cancelled."""
    async with Docket(name=settings.docket_name, url=redis_url) as docket:
        docket.register(_noop)
        await docket.add(_noop, key="now-1")()
        await docket.add(_noop, key="now-2")()
        await docket.add(_noop, when=datetime.now(UTC) + timedelta(hours=1), key="later")()
        samples = await _samples(client)
        assert _value(samples, "agent_memory_task_queue_depth", state="ready") == 2
        assert _value(samples, "agent_memory_task_queue_depth", state="scheduled") == 1
        await docket.cancel("later")
        async with Worker(docket) as worker:
            await worker.run_until_finished()
    drained = await _samples(client)
    assert _value(drained, "agent_memory_task_queue_depth", state="ready") == 0
    assert _value(drained, "agent_memory_task_queue_depth", state="scheduled") == 0


async def test_redis_failures_are_counted(redis_url: str, redis: Redis) -> None:
    """A Redis that stops answering gives a 503 and one more agent_memory_redis_errors_total."""
    app = create_app(make_settings(redis_url, redis_socket_timeout=0.2))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/v1/working-memory/s")).status_code == 404
            await redis.execute_command("CLIENT", "PAUSE", "1500", "ALL")
            failed = await client.get("/v1/working-memory/s")
            assert failed.status_code == 503
            assert failed.json()["error"]["code"] == "storage_unavailable"
            await asyncio.sleep(1.6)  # let the pause end before reading the metrics
            samples = await _samples(client)
    errors = {labels: v for (name, labels), v in samples.items()
              if name == "agent_memory_redis_errors_total"}
    assert sum(errors.values()) >= 1, samples


async def test_task_outcome_hook_records_into_the_bound_metrics() -> None:
    """``task_finished`` counts and times runs; with nothing bound it does nothing."""
    metrics.task_finished("orphan", "success", 0.1)  # no metrics bound: a no-op, no error
    bound = Metrics()
    token = metrics.bind(bound)
    try:
        metrics.task_finished("extract", "success", 0.25)
        metrics.task_finished("extract", "failed", 1.5)
        metrics.task_finished("extract", "success", 0.5)
    finally:
        metrics.unbind(token)
    reg = bound.registry
    assert reg.get_sample_value("agent_memory_task_runs_total",
                                {"task": "extract", "outcome": "success"}) == 2
    assert reg.get_sample_value("agent_memory_task_duration_seconds_sum",
                                {"task": "extract", "outcome": "failed"}) == 1.5
    assert reg.get_sample_value("agent_memory_task_runs_total",
                                {"task": "orphan", "outcome": "success"}) is None


async def test_embedding_calls_are_counted_and_timed() -> None:
    """Each embed() batch counts once, with the number of texts."""
    bound = Metrics()
    token = metrics.bind(bound)
    try:
        embedder = HashingEmbedder(64)
        await embedder.embed(["a", "b", "c"])
        await embedder.embed(["d"])
    finally:
        metrics.unbind(token)
    reg, model = bound.registry, {"model": "hashing-v1-64"}
    assert reg.get_sample_value("agent_memory_embedding_calls_total",
                                {**model, "outcome": "ok"}) == 2
    assert reg.get_sample_value("agent_memory_embedding_texts_total", model) == 4
    assert reg.get_sample_value("agent_memory_embedding_duration_seconds_count", model) == 2


async def test_llm_calls_are_counted_with_their_outcome(redis_url: str,
                                                        stub_openai: StubOpenAI) -> None:
    """Real openai client against the stub: successes and endpoint errors are both counted."""
    settings = make_settings(redis_url, openai_api_base=stub_openai.base_url,
                             openai_api_key="k", llm_max_retries=0)
    model = ChatModel(settings)
    bound = Metrics()
    token = metrics.bind(bound)
    try:
        assert await model.complete([{"role": "user", "content": "hi"}], model="m1") \
            == "stub summary"
        stub_openai.fail_status = 500
        with pytest.raises(UpstreamError):
            await model.complete([{"role": "user", "content": "hi"}], model="m1")
    finally:
        metrics.unbind(token)
        await model.aclose()
    reg = bound.registry
    assert reg.get_sample_value("agent_memory_llm_calls_total",
                                {"model": "m1", "outcome": "ok"}) == 1
    assert reg.get_sample_value("agent_memory_llm_calls_total",
                                {"model": "m1", "outcome": "error"}) == 1
    assert reg.get_sample_value("agent_memory_llm_duration_seconds_count", {"model": "m1"}) == 2


async def test_openai_embedding_calls_are_counted(redis_url: str,
                                                  stub_openai: StubOpenAI) -> None:
    """The OpenAI-compatible embedder (real client, stub endpoint) counts batches and errors."""
    from agent_memory.embeddings.openai import OpenAIEmbedder

    settings = make_settings(redis_url, openai_api_base=stub_openai.base_url,
                             openai_api_key="k", llm_max_retries=0, embedding_model="emb-x")
    embedder = OpenAIEmbedder(settings)
    bound = Metrics()
    token = metrics.bind(bound)
    try:
        assert (await embedder.embed(["a", "b", "c"])).shape[0] == 3
        stub_openai.fail_status = 500
        with pytest.raises(UpstreamError):
            await embedder.embed(["d"])
    finally:
        metrics.unbind(token)
        await embedder.aclose()
    reg, model = bound.registry, {"model": "openai:emb-x"}
    assert reg.get_sample_value("agent_memory_embedding_calls_total",
                                {**model, "outcome": "ok"}) == 1
    assert reg.get_sample_value("agent_memory_embedding_calls_total",
                                {**model, "outcome": "error"}) == 1
    assert reg.get_sample_value("agent_memory_embedding_texts_total", model) == 4
