"""The one Redis connection pool of a process."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from redis.asyncio import Connection, ConnectionPool, Redis
from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import BusyLoadingError, ConnectionError, TimeoutError

from agent_memory.settings import Settings


class _Connection(Connection):
    """A connection whose writes skip ``asyncio.wait_for``.

    With a socket timeout, redis-py wraps every write in ``wait_for``, which on Python 3.11
    runs the write as a new Task: two extra event-loop turns per command, about 5% of a
    search's CPU. A write to a socket with room completes at once; a Redis that stops
    answering is caught by the reply's timeout, which stays (``socket_timeout`` bounds
    every read: replies, connection handshakes and health checks). Only plain TCP URLs get
    this class; ``rediss://`` and ``unix://`` keep redis-py's own.
    """

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        # Connecting (its handshake) and the health check's PING read replies: both run
        # before the timeout is lifted for the write alone.
        if not self.is_connected:
            await self.connect_check_health(check_health=False)  # as the base class does
        elif check_health:
            await self.check_health()
        timeout, self.socket_timeout = self.socket_timeout, None
        try:
            await super().send_packed_command(command, check_health=False)
        finally:
            self.socket_timeout = timeout


def create_redis(settings: Settings) -> Redis:
    """A client on a bounded pool with timeouts and a short retry for blips.

    Responses stay ``bytes`` (RedisVL stores raw float32 vectors); storage classes decode.
    Retries are brief on purpose: during an outage requests fail fast with 503 instead of
    piling up, and the pool reconnects on its own when Redis is back.
    """
    pool = ConnectionPool.from_url(
        settings.effective_redis_url(),
        max_connections=settings.redis_max_connections,
        socket_timeout=settings.redis_socket_timeout,
        socket_connect_timeout=2.0,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.01), retries=2),
        retry_on_error=[ConnectionError, TimeoutError, BusyLoadingError],
        protocol=2,
        connection_class=_Connection,
    )
    return Redis(connection_pool=pool)


async def run_pipeline(redis: Redis, queue: Callable[[Pipeline], None],
                       scripts: Sequence[AsyncScript] = ()) -> list[Any]:
    """Execute the commands ``queue`` adds to a pipeline, in one round trip.

    ``queue`` calls its scripts with ``pipe.evalsha(script.sha, ...)``: redis-py's own way
    (``script(client=pipe)``) sends SCRIPT EXISTS before every pipeline, a second round
    trip. A Redis that lost its script cache (a restart) answers NOSCRIPT: the scripts are
    loaded and the pipeline runs again, so ``queue`` must be safe to run twice.
    """
    for attempt in (1, 2):
        async with redis.pipeline(transaction=False) as pipe:
            queue(pipe)
            try:
                return await pipe.execute()
            except NoScriptError:
                if attempt == 2:
                    raise
                for script in scripts:
                    await redis.script_load(script.script)
    raise AssertionError("unreachable")
