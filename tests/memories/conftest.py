"""Fixtures for the memories door: the app with its Docket and shared clock, real workers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tests.tasks.conftest import Stack, open_stack, task_settings


@pytest.fixture
async def stack(redis_url: str, redis: Redis) -> AsyncIterator[Stack]:
    async with open_stack(task_settings(redis_url)) as running:
        yield running
