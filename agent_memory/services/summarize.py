"""Fold older messages into a running summary: with a model when configured, else extractive.

Messages are always summarized oldest first (AMS reverses them), every folded message reaches
the summarizer (AMS silently drops those that fit neither set), and a model failure falls back
to the deterministic summary instead of failing the write.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from agent_memory.embeddings.base import clip_chars
from agent_memory.errors import MemoryServerError
from agent_memory.models._types import DEFAULT_MAX_TEXT_CHARS
from agent_memory.llm import ChatModel
from agent_memory.models.working_memory import MemoryMessage
from agent_memory.tokenizer import count_tokens, encoding

log = logging.getLogger(__name__)

PROMPT = """You maintain a running summary of a conversation between a user and an assistant.
Update the summary with the new messages. Keep facts, names, numbers, dates, decisions,
preferences and open questions; drop pleasantries. Write plain prose, at most {max_words} words.

Current summary:
{prev_summary}

New messages, oldest first:
{messages_joined}

Updated summary:"""

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def plan_fold(tokens: Sequence[int], keep_budget: int) -> int:
    """How many of the oldest messages to fold so the newest fit ``keep_budget`` tokens.

    The newest message is always kept, so the count is at most ``len(tokens) - 1``.
    """
    kept = 0
    index = len(tokens)
    while index > 0 and (kept + tokens[index - 1] <= keep_budget or index == len(tokens)):
        kept += tokens[index - 1]
        index -= 1
    return index


def _clip(text: str, max_tokens: int) -> str:
    enc = encoding()
    ids = enc.encode(text, disallowed_special=())
    if len(ids) <= max_tokens:
        return text
    return enc.decode(ids[:max_tokens]).rstrip() + "…"


_HEADER = re.compile(r"^\[Summary of (\d+) earlier messages\]$")


def _parse_previous(previous: str | None) -> tuple[int, list[str]]:
    """(messages counted, lines) of a previous extractive summary; free text is one line."""
    if not previous:
        return 0, []
    lines = previous.split("\n")
    match = _HEADER.match(lines[0])
    if match is None:
        return 0, [f"Earlier summary: {previous.strip()}"]
    return int(match.group(1)), [line for line in lines[1:] if line]


def extractive_summary(
    previous: str | None, messages: Sequence[MemoryMessage], max_tokens: int
) -> str:
    """A deterministic summary: one line per folded message (its first sentence), oldest first.

    The header counts every message ever folded. Lines share the budget equally; when even
    short lines cannot all fit, the oldest lines are replaced by an explicit omission marker,
    so the summary always accounts for what it no longer shows.
    """
    counted, lines = _parse_previous(previous)
    for msg in messages:
        first = _SENTENCE.split(msg.content.strip(), maxsplit=1)[0]
        lines.append(f"{msg.role}: {first}")
    total = counted + len(messages)
    header = f"[Summary of {total} earlier messages]"
    budget = max(max_tokens - count_tokens(header) - 12, 16)
    share = max(budget // max(len(lines), 1), 12)
    clipped = [_clip(line, share) for line in lines]
    omitted = 0
    while len(clipped) > 1 and sum(count_tokens(line) for line in clipped) > budget:
        clipped.pop(0)
        omitted += 1
    if omitted:
        clipped.insert(0, f"(… {omitted} older summary lines omitted …)")
    return "\n".join([header, *clipped])


async def summarize(
    previous: str | None,
    messages: Sequence[MemoryMessage],
    *,
    max_tokens: int,
    llm: ChatModel | None,
    model: str | None = None,
    max_input_chars: int = DEFAULT_MAX_TEXT_CHARS,
) -> str:
    """A new summary covering ``previous`` and ``messages`` in at most ~``max_tokens``.

    The model sees each message cut to an equal share of ``max_input_chars`` (at least 500
    characters), so one fold never sends an unbounded prompt.
    """
    if llm is not None:
        share = max(max_input_chars // max(len(messages), 1), 500)
        joined = "\n".join(f"{m.role}: {clip_chars(m.content, share)}" for m in messages)
        prompt = PROMPT.format(
            max_words=max(int(max_tokens * 0.75), 20),
            prev_summary=previous or "(none yet)",
            messages_joined=joined,
        )
        try:
            text = await llm.complete([{"role": "user", "content": prompt}], model=model,
                                      max_tokens=max_tokens)
            if text.strip():
                return text.strip()
        except MemoryServerError as exc:
            log.warning("LLM summarization failed, using the extractive summary: %s", exc)
    return extractive_summary(previous, messages, max_tokens)
