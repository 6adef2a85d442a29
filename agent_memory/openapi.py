"""The OpenAPI 3.1 document, generated from the routes the app really serves.

Every route declared with :func:`agent_memory.api._http.endpoint` carries an ``EndpointSpec``
(``route.spec``). :func:`build_openapi` walks the app's routes (through ``Mount``s), and turns
each spec into an operation: the body, query and response models become JSON Schemas generated
by pydantic in ONE batch (so two models with the same name, or a model used both as input and
as output, get distinct, stable component names), path parameters come from the path template,
and every operation documents the error bodies the error handlers really render. Nothing here
is written by hand per route: a new route appears as soon as it is mounted.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode
from starlette.routing import BaseRoute, Mount, Route

from agent_memory import __version__
from agent_memory.api._http import EndpointSpec

REF_TEMPLATE = "#/components/schemas/{model}"
_PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")

# Shapes rendered by agent_memory/api/_errors.py and agent_memory/errors.py. Kept next to the
# generator (not derived from a model) because the handlers build these bodies as dicts.
ERROR_SCHEMAS: dict[str, Any] = {
    "ErrorInfo": {
        "type": "object",
        "title": "ErrorInfo",
        "description": "Machine-readable error: a stable code, a message and optional details.",
        "properties": {
            "code": {"type": "string", "title": "Code"},
            "message": {"type": "string", "title": "Message"},
            "details": {"title": "Details"},
        },
        "required": ["code", "message", "details"],
    },
    "ErrorResponse": {
        "type": "object",
        "title": "ErrorResponse",
        "description": "Every error body: AMS's `detail` plus our `error` object.",
        "properties": {
            "detail": {"title": "Detail"},
            "error": {"$ref": "#/components/schemas/ErrorInfo"},
        },
        "required": ["detail", "error"],
    },
    "ValidationErrorItem": {
        "type": "object",
        "title": "ValidationErrorItem",
        "properties": {
            "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "msg": {"type": "string"},
            "type": {"type": "string"},
            "input": {},
        },
        "required": ["loc", "msg", "type"],
    },
    "HTTPValidationError": {
        "type": "object",
        "title": "HTTPValidationError",
        "description": "422: FastAPI-shaped list under `detail` (as AMS), also in `error`.",
        "properties": {
            "detail": {"type": "array",
                       "items": {"$ref": "#/components/schemas/ValidationErrorItem"}},
            "error": {"$ref": "#/components/schemas/ErrorInfo"},
        },
        "required": ["detail", "error"],
    },
}


@dataclass(frozen=True)
class DeclaredRoute:
    """A route as the outside world sees it: full path template, method, spec."""

    path: str
    method: str
    spec: EndpointSpec
    route: Route


def declared_routes(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[DeclaredRoute]:
    """Every ``endpoint(...)`` route under ``routes``, canonical spellings only.

    Mounts are walked recursively; routes registered with ``include_in_schema=False`` (the
    trailing-slash twins, the docs pages) are skipped.
    """
    for route in routes:
        if isinstance(route, Mount):
            yield from declared_routes(route.routes, prefix + route.path)
        elif isinstance(route, Route) and route.include_in_schema:
            spec = getattr(route, "spec", None)
            if isinstance(spec, EndpointSpec):
                yield DeclaredRoute(prefix + route.path, spec.method.upper(), spec, route)


def _operation_id(declared: DeclaredRoute, taken: set[str]) -> str:
    base = declared.route.name or declared.method.lower()
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate


def _error_response(description: str, schema: str = "ErrorResponse") -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _collect_schemas(declared: list[DeclaredRoute]) -> tuple[dict[Any, Any], dict[str, Any]]:
    """JSON Schemas of every body/query (validation) and response (serialization) type."""
    inputs: list[tuple[int, JsonSchemaMode, TypeAdapter[Any]]] = []
    seen: set[tuple[int, str]] = set()

    def add(kind: Any, mode: JsonSchemaMode) -> None:
        if kind is None or (id(kind), mode) in seen:
            return
        seen.add((id(kind), mode))
        inputs.append((id(kind), mode, TypeAdapter(kind)))

    for item in declared:
        add(item.spec.body, "validation")
        add(item.spec.query, "validation")
        add(item.spec.response, "serialization")
    if not inputs:
        return {}, {}
    by_key, defs = TypeAdapter.json_schemas(inputs, ref_template=REF_TEMPLATE)
    return by_key, defs.get("$defs", {})


def _deref(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref and ref.startswith("#/components/schemas/"):
        return components[ref.rsplit("/", 1)[1]]
    return schema


def _query_parameters(model: type[BaseModel], schema: dict[str, Any],
                      components: dict[str, Any]) -> list[dict[str, Any]]:
    resolved = _deref(schema, components)
    required = set(resolved.get("required", []))
    params = []
    for name, prop in resolved.get("properties", {}).items():
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required,
                                 "schema": prop}
        if prop.get("description"):
            param["description"] = prop["description"]
        params.append(param)
    return params


def _operation(item: DeclaredRoute, schemas: dict[Any, Any], components: dict[str, Any],
               op_id: str, auth: bool) -> dict[str, Any]:
    spec = item.spec
    doc = inspect.cleandoc(item.route.endpoint.__doc__ or "")
    op: dict[str, Any] = {"operationId": op_id, "summary": spec.summary}
    if doc:
        op["description"] = doc
    if spec.tags:
        op["tags"] = list(spec.tags)
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PARAM.findall(item.path)
    ]
    if spec.query is not None:
        parameters += _query_parameters(spec.query, schemas[(id(spec.query), "validation")],
                                        components)
    if parameters:
        op["parameters"] = parameters
    if spec.body is not None:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": schemas[(id(spec.body), "validation")]}}}

    responses: dict[str, Any] = {}
    if spec.response is not None:
        responses[str(spec.status_code)] = {
            "description": spec.summary,
            "content": {"application/json": {
                "schema": schemas[(id(spec.response), "serialization")]}},
        }
    else:
        responses[str(spec.status_code)] = {"description": spec.summary}
    for status, description in sorted(spec.extra_responses.items()):
        responses[str(status)] = _error_response(description)
    if spec.body is not None or spec.query is not None:
        responses["422"] = _error_response("The body or query did not validate",
                                           "HTTPValidationError")
    if spec.body is not None:
        responses.setdefault("413", _error_response("The body is over MAX_REQUEST_BYTES"))
    if auth and not spec.public:
        responses.setdefault("401", _error_response("Missing or invalid credentials"))
        responses.setdefault("403", _error_response("Outside the caller's tenant bounds"))
        op["security"] = [{"bearerAuth": []}]
    responses.setdefault("503", _error_response("Redis (or the model endpoint) is unavailable"))
    responses["4XX"] = _error_response("Any other client error, in the same shape")
    for response in responses.values():
        response["headers"] = {"X-Request-ID": {"$ref": "#/components/headers/XRequestID"}}
    op["responses"] = responses
    return op


def build_openapi(routes: Iterable[BaseRoute], *, auth: bool = False,
                  title: str = "agent-memory") -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes`` (an app's ``app.routes``).

    Args:
        routes: The app's top-level routes; mounts are walked.
        auth: Whether credentials are required (adds ``bearerAuth`` and 401/403 to every
            non-public operation).
        title: ``info.title``.
    """
    declared = sorted(declared_routes(routes), key=lambda d: (d.path, d.method))
    schemas, components = _collect_schemas(declared)
    components = {**components, **ERROR_SCHEMAS}
    paths: dict[str, dict[str, Any]] = {}
    taken: set[str] = set()
    for item in declared:
        op = _operation(item, schemas, components, _operation_id(item, taken), auth)
        paths.setdefault(item.path, {})[item.method.lower()] = op
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": __version__,
            "description": "A Redis-native memory server for LLM agents, wire-compatible with "
            "Redis's Agent Memory Server. Errors always carry `detail` (as AMS) and `error`.",
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.items())),
            "headers": {"XRequestID": {
                "description": "The request's id: the client's X-Request-ID when it is 1-128 "
                "safe characters, else a new random one. Also in the access log.",
                "schema": {"type": "string"},
            }},
        },
    }
    if auth:
        doc["components"]["securitySchemes"] = {
            "bearerAuth": {"type": "http", "scheme": "bearer",
                           "description": "A token (AUTH_MODE=token) or a JWT (oauth2)."}
        }
    return doc
