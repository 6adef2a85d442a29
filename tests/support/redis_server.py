"""A real Redis 8 with search and JSON for the tests: a container when a Docker engine
answers, otherwise the embedded server from the pip wheels on a free port."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator

from agent_memory.embedded_redis import EmbeddedRedis, temporary_redis


def _docker_engine_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextlib.contextmanager
def real_redis() -> Iterator[tuple[str, EmbeddedRedis | None]]:
    """Yield ``(url, embedded_or_None)``. ``TEST_REDIS_URL`` forces an existing server."""
    if url := os.environ.get("TEST_REDIS_URL"):
        yield url, None
        return
    if _docker_engine_answers():
        from testcontainers.redis import RedisContainer

        with RedisContainer("redis:8") as container:
            host = container.get_container_host_ip()
            port = container.get_exposed_port(6379)
            yield f"redis://{host}:{port}/0", None
        return
    with temporary_redis(supervise=True, prefix="am-test-redis-") as server:
        yield server.url, server
