"""Prompt assembly without Redis: the memory block's exact text and the budget rules."""

from __future__ import annotations

import pytest

from agent_memory.errors import ClientError
from agent_memory.models.long_term import MemoryRecordResult
from agent_memory.models.working_memory import MemoryMessage
from agent_memory.services.prompt import NO_MEMORIES, assemble, cost, memory_block, render
from agent_memory.tokenizer import encoding


def hit(memory_id: str, text: str) -> MemoryRecordResult:
    return MemoryRecordResult(id=memory_id, text=text)


def total(parts_messages: list[tuple[str, str]]) -> int:
    enc = encoding()
    return sum(len(enc.encode(f"{role}: {text}")) for role, text in parts_messages)


def test_memory_block_is_amss_text() -> None:
    """Lines are '- text (ID: id)' joined by newlines after AMS's header and its one space."""
    block = memory_block([hit("01A", "likes tea"), hit("01B", "lives in Lisbon")])
    assert block == ("## Long term memories related to the user's query\n"
                     " - likes tea (ID: 01A)\n- lives in Lisbon (ID: 01B)")
    assert memory_block([]) == ("## Long term memories related to the user's query\n"
                                " No relevant long-term memories found.")


def test_no_hits_gives_the_none_found_message() -> None:
    """A search with no hits says so; long_term_memories stays null."""
    parts = assemble("q", None, [], [], budget=1000)
    out = render("q", parts)
    assert [m.content.text for m in out.messages] == [NO_MEMORIES, "q"]
    assert out.long_term_memories is None
    assert out.tokens_used == cost("system", NO_MEMORIES) + cost("user", "q")


def test_oversized_memory_is_skipped_smaller_later_one_fits() -> None:
    """Memories are independent: one too large is skipped, a later small one still goes in."""
    big = hit("big", "detail " * 400)
    small = hit("small", "likes tea")
    parts = assemble("what do I drink?", None, [], [big, small], budget=100)
    assert [m.id for m in parts.memories or []] == ["small"]
    assert parts.memories_omitted == 1
    out = render("what do I drink?", parts)
    assert total([(m.role, m.content.text) for m in out.messages]) == out.tokens_used <= 100


def test_hits_cut_for_space_never_claim_none_found() -> None:
    """When every hit is cut for space there is no memory message at all (not 'none found')."""
    parts = assemble("q", None, [], [hit("big", "detail " * 400)], budget=60)
    assert parts.memory_text is None and parts.memories is None and parts.memories_omitted == 1


def test_messages_take_priority_over_memories() -> None:
    """Priority: summary, then recent messages, then memories with what is left."""
    history = [MemoryMessage(role="user", content="alpha " * 30, id=f"m{i}") for i in range(3)]
    per_message = cost("user", history[0].content)
    budget = cost("user", "q") + 3 * per_message + 5  # room for the messages, not a memory
    parts = assemble("q", None, history, [hit("x", "likes tea very much indeed")], budget)
    assert len(parts.messages) == 3 and parts.memories is None and parts.memories_omitted == 1
    assert parts.used <= budget


@pytest.mark.parametrize("budget", [30, 45, 80, 200, 1000])
def test_budget_is_never_exceeded(budget: int) -> None:
    """Whatever the budget, the rendered prompt's exact count is within it."""
    history = [MemoryMessage(role="assistant" if i % 2 else "user", content=f"turn {i} " * (i + 1),
                             id=f"m{i}") for i in range(30)]
    hits = [hit(f"h{i}", f"fact number {i} " * (i % 7 + 1)) for i in range(50)]
    parts = assemble("what happened?", "earlier: " * 50, history, hits, budget)
    out = render("what happened?", parts)
    assert total([(m.role, m.content.text) for m in out.messages]) == out.tokens_used <= budget


def test_query_alone_over_budget_is_refused() -> None:
    """The query is never cut: over the budget by itself is the caller's error (400)."""
    with pytest.raises(ClientError) as err:
        assemble("word " * 100, None, [], None, budget=10)
    assert err.value.status_code == 400
