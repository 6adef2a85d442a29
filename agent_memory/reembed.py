"""``agent-memory reembed``: re-embed every long-term memory with the configured embedder.

Run it after changing the embedding model or dimension (the server refuses to start on an
index built by another model and names this command). It reads every record id with an
aggregate cursor, embeds the texts in batches, rewrites the vectors, and finally records the
new model id and dimension in the index metadata. When the dimension changes, the index
definition is dropped first (never the records), the vectors are rewritten, and the index
is created again at the new size; RediSearch then re-indexes the records in the background.

Stop the API while it runs: searches in between would mix two vector spaces.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from agent_memory.embeddings import open_embedder
from agent_memory.progress import Progress as SharedProgress
from agent_memory.settings import Settings
from agent_memory.storage import ltm_index
from agent_memory.storage.long_term import LongTermStore
from agent_memory.storage.redis import create_redis


class Progress(SharedProgress):
    """The shared progress line (:mod:`agent_memory.progress`), labelled for re-embedding."""

    def __init__(self, total: int, *, label: str = "re-embedding", **kwargs: Any) -> None:
        super().__init__(total, label=label, **kwargs)


@dataclass(frozen=True)
class ReembedReport:
    """What one run did."""

    memories: int
    model_id: str
    dimensions: int
    previous_model_id: str | None
    previous_dimensions: int | None
    seconds: float


async def reembed(settings: Settings, *, batch_size: int = 256,
                  stream: TextIO | None = None) -> ReembedReport:
    """Re-embed every long-term memory with ``settings``' embedder; see the module docs."""
    start = time.monotonic()
    redis = create_redis(settings)
    embedder = await open_embedder(settings)
    try:
        name = settings.redisvl_index_name
        meta = await ltm_index.read_meta(redis, name)
        old_dims = meta.dimensions if meta and meta.dimensions else embedder.dimensions
        old = LongTermStore(redis, settings, old_dims)
        # Open (and migrate, if the schema is older) the index as it is, whatever model built it.
        await old.ensure_index(embedder.model_id, check_model=False)
        ids: list[str] = []
        async for chunk in old.iter_ids(None, 1000):
            ids.extend(chunk)
        new = LongTermStore(redis, settings, embedder.dimensions)
        resized = old_dims != embedder.dimensions
        if resized:
            # Vectors of the new size would fail to index under the old definition.
            await old.index.delete(drop=False)
        progress = Progress(len(ids), stream=stream)
        for i in range(0, len(ids), batch_size):
            # Expired rows too: unindexed they would escape the purge, which finds rows by index.
            records = [r for r in await new.get_many(ids[i : i + batch_size], live=False)
                       if r is not None]
            if records:
                vectors = await embedder.embed([r.text for r in records])
                await new.write_vectors([r.id for r in records], vectors)
            progress.update(min(batch_size, len(ids) - i))
        progress.close()
        if resized:
            await new.index.create(overwrite=False)
        await ltm_index.write_meta(redis, name, embedder.model_id, embedder.dimensions)
        return ReembedReport(len(ids), embedder.model_id, embedder.dimensions,
                             meta.model_id if meta else None, meta.dimensions if meta else None,
                             time.monotonic() - start)
    finally:
        await embedder.aclose()
        await redis.aclose()


def register(sub: Any) -> None:
    """Add ``reembed`` to the top-level sub-parsers."""
    cmd = sub.add_parser(
        "reembed", help="re-embed every long-term memory with the configured embedder",
        description="Re-embed every long-term memory with the configured embedder and record "
        "the new model and dimension in the index. Stop the API first.")
    cmd.add_argument("--batch-size", type=int, default=256, help="texts per embedding call")
    cmd.set_defaults(func=_run)


@contextlib.contextmanager
def _live(settings: Settings) -> Iterator[Settings]:
    """The configured Redis, or the embedded one (started for the command if not running)."""
    if not settings.embedded_redis or _answers(settings.effective_redis_url()):
        yield settings.model_copy(update={"redis_url": settings.effective_redis_url()})
        return
    from agent_memory.cli import _redis_for

    with _redis_for(settings) as live:
        yield live


def _answers(url: str) -> bool:
    from redis import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except RedisError:
        return False
    finally:
        client.close()


def _run(args: argparse.Namespace, settings: Settings) -> None:
    with _live(settings) as live:
        report = asyncio.run(reembed(live, batch_size=args.batch_size))
    before = (f"{report.previous_model_id} ({report.previous_dimensions} dims)"
              if report.previous_model_id else "nothing recorded")
    print(f"re-embedded {report.memories} memories in {report.seconds:.1f} s: "
          f"{before} -> {report.model_id} ({report.dimensions} dims)")
