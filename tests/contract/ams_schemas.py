"""Read AMS's schema dump (``data/ams-schemas.txt``) and render our JSON Schemas the same way.

The dump comes from the project's reference notes (generated from AMS 0.15.2's OpenAPI
document): one ``## Model`` header per schema, then ``  field: TYPE [REQUIRED] [default=X]
[minimum=N] [maximum=N]`` lines; enums are ``## Name: ['a', 'b']``. Types are rendered as
``string``, ``string(date-time)``, ``list[X]``, ``A | B``, ``enum['a', 'b']``, ``const 'x'``,
``object``, ``any`` or a model name.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DUMP = Path(__file__).parent / "data" / "ams-schemas.txt"
_FIELD = re.compile(
    r"^  (?P<name>\S+): (?P<type>.*?)(?: (?P<required>REQUIRED))?"
    r"(?: default=(?P<default>.*?))?(?: minimum=\S+)?(?: maximum=\S+)?\s*$"
)


@dataclass(frozen=True)
class AmsField:
    """One field as AMS declares it."""

    type: str
    required: bool
    default: Any  # NO_DEFAULT when the dump shows none (AMS omits null and factory defaults)


NO_DEFAULT = object()


Models = dict[str, dict[str, AmsField]]


def parse_dump(text: str | None = None) -> tuple[Models, dict[str, list[str]]]:
    """``(models, enums)`` from the dump: ``models[name][field]`` and ``enums[name]``."""
    models: dict[str, dict[str, AmsField]] = {}
    enums: dict[str, list[str]] = {}
    current: dict[str, AmsField] | None = None
    for line in (text if text is not None else DUMP.read_text()).splitlines():
        if line.startswith("## "):
            head = line[3:].strip()
            if ": [" in head:
                name, values = head.split(": ", 1)
                enums[name] = ast.literal_eval(values)
                current = None
            else:
                current = models.setdefault(head, {})
            continue
        match = _FIELD.match(line)
        if match and current is not None:
            raw = match["default"]
            default = NO_DEFAULT if raw is None else json.loads(raw)
            current[match["name"]] = AmsField(match["type"].strip(), bool(match["required"]),
                                              default)
    return models, enums


def render(schema: dict[str, Any], renames: dict[str, str]) -> str:
    """Our JSON Schema in the dump's notation; ``renames`` maps our model names to AMS's."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        name = re.sub(r"-(Input|Output)$", "", name)
        return renames.get(name, name)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(render(s, renames) for s in schema[key])
    if "const" in schema:
        return f"const {schema['const']!r}"
    if "enum" in schema:
        return "enum[" + ", ".join(repr(v) for v in schema["enum"]) + "]"
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(render({**schema, "type": k}, renames) for k in kind)
    if kind == "array":
        return f"list[{render(schema.get('items', {}), renames)}]"
    if kind == "string":
        return f"string({schema['format']})" if "format" in schema else "string"
    if kind in ("integer", "number", "boolean", "null", "object"):
        return kind
    return "any"


def _split(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += char == "["
        depth -= char == "]"
        if depth == 0 and text.startswith(" | ", i):
            parts.append(text[start:i])
            start = i + 3
    parts.append(text[start:])
    return [p.strip() for p in parts]


def normalize(text: str, enums: dict[str, list[str]]) -> frozenset[Any]:
    """A type string as an order-free set of alternatives, with enum names expanded."""
    out: set[Any] = set()
    for alt in _split(text):
        if alt.startswith("list[") and alt.endswith("]"):
            out.add(("list", normalize(alt[5:-1], enums)))
        elif alt in enums:
            out.add(("enum", frozenset(enums[alt])))
        elif alt.startswith("enum["):
            out.add(("enum", frozenset(ast.literal_eval(alt[4:]))))
        else:
            out.add(alt)
    return frozenset(out)
