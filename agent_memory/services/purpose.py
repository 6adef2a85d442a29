"""Why a caller reads a profile: the free-text purpose as a purpose class, and the policy of
which classes each scope may be read for.

The classes come from keyword rules, which always answer; when a chat model is configured
it is asked first and the rules answer whenever it fails, times out or names no known class.
Classifications are remembered per purpose text (purposes repeat), so the model is asked
once per distinct purpose, not once per read.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from agent_memory.errors import MemoryServerError
from agent_memory.llm import ChatModel
from agent_memory.models.profile import SCOPES

log = logging.getLogger(__name__)

UNCLASSIFIED = "unclassified"
NEVER_OVERRULED = frozenset({"advertising"})  # a rules verdict the model cannot change

# Rules in priority order: the first class with a matching keyword wins. Keywords are
# regular expressions matched from a word start. Advertising and analytics come first so
# that "recommend products in an ad" is an ad, never a recommendation; content generation
# comes last because "generate" is in many purposes ("generate food recommendations" is a
# recommendation).
_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("advertising", (r"ads?\b", "advert", "marketing", "promot", "campaign", "sponsor",
                     "upsell", "targeting", "monetiz", "monetis")),
    ("analytics", ("analytic", "statistic", "metric", "report", "dashboard", "aggregate",
                   "cohort", "segment", "measure", "insight", r"a/b\b")),
    ("accessibility_adaptation", ("accessib", "a11y", "screen reader", "font size",
                                  "contrast", "caption", "subtitle", "dyslexi", "impair",
                                  "assistive", "readab")),
    ("scheduling", ("schedul", "calendar", "meeting", "appointment", "availab", "book a",
                    "booking", "remind", "time slot", "agenda", "plan the day", "timetable")),
    ("recommendation", ("recommend", "suggest", "what to eat", "what to watch", "pick",
                        "choose", "shortlist")),
    ("task_execution", ("execut", "perform", "carry out", "complete the task", "run the task",
                        "task", "place an order", "purchase", "buy", "fill in", "fill out",
                        "automat")),
    ("personalization", ("personali", "tailor", "customi", "adapt", "adjust", "tone",
                         "style")),
    ("content_generation", ("generat", "write", "draft", "compose", "summar", "reply",
                            "respond", "answer", "create content", "email", "message",
                            "essay", "story")),
)
PURPOSE_CLASSES: tuple[str, ...] = tuple(name for name, _ in _RULES)

_PATTERNS = tuple(
    (name, re.compile(r"\b(?:" + "|".join(keywords) + ")", re.IGNORECASE))
    for name, keywords in _RULES
)

DEFAULT_POLICY: dict[str, list[str]] = {
    "preferences": ["content_generation", "recommendation"],
    "constraints": ["content_generation", "recommendation", "scheduling", "task_execution"],
    "communication": ["content_generation", "personalization"],
    "accessibility": ["accessibility_adaptation", "content_generation"],
    "schedule": ["scheduling", "task_execution"],
    "attention": ["personalization", "scheduling"],
}


def classify_by_rules(purpose: str) -> str:
    """The purpose class the keyword rules give (``unclassified`` when none matches)."""
    for name, pattern in _PATTERNS:
        if pattern.search(purpose):
            return name
    return UNCLASSIFIED


def build_policy(overrides: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """The default table with the deployment's entries (``PROFILE_PURPOSE_POLICY``) laid
    over it.

    Raises:
        ValueError: an unknown scope or purpose class in the overrides.
    """
    policy = {scope: list(classes) for scope, classes in DEFAULT_POLICY.items()}
    for scope, classes in overrides.items():
        if scope not in SCOPES:
            raise ValueError(f"PROFILE_PURPOSE_POLICY: unknown scope {scope!r}")
        unknown = sorted(set(classes) - set(PURPOSE_CLASSES))
        if unknown:
            raise ValueError(f"PROFILE_PURPOSE_POLICY: unknown purpose classes {unknown}; "
                             f"known: {list(PURPOSE_CLASSES)}")
        policy[scope] = list(dict.fromkeys(classes))
    return policy


@dataclass(frozen=True)
class Classification:
    """A purpose's class and what decided it (``rules`` or ``model``)."""

    purpose_class: str
    method: str


_PROMPT = (
    "Classify why an application wants to read a stored fact about a person. Answer JSON "
    '{"purpose_class": "<class>"} with exactly one of: ' + ", ".join(PURPOSE_CLASSES)
    + ', or "unclassified" when none fits. Advertising covers any ad, marketing or '
    "promotion, even when it recommends something."
)


class PurposeClassifier:
    """Purpose text -> purpose class: the model when configured, the rules otherwise."""

    CACHE_SIZE = 4096

    def __init__(self, llm: ChatModel | None, *, use_model: bool = True,
                 timeout_seconds: float = 3.0) -> None:
        self.llm = llm if use_model else None
        self.timeout_seconds = timeout_seconds
        self._cache: OrderedDict[str, Classification] = OrderedDict()

    async def classify(self, purpose: str) -> Classification:
        """The class of ``purpose`` (case and spacing do not matter)."""
        key = " ".join(purpose.lower().split())
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        result = await self._ask_model(key) if self.llm is not None else None
        if result is not None and result.method == "model" and (
                classify_by_rules(key) in NEVER_OVERRULED):
            # The caller writes the purpose: wording that names an ad stays an ad, whatever
            # the model was talked into.
            result = Classification(classify_by_rules(key), "rules")
        if result is None:
            result = Classification(classify_by_rules(key), "rules")
        elif result.method != "model":  # a model failure: answer, but ask again next time
            return result
        self._cache[key] = result
        if len(self._cache) > self.CACHE_SIZE:
            self._cache.popitem(last=False)
        return result

    async def _ask_model(self, purpose: str) -> Classification | None:
        assert self.llm is not None
        try:
            reply = await asyncio.wait_for(
                self.llm.complete([{"role": "system", "content": _PROMPT},
                                   {"role": "user", "content": purpose}],
                                  model=self.llm.fast_model, json_mode=True, max_tokens=50),
                self.timeout_seconds)
            name = json.loads(reply).get("purpose_class")
        except (MemoryServerError, TimeoutError, ValueError, AttributeError) as exc:
            log.warning("purpose model unavailable (%s); the keyword rules answer",
                        type(exc).__name__)
            return Classification(classify_by_rules(purpose), "rules_fallback")
        if name in PURPOSE_CLASSES:
            return Classification(name, "model")
        # Unsure, or a class we do not know: the rules decide.
        return Classification(classify_by_rules(purpose), "rules")
