"""Adjudication: which facts of a turn are worth keeping, and what each does to memory.

For every fact the adjudicator decides an action (``add``; ``update`` or ``supersede`` an
existing memory; ``noop``) and a scope (``user``: across the user's containers;
``container``: this conversation; ``global``: every user of the namespace), within the
request's scope policy. Two implementations:

- :class:`ModelAdjudicator`: one JSON-mode model call per exchange that sees the user's
  relevant existing memories;
- :class:`RulesAdjudicator`: no model. Deterministic patterns over the user's own words,
  which never invent a fact (see README, "Turn ingestion").
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from agent_memory.errors import UpstreamError
from agent_memory.llm import ChatModel
from agent_memory.services.text_query import query_terms

Scope = Literal["user", "container", "global"]
Action = Literal["add", "update", "supersede", "noop"]
PROMPT_VERSION = "adjudicate-v1"
MAX_FACT_CHARS = 1000


@dataclass(frozen=True)
class Candidate:
    """An existing memory of the user the adjudicator may update or supersede."""

    id: str
    text: str
    scope: Scope


@dataclass(frozen=True)
class Policy:
    """Which scopes a turn's memories may be written at (``scope_policy``)."""

    write_user: str = "auto"
    write_global: str = "auto"
    write_container: bool = True
    has_user: bool = True
    has_containers: bool = True

    def allows(self, scope: Scope) -> bool:
        """Whether a memory may be written at ``scope``."""
        if scope == "user":
            return self.has_user and self.write_user != "false"
        if scope == "container":
            return self.has_containers and self.write_container
        return self.write_global != "false"

    def place(self, wanted: Scope) -> Scope | None:
        """``wanted`` if allowed, else the next narrower allowed scope (global -> user ->
        container), else ``None``: a fact is never widened past what it asked for."""
        order: list[Scope] = ["global", "user", "container"]
        for scope in order[order.index(wanted):]:
            if self.allows(scope):
                return scope
        return None


@dataclass
class Decision:
    """What to do with one fact."""

    action: Action
    text: str
    scope: Scope | None
    targets: list[str] = field(default_factory=list)  # update/supersede/noop: existing ids
    topics: list[str] | None = None
    entities: list[str] | None = None
    rule: str | None = None  # which rule produced it (rules adjudicator only)

    def to_json(self) -> dict[str, Any]:
        """The decision as journaled."""
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Decision:
        """A journaled decision."""
        return cls(**doc)


# -- rules -------------------------------------------------------------------------------

_SENTENCES = re.compile(r"[^.!?;\n]+")
_LEAD = re.compile(r"^(?:actually|correction|no|wait|sorry|oops|update|scratch that|"
                   r"well|ok|okay|so|also|and|but)\b[\s,:;-]*", re.IGNORECASE)
_CHANGE = re.compile(r"\b(?:now|anymore|any more|no longer|instead|these days|"
                     r"changed my mind)\b", re.IGNORECASE)
_REMEMBER = re.compile(r"^(?:please\s+)?(?:remember|note|keep in mind|don't forget|"
                       r"do not forget)(?:\s+that)?\s*[,:]?\s+(.+)$", re.IGNORECASE)
_ADVERBS = r"(?:(?:now|really|also|still|actually|do|generally|usually|much|definitely)\s+)*"
_PREFERENCE = re.compile(
    r"^i\s+" + _ADVERBS + r"(no longer\s+)?(prefer|like|love|enjoy|hate|dislike|"
    r"don't like|do not like|can't stand|cannot stand)\s+(.+)$", re.IGNORECASE)
_ALLERGY = re.compile(r"^i(?:'m|\s+am)\s+" + _ADVERBS + r"allergic\s+to\s+(.+)$", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"^my\s+((?:[\w'-]+\s+){0,3}[\w'-]+)\s+(is|are)\s+(.+)$", re.IGNORECASE)
_TRAILING = re.compile(r"(?:[\s,]+(?:now|instead|these days|anymore|any more|though|too))+$",
                       re.IGNORECASE)
_VERBS = {"prefer": "prefers", "like": "likes", "love": "loves", "enjoy": "enjoys",
          "hate": "hates", "dislike": "dislikes", "don't like": "does not like",
          "do not like": "does not like", "can't stand": "cannot stand",
          "cannot stand": "cannot stand"}
_PRONOUNS = {"it", "that", "this", "them", "those", "these", "you", "so"}
# Reading memories back (ours, the model's, or any "User prefers ..." text).
_KNOWN_PREFERENCE = re.compile(
    r"^user\s+(prefers|likes|loves|enjoys|hates|dislikes|does not like|cannot stand)\s+(.+?)"
    r"\.?$", re.IGNORECASE)
_KNOWN_ALLERGY = re.compile(r"^user\s+is\s+allergic\s+to\s+(.+?)\.?$", re.IGNORECASE)
_KNOWN_ATTRIBUTE = re.compile(r"^user's\s+(.+?)\s+(?:is|are)\s+(.+?)\.?$", re.IGNORECASE)


@dataclass(frozen=True)
class _Fact:
    kind: str  # preference | allergy | attribute | remembered
    text: str
    key: str  # what a later statement of the same kind is matched on
    correction: bool


def _clean(value: str) -> str:
    return _TRAILING.sub("", value.strip().strip(",:;-").strip()).strip()


def _norm(value: str) -> str:
    return " ".join(value.lower().rstrip(".").split())


def _first_person(clause: str) -> str:
    """A remembered clause in the third person, for the few openings that say who."""
    for pattern, repl in ((r"^i(?:'m|\s+am)\s+", "User is "), (r"^i\s+", "User "),
                          (r"^my\s+", "User's ")):
        if re.match(pattern, clause, re.IGNORECASE):
            return re.sub(pattern, repl, clause, count=1, flags=re.IGNORECASE)
    return clause[:1].upper() + clause[1:]


def _parse(sentence: str) -> _Fact | None:
    text = sentence.strip()
    correction = False
    while (lead := _LEAD.match(text)) and lead.end() > 0:
        correction = correction or lead.group(0).lower().startswith(
            ("actually", "correction", "no", "wait", "sorry", "oops", "update", "scratch"))
        text = text[lead.end():]
    correction = correction or bool(_CHANGE.search(text))
    remembered = False
    if match := _REMEMBER.match(text):
        text, remembered = match.group(1).strip(), True
    if match := _PREFERENCE.match(text):
        negated, verb, obj = match.group(1), match.group(2).lower(), _clean(match.group(3))
        if obj and _norm(obj) not in _PRONOUNS:
            said = "does not like" if negated else _VERBS[verb]
            return _Fact("preference", f"User {said} {obj}.", _norm(obj),
                         correction or bool(negated))
    if match := _ALLERGY.match(text):
        obj = _clean(match.group(1))
        if obj:
            return _Fact("allergy", f"User is allergic to {obj}.", _norm(obj), correction)
    if match := _ATTRIBUTE.match(text):
        key, verb, value = match.group(1), match.group(2).lower(), _clean(match.group(3))
        if value and len(value.split()) <= 20:
            return _Fact("attribute", f"User's {key} {verb} {value}.", _norm(key), correction)
    if remembered:
        clause = _clean(text)
        if clause:
            return _Fact("remembered", _first_person(clause).rstrip(".") + ".", _norm(clause),
                         correction)
    return None


def _known(candidate: Candidate) -> tuple[str, str] | None:
    """``(kind, key)`` of a memory written in the rules' own forms."""
    if m := _KNOWN_PREFERENCE.match(candidate.text.strip()):
        return "preference", _norm(m.group(2))
    if m := _KNOWN_ALLERGY.match(candidate.text.strip()):
        return "allergy", _norm(m.group(1))
    if m := _KNOWN_ATTRIBUTE.match(candidate.text.strip()):
        return "attribute", _norm(m.group(1))
    return None


class RulesAdjudicator:
    """Explicit statements only: "remember that ...", "I prefer / like / love / hate /
    dislike ...", "I'm allergic to ...", "my X is Y", and corrections ("actually, I now
    prefer ...", "... no longer ...") that supersede what they correct."""

    name = "rules"

    @staticmethod
    def has_facts(user_text: str) -> bool:
        """Whether any sentence is a statement the rules know (no search needed if not)."""
        return any(_parse(s) is not None for s in _SENTENCES.findall(user_text))

    def decide(self, user_text: str, candidates: Sequence[Candidate],
               policy: Policy) -> list[Decision]:
        """Decisions for the user's words of one exchange (nothing from the assistant's)."""
        out: list[Decision] = []
        seen: set[str] = set()
        for sentence in _SENTENCES.findall(user_text):
            fact = _parse(sentence)
            if fact is None or _norm(fact.text) in seen:
                continue
            seen.add(_norm(fact.text))
            out.append(self._decide(fact, candidates, policy))
        return out

    @staticmethod
    def _decide(fact: _Fact, candidates: Sequence[Candidate], policy: Policy) -> Decision:
        scope = policy.place("user")  # the rules never write a personal fact globally
        decision = Decision("add", fact.text, scope, rule=fact.kind)
        if scope is None:
            decision.action = "noop"
            return decision
        own = [c for c in candidates if c.scope != "global"]
        same = [c.id for c in own if _norm(c.text) == _norm(fact.text)]
        if same:
            decision.action, decision.targets = "noop", same[:1]
            return decision
        targets: list[str] = []
        words = set(query_terms(fact.key))
        for c in own:
            known = _known(c)
            if known is None or known[0] != fact.kind:
                continue
            if known[1] == fact.key and fact.kind in ("attribute", "preference"):
                targets.append(c.id)  # same key, new value (or new verb): it changed
            elif fact.correction and words & set(query_terms(known[1])):
                targets.append(c.id)  # a correction of something it shares words with
        if targets:
            decision.action, decision.targets = "supersede", targets
        return decision


# -- model -------------------------------------------------------------------------------

_PROMPT = """You maintain the long-term memory of an assistant. Read one conversation turn \
and the user's existing memories, and decide which durable facts from the turn are worth \
remembering.

Answer with a JSON object: {{"memories": [{{"action": "add" | "update" | "supersede" | \
"noop", "text": "<the fact, third person, e.g. 'User prefers pytest'>", "scope": "user" | \
"container" | "global", "target_id": "<id of the existing memory, for update, supersede and \
noop>", "topics": ["..."], "entities": ["..."]}}]}}

- Only facts the turn states; never guess. Small talk and one-off requests are not facts.
- "update" rewrites an existing memory that the turn refines; "supersede" replaces one \
the turn contradicts or corrects; "noop" means the fact is already remembered.
- Scope: "user" for facts about the user (kept across conversations), "container" for \
facts that only matter in this conversation, "global" for facts true for every user.
- Allowed scopes: {allowed}.

Existing memories (JSON): {existing}

Turn (JSON): {turn}"""


class ModelAdjudicator:
    """One JSON-mode call per exchange."""

    name = "model"

    def __init__(self, llm: ChatModel, model: str | None = None) -> None:
        self.llm = llm
        self.model = model

    async def ask(self, messages: Sequence[dict[str, str]], candidates: Sequence[Candidate],
                  policy: Policy) -> tuple[str, dict[str, int]]:
        """The model's raw answer and its reported usage (one call)."""
        allowed = [s for s in ("user", "container", "global") if policy.allows(s)]  # type: ignore[arg-type]
        prompt = _PROMPT.format(
            allowed=", ".join(allowed) or "none",
            existing=json.dumps([{"id": c.id, "text": c.text, "scope": c.scope}
                                 for c in candidates], ensure_ascii=False),
            turn=json.dumps(list(messages), ensure_ascii=False))
        answer, usage = await self.llm.complete_with_usage(
            [{"role": "user", "content": prompt}], model=self.model, json_mode=True)
        self.decide(answer, candidates, policy)  # fail (and retry) now, not after journaling
        return answer, usage

    @staticmethod
    def decide(answer: str, candidates: Sequence[Candidate],
               policy: Policy) -> list[Decision]:
        """Decisions from an answer, held to the policy and to the candidates shown."""
        try:
            items = json.loads(answer)["memories"]
            if not isinstance(items, list):
                raise TypeError("memories is not a list")
        except (ValueError, KeyError, TypeError) as exc:
            raise UpstreamError(f"adjudication answer is not the expected JSON: {exc}") from exc
        own = {c.id for c in candidates if c.scope != "global"}
        out = []
        for item in items:
            if not isinstance(item, dict):
                continue
            text = str(item.get("text") or "").strip()
            action = item.get("action", "add")
            if not text or len(text) > MAX_FACT_CHARS or action not in (
                    "add", "update", "supersede", "noop"):
                continue
            wanted = item.get("scope")
            scope = policy.place(wanted if wanted in ("user", "container", "global") else "user")
            target = item.get("target_id")
            if action in ("update", "supersede", "noop") and target not in own:
                action = "add" if action != "noop" else "noop"  # never touch an unseen id
                target = None
            decision = Decision(action, text, scope, [target] if target else [],
                                _tags(item.get("topics")), _tags(item.get("entities")))
            if scope is None:
                decision.action = "noop"
            out.append(decision)
        return out


def _tags(value: object) -> list[str] | None:
    if not isinstance(value, list):
        return None
    tags = [str(v).replace(",", " ").strip()[:100] for v in value if str(v).strip()]
    return tags[:10] or None
