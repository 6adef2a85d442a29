"""The page read's hand-packed HMGET is byte for byte what the generic packer sends."""

from agent_memory.storage.long_term import FIELDS, _hmget
from agent_memory.storage.mux import Packed, pack


def test_hand_packed_hmget_equals_the_generic_command() -> None:
    for key in ("memory_idx:01ABC", "memory_idx:é-ü", "p:" + "x" * 300):
        command = _hmget(key)
        assert isinstance(command, Packed)
        assert bytes(command) == pack(["HMGET", key, *FIELDS])
