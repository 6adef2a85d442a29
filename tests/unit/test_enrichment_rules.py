"""The offline enrichment rules: deterministic, and honest about what they cannot know."""

from __future__ import annotations

import pytest

from agent_memory.services.enrichment import by_rules, candidate, classify, clauses, first_sentence


@pytest.mark.parametrize(("text", "kind"), [
    ("Alice decided to adopt a microservices architecture for the Q2 roadmap.", "decision"),
    ("Budget approved: $50K for infrastructure upgrades", "financial_decision"),
    ("Bob prefers window seats on long flights", "preference"),
    ("Need to renew the TLS certificate before Friday", "task"),
    ("Met Carla at the conference yesterday", "event"),
    ("The office is on the fourth floor", "fact"),
])
def test_the_keyword_classifier(text: str, kind: str) -> None:
    """Each type has its keywords; money plus a decision is a financial decision."""
    assert classify(text) == kind


def test_a_known_event_type_wins_and_an_unknown_one_does_not() -> None:
    """The caller's event_type is used when it names a known type."""
    assert classify("The office is on the fourth floor", "task") == "task"
    assert classify("The office is on the fourth floor", "memo") == "fact"


def test_summary_and_key_points_come_from_the_text_itself() -> None:
    """First sentence (cut at a word within 160 chars) and clauses, nothing invented."""
    text = "Budget approved: $50K for infrastructure. Work starts in May, and ends in June."
    assert first_sentence(text) == "Budget approved: $50K for infrastructure."
    assert clauses(text) == ["Budget approved", "$50K for infrastructure",
                             "Work starts in May", "ends in June"]
    long = "word " * 100
    assert len(first_sentence(long)) <= 161 and first_sentence(long).endswith("…")


def test_rules_leave_model_only_judgements_empty() -> None:
    """Quality and confidence are None from rules; importance_score is the hint × 100; the
    candidate has the seed's fields."""
    result = by_rules("Alice decided on microservices.", event_type=None, importance=0.87)
    assert result.method == "rules" and result.quality_score is None
    assert result.confidence is None and result.importance_score == 87.0
    row = candidate(result, "42", "2026-05-05T14:22:00+00:00", "Alice decided on microservices.")
    assert row == {"extracted_text": "Alice decided on microservices.", "category": "decision",
                   "importance_score": 87.0, "confidence": None, "decision": "created",
                   "memory_id": 42, "created_at": "2026-05-05T14:22:00+00:00"}
