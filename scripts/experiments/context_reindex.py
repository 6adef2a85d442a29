"""Redis CPU of a session neighbour's ``context_next`` write, one index vs. two.

Starts its own redis-server (the embedded wheels) with ``PARTIAL_INDEXED_DOCS`` on or off,
loads ``--memories`` random 384-dim records (100 sessions) under one prefix, then measures
Redis CPU (``INFO cpu``) per HSET of a new record and per HSET of a stored record's
``context_next``, for the layout of schema 4 (one index: context fields beside the vector)
and of schema 5 (a vector index without them, a text index without the vector).

    .venv/bin/python scripts/experiments/context_reindex.py --memories 2500 [--flag 0]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402
from redis import Redis  # noqa: E402
from redisvl.index import SearchIndex  # noqa: E402
from redisvl.schema import IndexSchema  # noqa: E402

from agent_memory.embedded_redis import free_port, locate_binaries  # noqa: E402
from agent_memory.storage.ltm_schema import CONTEXT_FIELDS, schema_dict, text_schema_dict  # noqa: E402


def layouts(prefix: str) -> dict[str, list[dict]]:
    single = schema_dict("one", prefix, 384)
    single["fields"][1:1] = [{"name": f, "type": "text"} for f in CONTEXT_FIELDS]
    return {"one index (schema 4)": [single],
            "vector + text index (schema 5)": [schema_dict("vec", prefix, 384),
                                               text_schema_dict("txt", prefix)]}


def record(i: int, rng: np.random.Generator) -> dict[str, object]:
    vector = rng.standard_normal(384).astype(np.float32)
    vector /= np.linalg.norm(vector)
    return {"text": f"user: I like topic {i} a lot, more words {i % 97}", "id_": f"m{i}",
            "memory_type": "message", "session_id": f"s{i % 100}", "namespace": "bench",
            "user_id": f"u{i % 100}", "created_at": 1000 + i, "vector": vector.tobytes(),
            "context_prev": f"assistant: noted {i - 1}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=2500)
    parser.add_argument("--flag", type=int, default=1, help="PARTIAL_INDEXED_DOCS 1 or 0")
    parser.add_argument("--ops", type=int, default=1000)
    args = parser.parse_args()
    bins = locate_binaries()
    port = free_port()
    command = [str(bins.server), "--port", str(port), "--dir", tempfile.mkdtemp(), "--save", "",
               "--loadmodule", str(bins.search_module), "PARTIAL_INDEXED_DOCS", str(args.flag)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        client = Redis(port=port)

        def cpu() -> float:
            info = client.info("cpu")
            return info["used_cpu_user"] + info["used_cpu_sys"]

        for n, (name, schemas) in enumerate(layouts("x").items()):
            client.flushall()
            prefix = f"p{n}"
            for schema in schemas:
                schema["index"]["prefix"] = prefix
                SearchIndex(IndexSchema.from_dict(schema), redis_client=client).create()
            rng = np.random.default_rng(0)
            pipe = client.pipeline(transaction=False)
            for i in range(args.memories):
                pipe.hset(f"{prefix}:m{i}", mapping=record(i, rng))
                if i % 500 == 499:
                    pipe.execute()
            pipe.execute()
            start = cpu()
            for k in range(args.ops):
                client.hset(f"{prefix}:m{args.memories + k}",
                            mapping=record(args.memories + k, rng))
            new = (cpu() - start) / args.ops * 1e6
            start = cpu()
            for k in range(args.ops):
                client.hset(f"{prefix}:m{k}", "context_next", f"user: reply {k}")
            neighbour = (cpu() - start) / args.ops * 1e6
            print(f"{name:32} PARTIAL_INDEXED_DOCS {args.flag}, {args.memories} memories: "
                  f"Redis CPU per HSET: new memory {new:6.0f} us, neighbour's context_next "
                  f"{neighbour:6.0f} us")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
