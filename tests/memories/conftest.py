"""Fixtures for the memories door: the app with its Docket and shared clock, real workers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from docket import Docket
from redis.asyncio import Redis

from tests.support.wait import wait_until
from tests.tasks.conftest import Stack, open_stack, task_settings, worker_on

# The scheduled passes every 0.3 s, so a test watches them run on their own.
PERIODIC = {"memories_tier_every_minutes": 0.005, "memories_purge_every_minutes": 0.005,
            "memories_summarize_every_minutes": 0.005}


@pytest.fixture
async def stack(redis_url: str, redis: Redis) -> AsyncIterator[Stack]:
    async with open_stack(task_settings(redis_url, **PERIODIC)) as running:
        yield running


async def run_scheduled_until(docket: Docket, done: Callable[[], Awaitable[bool]],
                              timeout: float = 20) -> None:
    """A real worker that seeds the perpetual tasks itself, run until ``done()`` holds."""
    async with worker_on(docket, automatic=True) as worker:
        running = asyncio.create_task(worker.run_forever())
        try:
            await wait_until(done, timeout=timeout)
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
