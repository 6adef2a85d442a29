"""Lexical ranking and session context against the real index (RediSearch 2.10)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis
from redis.commands.search.query import Query
from redisvl.query.filter import Tag

from agent_memory.embeddings import HashingEmbedder
from agent_memory.models.long_term import ExtractedMemoryRecord
from agent_memory.models.records import MemoryRecord
from agent_memory.services.long_term import LongTermService
from agent_memory.services.ranking import LexicalRanker, RankingParams, analyze
from agent_memory.services.session_context import link_sessions
from agent_memory.storage.lexical import LexicalStore
from agent_memory.storage.long_term import LongTermStore
from agent_memory.storage.ltm_index import partial_indexing
from tests.conftest import make_settings

T0 = datetime(2024, 5, 8, 13, 56, tzinfo=UTC)


async def _setup(redis: Redis, url: str) -> tuple[LongTermService, LexicalStore]:
    settings = make_settings(url, deduplication_distance_threshold=0)
    embedder = HashingEmbedder(32)
    store = LongTermStore(redis, settings, 32)
    await store.ensure_index(embedder.model_id)
    return LongTermService(store, embedder, settings), LexicalStore(store)


def _msg(i: int, text: str, **kw: object) -> MemoryRecord:
    values: dict[str, object] = {"id": f"m{i}", "text": text, "namespace": "ns",
                                 "session_id": "s1", "memory_type": "message",
                                 "created_at": T0 + timedelta(seconds=i)}
    values.update(kw)
    return ExtractedMemoryRecord(**values)  # type: ignore[arg-type]


async def _store(svc: LongTermService, lexical: LexicalStore, records: list[MemoryRecord]) -> None:
    await svc.index_records(records, deduplicate=False)
    await link_sessions(lexical, records)


async def _fields(redis: Redis, prefix: str, memory_id: str) -> tuple[str, str]:
    prev, nxt = await redis.hmget(f"{prefix}:{memory_id}", ["context_prev", "context_next"])
    return (prev or b"").decode(), (nxt or b"").decode()


def test_analyze_drops_stopwords_and_stems() -> None:
    """Query words are lower-cased, stopword-free and stemmed; each keeps its surface form."""
    assert analyze("What did Melanie's kids like running to?") == [
        ("melani", "melanie"), ("kid", "kids"), ("like", "like"), ("run", "running")]


def test_document_stems_are_those_of_analyze_with_the_index_stopwords() -> None:
    """A memory's stem sequence (its BM25 bag and phrase pairs) is exactly the stems
    ``analyze`` gives with the index's stopword list: single letters, digits, accents,
    underscores, apostrophes and stopwords included."""
    from agent_memory.services.ranking import _stem_seq
    from agent_memory.services.text_query import index_stopwords

    texts = ["What did Melanie's kids like running to?", "I am 5 and x_y is a b 7 éclairs",
             "Caroline went to the LGBTQ support group in 2023 -- it was SO empowering!",
             "don't e-mail Zoë at 10:30, the café's naïve résumé", "", "a an the of"]
    for text in texts:
        assert _stem_seq(text) == tuple(stem for stem, _ in analyze(text, index_stopwords()))
    assert _stem_seq(texts[1]) == ("am", "5", "7", "éclair")  # x_y: two single letters


async def test_messages_get_neighbour_context_across_batches(redis: Redis, redis_url: str) -> None:
    """Each message gets its session neighbours' text; a later batch updates the stored
    message before it; other sessions, other types and other namespaces stay apart."""
    svc, lexical = await _setup(redis, redis_url)
    prefix = svc.store.prefix
    await _store(svc, lexical, [_msg(2, "second"), _msg(1, "first"), _msg(3, "third"),
                                _msg(9, "elsewhere", session_id="s2"),
                                _msg(8, "a fact", memory_type="semantic"),
                                _msg(7, "other tenant", namespace="ns2"),
                                _msg(6, "no session", session_id=None)])
    assert await _fields(redis, prefix, "m1") == ("", "second")
    assert await _fields(redis, prefix, "m2") == ("first", "third")
    assert await _fields(redis, prefix, "m3") == ("second", "")
    assert await _fields(redis, prefix, "m9") == ("", "")
    assert await _fields(redis, prefix, "m7") == ("", "")
    assert await _fields(redis, prefix, "m8") == ("", "")  # the only semantic one of s1
    assert await redis.hget(f"{prefix}:m6", "context_prev") is None
    await _store(svc, lexical, [_msg(4, "fourth"), _msg(5, "fifth")])
    assert await _fields(redis, prefix, "m3") == ("second", "fourth")
    assert await _fields(redis, prefix, "m4") == ("third", "fifth")


async def test_a_message_arriving_at_the_same_instant_goes_after_the_stored_one(
        redis: Redis, redis_url: str) -> None:
    """Arrival breaks a tie of times: a message stored later with the same ``created_at``
    follows the stored one (which gets it as next), and is not put before it (the stored
    one's previous context stays its own previous message)."""
    svc, lexical = await _setup(redis, redis_url)
    prefix = svc.store.prefix
    await _store(svc, lexical, [_msg(1, "first"), _msg(2, "second")])
    await _store(svc, lexical, [_msg(3, "third", created_at=T0 + timedelta(seconds=2))])
    assert await _fields(redis, prefix, "m2") == ("first", "third")
    assert await _fields(redis, prefix, "m3") == ("second", "")
    assert await _fields(redis, prefix, "m1") == ("", "second")


async def test_a_message_arriving_out_of_order_links_to_both_stored_neighbours(
        redis: Redis, redis_url: str) -> None:
    """A message older than the session's newest stored one (a late or back-filled turn)
    goes between its stored neighbours, both of which learn its text; one arriving after
    every stored one links to the newest only."""
    svc, lexical = await _setup(redis, redis_url)
    prefix = svc.store.prefix
    await _store(svc, lexical, [_msg(1, "first"), _msg(3, "third")])
    await _store(svc, lexical, [_msg(2, "second")])
    assert await _fields(redis, prefix, "m1") == ("", "second")
    assert await _fields(redis, prefix, "m2") == ("first", "third")
    assert await _fields(redis, prefix, "m3") == ("second", "")
    await _store(svc, lexical, [_msg(4, "fourth")])
    assert await _fields(redis, prefix, "m3") == ("second", "fourth")
    assert await _fields(redis, prefix, "m4") == ("third", "")


async def test_a_neighbours_context_leaves_the_vector_index_alone(redis: Redis,
                                                                  redis_url: str) -> None:
    """Writing a stored message's ``context_next`` re-indexes it in the text index only:
    its vector is not deleted and re-inserted in the HNSW graph (a re-index takes a new
    document id, so the vector index's highest id grows by the new memories only)."""
    if not await partial_indexing(redis):
        pytest.skip("this Redis re-indexes every index on any write (PARTIAL_INDEXED_DOCS off)")
    svc, lexical = await _setup(redis, redis_url)

    async def max_ids() -> tuple[int, int]:
        vector, text = await svc.store.index.info(), await svc.store.text_index.info()
        return int(vector["max_doc_id"]), int(text["max_doc_id"])

    await _store(svc, lexical, [_msg(1, "first")])
    before = await max_ids()
    await _store(svc, lexical, [_msg(2, "second")])
    assert await _fields(redis, svc.store.prefix, "m1") == ("", "second")
    after = await max_ids()
    assert after[0] - before[0] == 1  # m2 only
    assert after[1] - before[1] >= 2  # m2, and m1 again with its context


async def test_episodic_memories_of_a_session_get_their_neighbours(redis: Redis,
                                                                   redis_url: str) -> None:
    """Context is not only for messages: episodic memories of one session link to each
    other in time order, and never to the session's messages."""
    svc, lexical = await _setup(redis, redis_url)
    prefix = svc.store.prefix
    await _store(svc, lexical, [_msg(1, "a message"), _msg(2, "went hiking", memory_type="episodic"),
                                _msg(3, "another message"),
                                _msg(4, "came back tired", memory_type="episodic")])
    assert await _fields(redis, prefix, "m2") == ("", "came back tired")
    assert await _fields(redis, prefix, "m4") == ("went hiking", "")
    assert await _fields(redis, prefix, "m1") == ("", "another message")


async def test_a_reply_is_found_by_the_question_before_it(redis: Redis, redis_url: str) -> None:
    """The answer shares no word with the query; its context (the question) does."""
    svc, lexical = await _setup(redis, redis_url)
    await _store(svc, lexical, [
        _msg(1, "Caroline: Your pets are adorable! What are their names?"),
        _msg(2, "Melanie: Luna and Oliver! They liven up the house."),
        _msg(3, "Caroline: I painted a sunrise by the lake last weekend."),
        _msg(4, "Melanie: We went camping near the mountains with the kids."),
    ])
    ranker = LexicalRanker(lexical)
    ranked, total = await ranker.search("What are the names of Melanie's pets?",
                                        Tag("namespace") == "ns", 10)
    ids = [r.doc.memory_id for r in ranked]
    assert set(ids[:2]) == {"m1", "m2"}
    assert total >= 2
    no_context = LexicalRanker(lexical, RankingParams(prev_weight=0, next_weight=0,
                                                      feedback_docs=0))
    plain, _ = await no_context.search("pets names", Tag("namespace") == "ns", 10)
    assert "m2" not in [r.doc.memory_id for r in plain]


async def test_ranking_prefers_rare_words_and_respects_the_filter(redis: Redis,
                                                                  redis_url: str) -> None:
    """BM25: a memory with the rare query word outranks ones with only a common word;
    memories outside the filter never appear, whatever their score."""
    svc, lexical = await _setup(redis, redis_url)
    records = [ExtractedMemoryRecord(id=f"c{i}", text=f"coffee note {i}", namespace="ns")
               for i in range(8)]
    records += [ExtractedMemoryRecord(id="rare", text="coffee with cardamom", namespace="ns"),
                ExtractedMemoryRecord(id="other", text="cardamom coffee cardamom",
                                      namespace="ns2")]
    await svc.index_records(records, deduplicate=False)
    ranked, total = await LexicalRanker(lexical).search("cardamom coffee",
                                                        Tag("namespace") == "ns", 5)
    assert ranked[0].doc.memory_id == "rare"
    assert all(r.doc.memory_id != "other" for r in ranked)
    assert total == 9
    assert ranked[0].score > ranked[1].score > 0


async def test_stopword_only_query_returns_nothing(redis: Redis, redis_url: str) -> None:
    """A query of stopwords and punctuation never reaches RediSearch."""
    _, lexical = await _setup(redis, redis_url)
    assert await LexicalRanker(lexical).search("will there be an? (the)", None, 10) == ([], 0)


async def test_common_words_still_find_memories_and_count(redis: Redis, redis_url: str) -> None:
    """A word in most memories stays out of the first candidate query, yet memories that
    only have that word still fill the page, and ``total`` counts every match."""
    svc, lexical = await _setup(redis, redis_url)
    records = [ExtractedMemoryRecord(id=f"c{i}", text=f"coffee note {i}", namespace="ns")
               for i in range(8)]
    records.append(ExtractedMemoryRecord(id="rare", text="cardamom tea", namespace="ns"))
    await svc.index_records(records, deduplicate=False)
    ranked, total = await LexicalRanker(lexical).search("coffee cardamom",
                                                        Tag("namespace") == "ns", 5)
    ids = [r.doc.memory_id for r in ranked]
    assert ids[0] == "rare" and len(ids) == 5
    assert total == 9


async def test_long_neighbours_weigh_on_a_memorys_length(redis: Redis, redis_url: str) -> None:
    """Context words count ``context_length`` times their weight in the BM25 length: a
    memory matching in its own text but flanked by long messages drops below a memory
    whose short neighbour carries the word once the context length counts more."""
    svc, lexical = await _setup(redis, redis_url)
    chatter = " ".join(f"filler{i}" for i in range(10))
    await _store(svc, lexical, [
        _msg(1, f"Ann: {chatter}"),
        _msg(2, "Bob: my kayak trip"),
        _msg(3, f"Ann: {chatter}"),
        _msg(11, "Cid: the kayak", session_id="s2"),
        _msg(12, "Dee: went there", session_id="s2"),
    ])
    where = Tag("namespace") == "ns"

    async def order(context_length: float) -> list[str]:
        params = RankingParams(feedback_docs=0, context_length=context_length)
        ranked, _ = await LexicalRanker(lexical, params).search("kayak", where, 10)
        return [r.doc.memory_id for r in ranked if r.doc.memory_id in {"m2", "m12"}]

    assert await order(1.0) == ["m2", "m12"]
    assert await order(3.0) == ["m12", "m2"]


async def test_deleting_messages_relinks_their_neighbours(redis: Redis, redis_url: str) -> None:
    """No deleted text stays in a context field: the messages around a deleted one (or a
    deleted run) point at each other, and the deleted words find nothing any more."""
    svc, lexical = await _setup(redis, redis_url)
    prefix = svc.store.prefix
    await _store(svc, lexical, [_msg(1, "first"), _msg(2, "zanzibar secret"), _msg(3, "third"),
                                _msg(4, "quokka private"), _msg(5, "marmot hidden"),
                                _msg(6, "sixth"), _msg(7, "seventh")])
    assert await _fields(redis, prefix, "m1") == ("", "zanzibar secret")
    assert await svc.delete_ids(["m2", "m4", "m5"]) == 3
    assert await _fields(redis, prefix, "m1") == ("", "third")
    assert await _fields(redis, prefix, "m3") == ("first", "sixth")
    assert await _fields(redis, prefix, "m6") == ("third", "seventh")
    for word in ("zanzibar", "quokka", "marmot"):  # in no field of any memory
        query = Query(f"@text|context_prev|context_next:{word}").no_content()
        assert (await redis.ft(svc.store.text_index_name).search(query)).total == 0, word
    assert await svc.delete_ids(["m7"]) == 1  # the last message: nothing after it
    assert await _fields(redis, prefix, "m6") == ("third", "")


async def test_hybrid_feedback_rescores_the_query_words_candidates_only(redis: Redis,
                                                                        redis_url: str) -> None:
    """The hybrid default's keyword list (feedback words counted among the candidates, no
    fetch of their own): a memory with no query word never joins it, yet the feedback
    words still re-order the memories that have one. The full ranker (keyword mode)
    fetches the feedback words' own candidates."""
    svc, lexical = await _setup(redis, redis_url)
    await svc.index_records([
        ExtractedMemoryRecord(id="m1", text="kayak paddle tahoe river", namespace="ns"),
        ExtractedMemoryRecord(id="m2", text="kayak paddle tahoe lake", namespace="ns"),
        ExtractedMemoryRecord(id="m3", text="kayak insurance form", namespace="ns"),
        ExtractedMemoryRecord(id="f", text="lake tahoe paddle weekend", namespace="ns"),
        ExtractedMemoryRecord(id="x", text="kayak paddle tahoe lake", namespace="ns2"),
    ], deduplicate=False)
    where = Tag("namespace") == "ns"
    hybrid = LexicalRanker(lexical, RankingParams(feedback_candidates=False,
                                                  feedback_counts=False))
    ranked, total = await hybrid.search("kayak", where, 10)
    ids = [r.doc.memory_id for r in ranked]
    assert set(ids) == {"m1", "m2", "m3"} and total == 3
    # "lake" (m2) is among the five feedback words, "river" (m1) is not: m2 first, although
    # without feedback the two tie and m1 comes first by id.
    assert ids.index("m2") < ids.index("m1")
    plain, _ = await LexicalRanker(lexical, RankingParams(feedback_docs=0)).search(
        "kayak", where, 10)
    plain_ids = [r.doc.memory_id for r in plain]
    assert plain_ids.index("m1") < plain_ids.index("m2")
    assert all(0 < r.coverage <= 1 for r in ranked)
    full, _ = await LexicalRanker(lexical).search("kayak", where, 10)
    assert "f" in {r.doc.memory_id for r in full}
    assert "x" not in {r.doc.memory_id for r in full}


async def test_candidate_texts_come_back_exactly_as_stored(redis: Redis, redis_url: str) -> None:
    """The text index returns a candidate's texts from its own SORTABLE UNF copies: they
    must equal the stored hash byte for byte (case, accents, emoji, quotes, spacing, long
    texts), for the memory's own text and the neighbours' context alike."""
    svc, lexical = await _setup(redis, redis_url)
    texts = ["Zoë's  Café \u2014 \"QUOTED\" words\tand\nnew lines \U0001F600 marker",
             "marker " + "Long sentence with Mixed CASE. " * 200,
             "  leading and trailing spaces marker  "]
    await _store(svc, lexical, [_msg(i, t) for i, t in enumerate(texts)])
    [docs] = await lexical.candidates([(["marker"], {})], None, 10, {"text": 1.0,
                                                                     "context_prev": 0.5,
                                                                     "context_next": 0.4})
    prefix = svc.store.prefix
    assert len(docs) == len(texts)
    for doc in docs:
        stored = await redis.hmget(f"{prefix}:{doc.memory_id}",
                                   ["text", "context_prev", "context_next"])
        assert [doc.text, doc.context_prev, doc.context_next] == [
            (v or b"").decode() for v in stored]
    assert {d.text for d in docs} == set(texts)
    by_id = {d.memory_id: d for d in docs}
    assert by_id["m1"].context_prev == texts[0] and by_id["m1"].context_next == texts[2]
