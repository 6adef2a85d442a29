"""Route declaration: parse and validate input with pydantic, render output, keep metadata.

Every route is declared with :func:`endpoint`, which records its body, query and response
models on the ``Route`` so that the OpenAPI document is generated from the models the route
really uses. Handlers receive validated models and return a model or a ``Response``.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError, to_jsonable_python
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agent_memory.errors import Unauthorized, ValidationFailed
from agent_memory.principal import Principal

Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class EndpointSpec:
    """What a route takes and returns, for validation and for the OpenAPI document."""

    method: str
    path: str
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status_code: int = 200
    tags: tuple[str, ...] = ()
    public: bool = False  # reachable without credentials (health, docs)
    extra_responses: dict[int, str] = field(default_factory=dict)


class ModelResponse(Response):
    """A JSON response rendered by pydantic (Rust), skipping ``json.dumps``."""

    media_type = "application/json"

    def __init__(self, content: Any, status_code: int = 200, headers: Any = None,
                 adapter: TypeAdapter[Any] | None = None) -> None:
        if isinstance(content, BaseModel):
            body = content.model_dump_json()
        else:
            body = (adapter or TypeAdapter(type(content))).dump_json(content).decode()
        super().__init__(body, status_code=status_code, headers=headers)


def validation_details(exc: ValidationError, location: str) -> list[dict[str, Any]]:
    """FastAPI-shaped error entries (``loc``, ``msg``, ``type``) with the field paths."""
    out = []
    for err in exc.errors(include_url=False, include_context=False):
        item: dict[str, Any] = {
            "type": err["type"],
            "loc": [location, *err["loc"]],
            "msg": err["msg"],
        }
        value = err.get("input")
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        try:
            value = to_jsonable_python(value)
        except PydanticSerializationError:
            value = repr(value)
        if len(repr(value)) <= 200:  # echo small inputs only; never a 10 MB body back
            item["input"] = value
        out.append(item)
    return out


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(a) for a in typing.get_args(annotation))
    return False


@functools.lru_cache(maxsize=None)
def _query_keys(model: type[BaseModel]) -> tuple[tuple[str, bool], ...]:
    """``(parameter name, is a list)`` per field of a query model, worked out once."""
    return tuple((info.alias or name, _is_list(info.annotation))
                 for name, info in model.model_fields.items())


def parse_query(request: Request, model: type[BaseModel],
                error: type[ValidationFailed] = ValidationFailed) -> BaseModel:
    """Validate query parameters into ``model``; repeated keys fill list fields."""
    params = request.query_params
    data: dict[str, Any] = {}
    for key, is_list in _query_keys(model):
        if key in params:
            data[key] = params.getlist(key) if is_list else params[key]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error("invalid query parameters", details=validation_details(exc, "query")) from exc


async def parse_body(request: Request, model: type[BaseModel],
                     error: type[ValidationFailed] = ValidationFailed) -> BaseModel:
    """Validate the JSON body into ``model`` (422 with field paths on failure)."""
    raw = await request.body()
    if not raw.strip():
        raise error(
            "request body is required",
            details=[{"type": "missing", "loc": ["body"], "msg": "Field required"}],
        )
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise error("invalid request body", details=validation_details(exc, "body")) from exc


def principal_of(request: Request) -> Principal:
    """The caller, as the auth middleware left it (the local admin when auth is off).

    Fails closed: a request that reached a route without passing the auth middleware is
    a wiring bug, and must never be served as an admin.
    """
    principal = request.scope.get("principal")
    if not isinstance(principal, Principal):
        raise Unauthorized("no authenticated caller")
    return principal


def endpoint(
    method: str,
    path: str,
    *,
    summary: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: Any = None,
    status_code: int = 200,
    tags: tuple[str, ...] = (),
    public: bool = False,
    extra_responses: dict[int, str] | None = None,
    invalid: type[ValidationFailed] = ValidationFailed,
) -> Callable[[Handler], Route]:
    """Declare a route.

    The handler is called as ``handler(request, **path_params, body=..., query=...)`` (only
    the keywords that apply) and returns a pydantic model, any value ``response`` can dump,
    or a ready ``Response``. ``invalid`` is the error raised for a body or query that does
    not validate (a door whose contract names another error code passes its own subclass).

    Example:
        @endpoint("GET", "/working-memory/{session_id}", summary="Get a session",
                  query=GetSessionQuery, response=WorkingMemoryResponse)
        async def get_session(request, session_id, query): ...
    """
    spec = EndpointSpec(method, path, summary, body, query, response, status_code, tags, public,
                        extra_responses or {})
    adapter = TypeAdapter(response) if response is not None else None

    def decorate(handler: Handler) -> Route:
        async def asgi_endpoint(request: Request) -> Response:
            kwargs: dict[str, Any] = dict(request.path_params)
            if query is not None:
                kwargs["query"] = parse_query(request, query, invalid)
            if body is not None:
                kwargs["body"] = await parse_body(request, body, invalid)
            result = await handler(request, **kwargs)
            if isinstance(result, Response):
                return result
            return ModelResponse(result, status_code=status_code, adapter=adapter)

        asgi_endpoint.__name__ = handler.__name__
        asgi_endpoint.__doc__ = handler.__doc__
        route = Route(path, asgi_endpoint, methods=[method])
        route.spec = spec  # type: ignore[attr-defined]
        return route

    return decorate
