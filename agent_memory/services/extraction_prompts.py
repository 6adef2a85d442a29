"""Prompts of the extraction strategies, and the validation of client-supplied prompts.

Every strategy asks for the same JSON object, so one model call per batch yields the
memories together with their topics, entities and event dates (AMS spends two more calls
per memory on topics and entities).
"""

from __future__ import annotations

import re

from agent_memory.errors import ValidationFailed

OUTPUT_CONTRACT = """Answer with one JSON object and nothing else:
{"memories": [{"type": "semantic" | "episodic", "text": "...", "topics": ["..."],
"entities": ["..."], "event_date": "ISO-8601 date-time or null"}]}
Each text is one self-contained statement: replace pronouns and relative times ("yesterday",
"next week") by the names and absolute dates they refer to (now is {current_datetime}).
topics: at most 3 short lowercase topics. entities: names of people, places, organisations,
products mentioned. event_date: when the event happened or will happen, else null.
Return {"memories": []} when nothing is worth remembering."""

DISCRETE = """You extract long-term memories from a conversation between a user and an
assistant. Keep durable facts about the user (semantic: preferences, traits, relationships,
plans) and notable events (episodic: what happened, when, where). Skip small talk, questions
the assistant answered, and anything only true for this turn.

Conversation, oldest first:
{messages}

""" + OUTPUT_CONTRACT

SUMMARY = """Summarize this conversation for long-term memory in at most {max_summary_length}
words: facts, names, numbers, dates, decisions and open questions. Return it as ONE memory
of type "semantic".

Conversation, oldest first:
{messages}

""" + OUTPUT_CONTRACT

PREFERENCES = """Extract only the user's preferences from this conversation: likes, dislikes,
habits, settings, ways they want to be helped. One memory per preference, type "semantic".

Conversation, oldest first:
{messages}

""" + OUTPUT_CONTRACT

CUSTOM_SUFFIX = "\n\n" + OUTPUT_CONTRACT

MAX_CUSTOM_PROMPT_CHARS = 10_000
REQUIRED_PLACEHOLDERS = frozenset({"messages"})
ALLOWED_PLACEHOLDERS = frozenset({"messages", "current_datetime", "namespace", "user_id",
                                  "session_id"})

# Phrases that try to turn an extraction prompt into something else: instruction overrides,
# requests for secrets, code execution. A custom prompt describes what to remember, never these.
_FIELD = re.compile(r"\{(\w+)\}")
_FORMAT_TRICK = re.compile(r"\{\s*\w+\s*[.\[!:][^{}]*\}")

_DANGEROUS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"ignore\s+(all\s+|any\s+)?(previous|prior|above)\s+(instructions|prompts?)",
        r"disregard\s+(all\s+|the\s+)?(previous|prior|above|system)",
        r"(reveal|print|show|repeat|output)\s+(the\s+|your\s+)?(system\s+prompt|instructions)",
        r"\b(api[_\s-]?key|password|secret[_\s-]?key|access[_\s-]?token|credentials?)\b",
        r"\b(exec|eval|__import__|subprocess|os\.system)\s*\(",
        r"you\s+are\s+now\s+(in\s+)?(developer|dan|jailbreak)",
        r"<\s*/?\s*(system|script)\b",
    )
]


def placeholders(template: str) -> set[str]:
    """Names used as ``{name}`` in a template (other braces are literal text).

    Raises:
        ValueError: a field uses attribute, index, conversion or format syntax
            (``{x.attr}``, ``{x[0]}``, ``{x!r}``, ``{x:>9}``): such prompts were written for
            ``str.format``, which could reach into Python objects; they are refused.
    """
    if bad := _FORMAT_TRICK.search(template):
        raise ValueError(f"placeholder {bad.group(0)} must be a plain name")
    return set(_FIELD.findall(template))


def check_custom_prompt(prompt: object) -> str:
    """Check a ``custom`` strategy prompt; returns it unchanged when acceptable.

    Raises:
        ValueError: missing, too long, unknown or missing placeholders, or a pattern that
            tries to override instructions or reach secrets (the message says which).
    """
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("config.custom_prompt is required for the custom strategy")
    if len(prompt) > MAX_CUSTOM_PROMPT_CHARS:
        raise ValueError(f"custom_prompt is longer than {MAX_CUSTOM_PROMPT_CHARS} characters")
    names = placeholders(prompt)
    if unknown := names - ALLOWED_PLACEHOLDERS:
        raise ValueError(f"custom_prompt has unknown placeholders {sorted(unknown)}; "
                         f"allowed: {sorted(ALLOWED_PLACEHOLDERS)}")
    if missing := REQUIRED_PLACEHOLDERS - names:
        raise ValueError(f"custom_prompt lacks the placeholders {sorted(missing)}")
    for pattern in _DANGEROUS:
        if pattern.search(prompt):
            raise ValueError(f"custom_prompt contains a disallowed pattern ({pattern.pattern!r})")
    return prompt


def validate_custom_prompt(prompt: object) -> str:
    """:func:`check_custom_prompt` for code outside request validation.

    Raises:
        ValidationFailed: the prompt is not acceptable (422 with the reason).
    """
    try:
        return check_custom_prompt(prompt)
    except ValueError as exc:
        raise ValidationFailed(
            f"invalid custom extraction prompt: {exc}",
            details=[{"type": "value_error",
                      "loc": ["body", "long_term_memory_strategy", "config", "custom_prompt"],
                      "msg": str(exc)}],
        ) from exc


def render(strategy: str, config: dict[str, object], values: dict[str, str]) -> str:
    """The prompt for ``strategy`` with ``values`` filled in.

    Raises:
        ValidationFailed: an invalid ``custom`` prompt.
    """
    if strategy == "custom":
        template = validate_custom_prompt(config.get("custom_prompt")) + CUSTOM_SUFFIX
    else:
        template = {"discrete": DISCRETE, "summary": SUMMARY, "preferences": PREFERENCES}[strategy]
    fields = dict(values)
    if strategy == "summary":
        fields["max_summary_length"] = str(_positive_int(config.get("max_summary_length"), 500))
    # The output contract holds literal JSON braces, so no str.format: one pass over the
    # template replaces known names only, and substituted text (user messages) is never
    # scanned again for placeholders.
    return _FIELD.sub(lambda m: fields.get(m.group(1), m.group(0)), template)


def _positive_int(value: object, default: int) -> int:
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default
