"""The process's Redis clients: redis-py for libraries and cold paths, and its mux.

Storage classes send their commands through :func:`agent_memory.storage.mux.mux_of` of
this client (one shared, pipelined connection). The redis-py pool serves what needs
redis-py itself: RedisVL index management, FT.AGGREGATE cursors, key scans and health
checks (Docket keeps a client of its own).
"""

from __future__ import annotations

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import BusyLoadingError, ConnectionError, TimeoutError

from agent_memory.settings import Settings
from agent_memory.storage.mux import mux_of


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
    )
    return Redis(connection_pool=pool)


async def close_redis(redis: Redis) -> None:
    """Close a client made by :func:`create_redis` and its mux."""
    await mux_of(redis).aclose()
    await redis.aclose()
