"""The page read's hand-packed HMGET is byte for byte what the generic packer sends."""

from agent_memory.storage._ltm_commands import hmget as _hmget
from agent_memory.storage._ltm_codec import FIELDS
from agent_memory.storage.mux import Packed, pack


def test_hand_packed_hmget_equals_the_generic_command() -> None:
    for key in ("memory_idx:01ABC", "memory_idx:é-ü", "p:" + "x" * 300):
        command = _hmget(key)
        assert isinstance(command, Packed)
        assert bytes(command) == pack(["HMGET", key, *FIELDS])


def test_hand_built_knn_and_count_match_redisvl() -> None:
    """The KNN and its count, with no filter, a wildcard, one tag, a conjunction and a
    disjunction: RedisVL's commands, argument for argument."""

    from types import SimpleNamespace

    import numpy as np
    from redisvl.query import CountQuery, VectorQuery
    from redisvl.query.filter import FilterExpression, Num, Tag

    from agent_memory.storage.filters import rendered
    from agent_memory.storage.long_term import RANK_FIELDS, LongTermStore
    from agent_memory.storage.raw_search import search_command

    store = SimpleNamespace(index_name="idx")
    vector = np.arange(8, dtype=np.float32)
    for where in (None, FilterExpression("*"), Tag("user_id") == "u-1",
                  (Tag("namespace") == "load") & (Tag("user_id") == "u\\1"),
                  (Tag("topics") == "a") | (Num("importance") > 0.5)):
        q = VectorQuery(vector.tobytes(), "vector", return_fields=RANK_FIELDS,
                        filter_expression=where, num_results=50)
        knn = LongTermStore.knn_command(store, vector, where, 50)  # type: ignore[arg-type]
        assert knn == search_command("idx", q.query, q.params)
        c = CountQuery(where)
        count = search_command("idx", c.query, c.params)
        assert ["FT.SEARCH", "idx", rendered(where), "NOCONTENT", "DIALECT", 2, "LIMIT",
                0, 0] == count
        assert list(LongTermStore._count_command(store, where)) == count  # type: ignore[arg-type]
