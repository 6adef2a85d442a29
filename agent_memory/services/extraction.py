"""Extraction of long-term memories from messages: one model call per batch, JSON mode.

The model answers with memories, their topics, entities and event dates together. Records
get deterministic ids derived from the batch (its scope, strategy and message ids) and their
position, so a redelivered task that reuses the journaled answer writes the same ids again
instead of new duplicates.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent_memory.embeddings.base import clip_chars
from agent_memory.errors import UpstreamError
from agent_memory.llm import ChatModel
from agent_memory.models._types import DEFAULT_MAX_TEXT_CHARS, utcnow
from agent_memory.models.records import MemoryRecord, MemoryTypeEnum
from agent_memory.models.working_memory import MemoryMessage, MemoryStrategyConfig
from agent_memory.services import extraction_prompts as prompts
from agent_memory.tokenizer import count_message_tokens

log = logging.getLogger(__name__)

MAX_MEMORY_CHARS = 1000
# Words that have no place in a memory produced by a client-written prompt: a custom prompt
# that tries to smuggle instructions or secrets into long-term memory gets them dropped.
_CUSTOM_OUTPUT_BLOCKLIST = ("system prompt", "instruction", "password", "api key", "token")


@dataclass(frozen=True)
class Scope:
    """Where extracted memories belong (the session they came from)."""

    namespace: str | None
    user_id: str | None
    session_id: str

    def label(self) -> str:
        """A stable string of the scope for ids."""
        return json.dumps([self.namespace, self.user_id, self.session_id])


def batch_id(scope: Scope, strategy: MemoryStrategyConfig, message_ids: Sequence[str]) -> str:
    """A deterministic id of one extraction batch."""
    raw = json.dumps([scope.label(), strategy.model_dump(mode="json"), list(message_ids)],
                     sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def batches(messages: Sequence[MemoryMessage], *, max_tokens: int = 6000,
            max_messages: int = 100) -> list[list[MemoryMessage]]:
    """Split messages, in order, into batches of bounded size for one model call each."""
    out: list[list[MemoryMessage]] = []
    current: list[MemoryMessage] = []
    tokens = 0
    for msg in messages:
        size = count_message_tokens(msg.role, msg.content)
        if current and (tokens + size > max_tokens or len(current) >= max_messages):
            out.append(current)
            current, tokens = [], 0
        current.append(msg)
        tokens += size
    if current:
        out.append(current)
    return out


class Extractor:
    """Turns batches of messages into memory records through one chat model.

    Args:
        llm: The chat model (timeouts and HTTP retries are configured on it).
        model: Model name for extraction (``GENERATION_MODEL``).
    """

    def __init__(self, llm: ChatModel, model: str | None = None,
                 max_message_chars: int = DEFAULT_MAX_TEXT_CHARS) -> None:
        self.llm = llm
        self.model = model
        # Messages stored before a smaller MAX_TEXT_CHARS still reach the model bounded.
        self.max_message_chars = max_message_chars

    async def ask(self, messages: Sequence[MemoryMessage], strategy: MemoryStrategyConfig,
                  scope: Scope, *, now: datetime | None = None) -> str:
        """The model's raw JSON answer for one batch (one call).

        Raises:
            ValidationFailed: an invalid custom prompt.
            ServiceUnavailable, UpstreamError: the model call failed (the task retries).
        """
        joined = "\n".join(f"[{m.role.upper()}] ({m.created_at.isoformat()}): "
                           f"{clip_chars(m.content, self.max_message_chars)}" for m in messages)
        prompt = prompts.render(strategy.strategy, strategy.config, {
            "messages": joined,
            "current_datetime": (now or utcnow()).isoformat(),
            "namespace": scope.namespace or "",
            "user_id": scope.user_id or "",
            "session_id": scope.session_id,
        })
        answer = await self.llm.complete([{"role": "user", "content": prompt}],
                                         model=self.model, json_mode=True)
        parse_answer(answer)  # fail (and retry) now rather than journal a bad answer
        return answer

    @staticmethod
    def records(answer: str, messages: Sequence[MemoryMessage], strategy: MemoryStrategyConfig,
                scope: Scope, batch: str) -> list[MemoryRecord]:
        """Memory records from an answer, with ids fixed by the batch and position."""
        items = parse_answer(answer)
        if strategy.strategy == "custom":
            items = [i for i in items if _custom_output_ok(i["text"])]
        if strategy.strategy == "summary" and len(items) > 1:
            items = [{**items[0], "text": " ".join(i["text"] for i in items)}]
        now = utcnow()
        source_ids = [m.id for m in messages]
        out = []
        for index, item in enumerate(items):
            out.append(MemoryRecord(
                id=f"ext-{batch}-{index}",
                text=item["text"],
                namespace=scope.namespace,
                user_id=scope.user_id,
                session_id=scope.session_id,
                memory_type=item["type"],
                topics=item["topics"],
                entities=item["entities"],
                event_date=item["event_date"],
                created_at=now,
                updated_at=now,
                last_accessed=now,
                discrete_memory_extracted="t",
                extracted_from=source_ids,
                extraction_strategy=strategy.strategy,
                extraction_strategy_config=strategy.config,
            ))
        return out


def parse_answer(answer: str) -> list[dict[str, Any]]:
    """The memories of a model answer, cleaned: types, tags without commas, dates parsed.

    Raises:
        UpstreamError: the answer is not the JSON object the prompt asked for.
    """
    try:
        doc = json.loads(answer)
        raw = doc["memories"]
        if not isinstance(raw, list):
            raise TypeError("memories is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise UpstreamError(f"extraction answer is not the expected JSON: {exc}") from exc
    out = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        text = str(item.get("text") or "").strip()
        if not text or len(text) > MAX_MEMORY_CHARS:
            continue
        kind = item.get("type")
        out.append({
            "text": text,
            "type": kind if kind in ("semantic", "episodic") else MemoryTypeEnum.semantic.value,
            "topics": _tags(item.get("topics")),
            "entities": _tags(item.get("entities")),
            "event_date": _date(item.get("event_date")),
        })
    return out


def _tags(value: object) -> list[str] | None:
    if not isinstance(value, list):
        return None
    tags = [str(v).replace(",", " ").strip() for v in value if str(v).strip()]
    return tags[:10] or None


def _date(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def _custom_output_ok(text: str) -> bool:
    lowered = text.lower()
    return not any(word in lowered for word in _CUSTOM_OUTPUT_BLOCKLIST)
