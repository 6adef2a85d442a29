"""Enrichment of a memories-door row: type, one-line summary, key points, scores.

Two ways, and the row records which one ran (``enrichment.method``):

- ``model``: one JSON-mode chat call returns ``memory_type``, ``importance_score`` (0-100),
  ``summary``, ``key_points``, ``quality_score`` (0-1) and ``confidence`` (0-1).
- ``rules`` (no model configured, or the model failed): deterministic and honest about it.
  The summary is the first sentence (cut at 160 characters), key points are the text's
  clauses, the type comes from a keyword classifier (the caller's ``event_type`` when it
  names a known type), ``importance_score`` is the caller's hint times 100, and what only a
  model could judge stays empty: ``quality_score`` and ``confidence`` are ``None``.

Either way the result is also kept as an extraction candidate in the seed's shape, so the
row can say later why it was created.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from agent_memory.llm import ChatModel

PROMPT_VERSION = "memories-enrich-1"
TYPES = ("decision", "financial_decision", "preference", "task", "event", "fact")
SUMMARY_CHARS = 160
MAX_KEY_POINTS = 5

# Keyword classifier, first match wins (so financial decisions beat decisions).
_MONEY = re.compile(r"[$€£¥]\s?\d|\b\d+(?:\.\d+)?\s?(?:k|m|bn)?\s?(?:usd|eur|gbp|dollars?|euros?)\b"
                    r"|\b(?:budget|invoice|payment|revenue|cost|spend|salary|price)\b", re.I)
_DECIDED = re.compile(r"\b(?:decided?|decision|approved?|agreed|chose|chosen|will adopt|"
                      r"adopt(?:ed)?|signed off|selected|settled on)\b", re.I)
_PREFERS = re.compile(r"\b(?:prefers?|preferred|likes?|loves?|enjoys?|favou?rite|hates?|"
                      r"dislikes?|would rather)\b", re.I)
_TASK = re.compile(r"\b(?:todo|to-do|need(?:s)? to|must|remind|deadline|due|follow up|"
                   r"action item|should)\b", re.I)
_EVENT = re.compile(r"\b(?:meeting|met|visited|happened|yesterday|today|tomorrow|on "
                    r"(?:mon|tues|wednes|thurs|fri|satur|sun)day|conference|trip|call)\b", re.I)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_CLAUSE = re.compile(r"\s*(?:[.;:!?]+\s+|[.;:!?]+$|,\s+(?:and|but|so|while)\s+|\s+-\s+)\s*")

_PROMPT = """You analyse one memory an AI agent stored. Answer with a JSON object only:
{{"memory_type": one of {types} (or a better single snake_case word),
 "importance_score": integer 0-100 (how much this matters to remember),
 "summary": one line of at most 20 words,
 "key_points": list of up to 5 short phrases,
 "quality_score": number 0-1 (how clear, specific and self-contained the memory is),
 "confidence": number 0-1 (your confidence in memory_type)}}

Caller hints: event_type={event_type}, tags={tags}.
Memory: {text}"""


@dataclass(frozen=True)
class Enriched:
    """What enrichment produced for one row."""

    memory_type: str
    summary: str
    key_points: list[str]
    importance_score: float  # 0-100
    quality_score: float | None  # 0-1; None from rules
    confidence: float | None  # 0-1; None from rules
    method: str  # "model" or "rules"
    note: str | None = None

    def fields(self) -> dict[str, Any]:
        """The row's ``enrichment`` JSON (status done)."""
        return {"status": "done", "method": self.method, "pending": [],
                "memory_type": self.memory_type, "summary": self.summary,
                "key_points": self.key_points, "quality_score": self.quality_score,
                "importance_score": self.importance_score, "confidence": self.confidence,
                "prompt_version": PROMPT_VERSION if self.method == "model" else None,
                "note": self.note}


def classify(text: str, event_type: str | None = None) -> str:
    """The rules' type: the caller's ``event_type`` if it is a known type, else keywords."""
    if event_type in TYPES:
        return event_type  # type: ignore[return-value]
    if _DECIDED.search(text):
        return "financial_decision" if _MONEY.search(text) else "decision"
    if _PREFERS.search(text):
        return "preference"
    if _TASK.search(text):
        return "task"
    if _EVENT.search(text):
        return "event"
    return "fact"


def first_sentence(text: str, limit: int = SUMMARY_CHARS) -> str:
    """The first sentence of ``text``, cut at a word boundary within ``limit`` chars."""
    first = _SENTENCE.split(" ".join(text.split()), maxsplit=1)[0]
    if len(first) <= limit:
        return first
    cut = first[:limit].rsplit(" ", 1)[0]
    return (cut or first[:limit]) + "…"


def clauses(text: str, limit: int = MAX_KEY_POINTS) -> list[str]:
    """The text's clauses (split at sentence ends, ; : and joining conjunctions)."""
    out: list[str] = []
    for part in _CLAUSE.split(" ".join(text.split())):
        part = part.strip(" ,")
        if len(part) >= 3 and part not in out:
            out.append(part if len(part) <= SUMMARY_CHARS else first_sentence(part))
        if len(out) == limit:
            break
    return out


def by_rules(text: str, *, event_type: str | None, importance: float | None,
             note: str | None = None) -> Enriched:
    """Deterministic enrichment (see the module docs for what each field is)."""
    hint = 0.5 if importance is None else importance
    return Enriched(classify(text, event_type), first_sentence(text), clauses(text),
                    round(hint * 100, 1), None, None, "rules", note)


def _unit(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return min(max(number, 0.0), 1.0) if number == number else None


async def by_model(llm: ChatModel, model: str, text: str, *, event_type: str | None,
                   tags: list[str], importance: float | None) -> Enriched:
    """One JSON-mode call; a field the model leaves out or garbles falls back to the rule
    for that field (never invented), and the note says which ones did.

    Raises:
        ServiceUnavailable, UpstreamError: the model endpoint failed (the caller retries,
            then falls back to :func:`by_rules`).
    """
    prompt = _PROMPT.format(types=", ".join(TYPES), event_type=event_type or "none",
                            tags=",".join(tags) or "none", text=text)
    raw = await llm.complete([{"role": "user", "content": prompt}], model=model,
                             json_mode=True)
    try:
        data = json.loads(raw)
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    rules = by_rules(text, event_type=event_type, importance=importance)
    fell_back: list[str] = []

    kind = data.get("memory_type")
    if not (isinstance(kind, str) and re.fullmatch(r"[a-z][a-z0-9_]{1,40}", kind.strip())):
        kind, _ = rules.memory_type, fell_back.append("memory_type")
    summary = data.get("summary")
    if not (isinstance(summary, str) and summary.strip()):
        summary, _ = rules.summary, fell_back.append("summary")
    points = data.get("key_points")
    if isinstance(points, list) and all(isinstance(p, str) for p in points) and points:
        points = [p.strip() for p in points if p.strip()][:MAX_KEY_POINTS]
    else:
        points, _ = rules.key_points, fell_back.append("key_points")
    score = _unit((data.get("importance_score") or 0) / 100
                  if isinstance(data.get("importance_score"), (int, float)) else None)
    if score is None:
        fell_back.append("importance_score")
        score = rules.importance_score / 100
    note = f"rules used for: {', '.join(fell_back)}" if fell_back else None
    return Enriched(kind.strip(), summary.strip()[:300], points, round(score * 100, 1),
                    _unit(data.get("quality_score")), _unit(data.get("confidence")), "model",
                    note)


def candidate(result: Enriched, memory_id: str, created_at: str, text: str) -> dict[str, Any]:
    """The extraction candidate row (the seed's internal shape) for one enriched memory."""
    return {"extracted_text": result.summary or first_sentence(text),
            "category": result.memory_type,
            "importance_score": result.importance_score,
            "confidence": result.confidence,
            "decision": "created",
            "memory_id": int(memory_id) if memory_id.isdigit() else memory_id,
            "created_at": created_at}
