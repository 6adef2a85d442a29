"""Field names, types, required-ness and defaults match AMS where AMS has the field."""

from __future__ import annotations

import re
from typing import Any

import pytest

from agent_memory.app import create_app
from agent_memory.openapi import build_openapi
from agent_memory.settings import Settings
from tests.contract.ams_schemas import NO_DEFAULT, normalize, parse_dump, render
from tests.contract.intended_differences import DIFFERENCES, RENAMED

AMS_MODELS, AMS_ENUMS = parse_dump()


def _our_components() -> dict[str, list[dict[str, Any]]]:
    """Our components by AMS name (``-Input``/``-Output`` variants grouped)."""
    doc = build_openapi(create_app(Settings(redis_url="redis://127.0.0.1:1/0")).routes)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for name, schema in doc["components"]["schemas"].items():
        base = re.sub(r"-(Input|Output)$", "", name)
        grouped.setdefault(RENAMED.get(base, base), []).append(schema)
    return grouped


def _differences() -> dict[tuple[str, str, str], str]:
    ours = _our_components()
    enums = dict(AMS_ENUMS)
    for name, schemas in ours.items():
        if "enum" in schemas[0]:
            enums.setdefault(name, schemas[0]["enum"])
    found: dict[tuple[str, str, str], str] = {}
    for model, fields in AMS_MODELS.items():
        for schema in ours.get(model, []):
            props, required = schema.get("properties", {}), set(schema.get("required", []))
            for name, ams in fields.items():
                if name not in props:
                    found[(model, name, "missing")] = f"AMS {ams.type}"
                    continue
                mine = render(props[name], RENAMED)
                if normalize(mine, enums) != normalize(ams.type, enums):
                    found[(model, name, "type")] = f"ours {mine}, AMS {ams.type}"
                if (name in required) != ams.required:
                    found[(model, name, "required")] = \
                        f"ours {name in required}, AMS {ams.required}"
                default = props[name].get("default", NO_DEFAULT)
                same = default == ams.default or (ams.default is NO_DEFAULT
                                                  and default in (NO_DEFAULT, None))
                if not same:
                    shown = "none" if ams.default is NO_DEFAULT else repr(ams.default)
                    found[(model, name, "default")] = f"ours {default!r}, AMS {shown}"
    return found


def test_the_dump_parses() -> None:
    """The reference dump yields AMS's models with types, required flags and defaults."""
    record = AMS_MODELS["MemoryRecord"]
    assert record["text"].required and record["text"].type == "string"
    assert record["memory_type"].default == "message"
    assert AMS_MODELS["SearchRequest"]["limit"].default == 10
    assert AMS_ENUMS["MemoryTypeEnum"] == ["episodic", "semantic", "message"]
    assert normalize("list[A | B] | null", {}) == normalize("null | list[B | A]", {})


def test_shared_models_match_ams_except_listed_differences() -> None:
    """Every difference on a model both servers have is listed, with a reason, in
    ``intended_differences.py``; nothing else differs."""
    found = _differences()
    unlisted = {key: what for key, what in found.items() if key not in DIFFERENCES}
    assert not unlisted, "differences from AMS not listed in intended_differences.py:\n" + \
        "\n".join(f"  {k}: {v}" for k, v in sorted(unlisted.items()))


def test_every_listed_difference_is_real() -> None:
    """A listed difference that no longer exists is removed from the list (no stale entries)."""
    found = _differences()
    stale = sorted(key for key in DIFFERENCES if key not in found)
    assert not stale, f"intended_differences.py lists differences that are gone: {stale}"


CORE_MODELS = ["MemoryRecord", "WorkingMemoryResponse", "SearchRequest", "MemoryMessage",
               "UpdateWorkingMemory", "SessionListResponse", "HealthCheckResponse", "AckResponse",
               "CreateMemoryRecordRequest", "MemoryRecordResultsResponse", "MemoryPromptRequest"]


@pytest.mark.parametrize("model", CORE_MODELS)
def test_core_ams_models_exist_here(model: str) -> None:
    """The models AMS clients send and read most exist under AMS's name (or a listed rename)."""
    assert model in _our_components()
