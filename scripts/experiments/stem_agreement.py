"""Session 12, section 9 step 1: do our Snowball stems and RediSearch's agree?

Stores every LoCoMo dev turn (all five conversations: only words are counted here, no
recall) and the paraphrase pairs in an embedded Redis through the service, then for every
distinct content word of the questions, the queries and the stored texts counts the
memories holding it two ways: RediSearch's own expansion of the word (``@f:(word)``) and
its stem forms asked verbatim (``@f:(\\+stem | stem)``, VERBATIM). Prints the words
whose counts differ (none means the stem forms match exactly the memories the expansion
matches).

    .venv/bin/python scripts/experiments/stem_agreement.py
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_locomo import DEFAULT_DATA, conversation_memories  # noqa: E402
from bench_paraphrase import read_pairs, records as paraphrase_records  # noqa: E402
from redis.asyncio import Redis  # noqa: E402

from agent_memory.embedded_redis import temporary_redis  # noqa: E402
from agent_memory.embeddings import HashingEmbedder  # noqa: E402
from agent_memory.models.long_term import ExtractedMemoryRecord  # noqa: E402
from agent_memory.services.long_term import LongTermService  # noqa: E402
from agent_memory.services.ranking import _stem  # noqa: E402
from agent_memory.services.text_query import query_terms  # noqa: E402
from agent_memory.settings import Settings  # noqa: E402
from agent_memory.storage.lexical import LEXICAL_FIELDS  # noqa: E402
from agent_memory.storage.long_term import LongTermStore  # noqa: E402


async def main() -> int:
    embedder = HashingEmbedder(64)
    with temporary_redis(prefix="stems-") as server:
        redis = Redis.from_url(server.url)
        settings = Settings(redis_url=server.url, embedding_provider="hashing",
                            deduplication_distance_threshold=0)
        store = LongTermStore(redis, settings, 64)
        await store.ensure_index(embedder.model_id)
        svc = LongTermService(store, embedder, settings)
        texts: list[str] = []
        recs: list[dict] = []
        for conv in json.loads(DEFAULT_DATA.read_text()):
            recs += conversation_memories(conv, "message")[1]
            texts += [qa["question"] for qa in conv["qa"]]
        rows = read_pairs()
        recs += paraphrase_records(rows, "para")
        texts += [q for q, _, _ in rows]
        for i in range(0, len(recs), 200):
            await svc.index_records([ExtractedMemoryRecord(**r) for r in recs[i:i + 200]],
                                    deduplicate=False)
        words = sorted({w for t in texts + [r["text"] for r in recs] for w in query_terms(t)}
                       | {w for t in texts + [r["text"] for r in recs]
                          for w in query_terms(t.lower().replace("'", " "))})
        fields = "|".join(LEXICAL_FIELDS)
        name = store.text_index_name
        differ = []
        for i in range(0, len(words), 500):
            chunk = words[i:i + 500]
            cmds = []
            for w in chunk:
                s = _stem(w)
                cmds.append(("FT.SEARCH", name, f"@{fields}:({w})", "NOCONTENT", "DIALECT", 2,
                             "LIMIT", 0, 0))
                cmds.append(("FT.SEARCH", name, f"@{fields}:(\\+{s} | {s})", "VERBATIM",
                             "NOCONTENT", "DIALECT", 2, "LIMIT", 0, 0))
            pipe = redis.pipeline(transaction=False)
            for c in cmds:
                pipe.execute_command(*c)
            replies = await pipe.execute()
            def total(reply: Any) -> int:  # redis-py's map of the reply, or RESP2's list
                if isinstance(reply, dict):
                    return int(reply[b"total_results"])
                return int(reply[0])

            for j, w in enumerate(chunk):
                a, b = total(replies[2 * j]), total(replies[2 * j + 1])
                if a != b:
                    differ.append((w, _stem(w), a, b))
        print(f"{len(recs)} memories, {len(words)} distinct words; counts differ for "
              f"{len(differ)}")
        for w, s, a, b in differ[:50]:
            print(f"  {w!r} (stem {s!r}): expansion {a}, stem forms {b}")
        await redis.aclose()
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
