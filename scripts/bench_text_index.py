"""Replay a 1M store's tenant candidate searches against the text index and a twin of it.

Takes a database that ``scripts/load_million.py`` filled, captures the full-text candidate
searches of ``--queries`` tenant searches in the default mode (namespace ``ns3``, user
``user3``, the in-process service, as the API runs them), then replays each command
``--reps`` times from one client over ``--rounds`` rounds and prints the median time per
search, with its ``LIMIT 0 0`` twin (finding the matches without returning them), on the
text index the service uses. With ``--twin v6`` it first builds two more text indexes over
the same hashes, both by scan so that they differ only in their definition: the current one
and schema 6's (text fields not SORTABLE); replays the same commands against them too,
checks the two give identical replies, and drops them afterwards (``--keep`` leaves them).
An index built by scan can be faster than one built as the data arrived (docs/benchmarks.md,
session 12), which is why the twins are compared with each other.

    .venv/bin/python scripts/bench_text_index.py --redis-url redis://127.0.0.1:6919/0 --twin v6
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis import Redis as SyncRedis  # noqa: E402
from redis.asyncio import Redis  # noqa: E402
from redisvl.index import SearchIndex  # noqa: E402
from redisvl.schema import IndexSchema  # noqa: E402

from agent_memory.embeddings import HashingEmbedder  # noqa: E402
from agent_memory.models.long_term import SearchRequest  # noqa: E402
from agent_memory.principal import LOCAL_ADMIN  # noqa: E402
from agent_memory.services.long_term import LongTermService  # noqa: E402
from agent_memory.settings import Settings  # noqa: E402
from agent_memory.storage.long_term import LongTermStore  # noqa: E402
from agent_memory.storage.ltm_schema import text_schema_dict  # noqa: E402
from scripts.load_million import WORDS  # noqa: E402

TWIN_NOW, TWIN_V6 = "bench_text_index_now", "bench_text_index_v6"


async def capture(url: str, n: int) -> tuple[str, str, list[list[Any]]]:
    """The candidate-search commands of ``n`` tenant searches, the text index and prefix."""
    redis = Redis.from_url(url)
    settings = Settings(redis_url=url, embedding_provider="hashing")
    embedder = HashingEmbedder(384)
    store = LongTermStore(redis, settings, 384)
    await store.ensure_index(embedder.model_id)
    service = LongTermService(store, embedder, settings)
    seen: list[list[Any]] = []
    batch, execute = store.mux.batch, store.mux.execute

    async def recording_batch(commands: Any, *args: Any, **kwargs: Any) -> Any:
        seen.extend(list(c) for c in commands)
        return await batch(commands, *args, **kwargs)

    async def recording_execute(*args: Any) -> Any:
        seen.append(list(args))
        return await execute(*args)

    rng = random.Random(5)
    requests = [SearchRequest.model_validate({
        "text": " ".join(rng.sample(WORDS, 4)), "namespace": {"eq": "ns3"},
        "user_id": {"eq": "user3"}}) for _ in range(n + 3)]
    for request in requests[:3]:  # the scope's sizes and word counts learnt first
        await service.search(LOCAL_ADMIN, request)
    store.mux.batch, store.mux.execute = recording_batch, recording_execute  # type: ignore
    for request in requests[3:]:
        await service.search(LOCAL_ADMIN, request)
    await redis.aclose()
    candidates = [c for c in seen if c and c[0] == "FT.SEARCH" and "SCORER" in c]
    return store.text_index_name, store.prefix, candidates


def build_twin(r: SyncRedis, prefix: str, twin: str, *, v6: bool) -> float:
    """The current text index's definition (or schema 6's: text fields not SORTABLE),
    built by scan."""
    definition = text_schema_dict(twin, prefix)
    if v6:
        for field in definition["fields"]:
            if field["type"] == "text":
                field.pop("attrs", None)
    index = SearchIndex(IndexSchema.from_dict(definition), redis_client=r)
    t0 = time.perf_counter()
    index.create(overwrite=False)
    while int(dict(zip(*[iter(r.execute_command("FT.INFO", twin))] * 2))[b"indexing"]):
        time.sleep(0.5)
    return time.perf_counter() - t0


def timed(r: SyncRedis, command: list[Any], reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        r.execute_command(*command)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", required=True, help="a store load_million.py filled")
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--twin", choices=["none", "v6"], default="none")
    parser.add_argument("--keep", action="store_true", help="leave the twin index in place")
    args = parser.parse_args()
    name, prefix, commands = asyncio.run(capture(args.redis_url, args.queries))
    r = SyncRedis.from_url(args.redis_url, protocol=2)
    indexes = [name]
    if args.twin == "v6":
        for twin in (TWIN_NOW, TWIN_V6):
            if twin.encode() in r.execute_command("FT._LIST"):
                r.execute_command("FT.DROPINDEX", twin)
            took = build_twin(r, prefix, twin, v6=twin == TWIN_V6)
            print(f"{twin} built by scan in {took:.0f} s")
            indexes.append(twin)
    print(f"{len(commands)} candidate searches captured from {args.queries} tenant searches")
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for index in indexes:
            for command in commands:
                limit = command.index("LIMIT")
                for label, cmd in (("as sent", command),
                                   ("LIMIT 0 0", command[:limit] + ["LIMIT", 0, 0])):
                    times.setdefault((index, label), []).append(
                        timed(r, [cmd[0], index, *cmd[2:]], args.reps))
    for (index, label), values in times.items():
        print(f"{index:32} {label:10} median {statistics.median(values):7.3f} ms per search")
    if args.twin == "v6":
        same = sum(r.execute_command(c[0], TWIN_NOW, *c[2:])
                   == r.execute_command(c[0], TWIN_V6, *c[2:]) for c in commands)
        print(f"identical replies, {TWIN_NOW} and {TWIN_V6}: {same} of {len(commands)}")
        for index in indexes:
            info = dict(zip(*[iter(r.execute_command("FT.INFO", index))] * 2))
            print(f"{index:32} index memory {float(info[b'total_index_memory_sz_mb']):,.0f} MiB "
                  f"(sortable values {float(info[b'sortable_values_size_mb']):,.0f} MiB)")
        if not args.keep:
            for twin in (TWIN_NOW, TWIN_V6):
                r.execute_command("FT.DROPINDEX", twin)


if __name__ == "__main__":
    main()
