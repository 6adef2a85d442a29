"""How a session's stored values decode: messages (cached), strategies, optional strings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from agent_memory.models._types import from_epoch
from agent_memory.models.working_memory import MemoryMessage, MemoryStrategyConfig


@dataclass(frozen=True)
class StoredMessage:
    """A message as stored, with its order and token count."""

    seq: int
    tokens: int
    message: MemoryMessage


def _message_json(msg: MemoryMessage) -> str:
    # The id is stored beside the JSON (m:<seq> = "<tokens>\t<id>\t<json>").
    return json.dumps(
        {"role": msg.role, "content": msg.content, "created_at": msg.created_at.timestamp()},
        ensure_ascii=False,
        separators=(",", ":"),
    )


@lru_cache(maxsize=256)
def _strategy(raw: bytes | None) -> MemoryStrategyConfig:
    """A stored strategy (few distinct values: parsed once each; never mutated)."""
    return MemoryStrategyConfig() if raw is None else MemoryStrategyConfig.model_validate_json(raw)


def _dec(value: bytes | None) -> str | None:
    return None if value is None else value.decode()


class _MessageCache:
    """Decoded messages keyed by their position, stored bytes and flags.

    Reads, appends and prompts decode the same stored messages over and over: decoding them
    again (JSON, datetimes, models) was most of an append's CPU. Stored values never change
    in place (a new seq or flag is a new key here), and messages are frozen models, so
    sharing them between requests is safe. When full, the oldest half is dropped.
    """

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self._items: dict[tuple[int, bytes, bytes | None, bytes | None], StoredMessage] = {}

    def decode(self, seq: int, value: bytes, extracted: bytes | None,
               persisted: bytes | None) -> StoredMessage:
        key = (seq, value, extracted, persisted)
        found = self._items.get(key)
        if found is None:
            found = self._items[key] = _decode_message(seq, value, extracted, persisted)
            if len(self._items) > self.size:
                for old in list(self._items)[: self.size // 2]:
                    del self._items[old]
        return found


def _decode_message(seq: int, value: bytes, extracted: bytes | None,
                    persisted: bytes | None) -> StoredMessage:
    tokens, mid, body = value.decode().split("\t", 2)
    doc = json.loads(body)
    msg = MemoryMessage.model_construct(
        role=doc["role"],
        content=doc["content"],
        id=mid,
        created_at=from_epoch(doc["created_at"]),
        persisted_at=from_epoch(persisted) if persisted else None,
        discrete_memory_extracted="t" if extracted else "f",
    )
    return StoredMessage(seq, int(tokens), msg)
