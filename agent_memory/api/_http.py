"""Route declaration: parse and validate input with pydantic, render output, keep metadata.

Every route is declared with :func:`endpoint`, which records its body, query and response
models on the ``Route`` so that the OpenAPI document is generated from the models the route
really uses. Handlers receive validated models and return a model or a ``Response``.
"""

from __future__ import annotations

import functools
import json
import math
import types
import typing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError, to_jsonable_python
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from agent_memory.errors import Unauthorized, UnsupportedMediaType, ValidationFailed
from agent_memory.models._types import memory_id_problem
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
    """A JSON response rendered by pydantic (Rust), skipping ``json.dumps``.

    The body is pydantic's bytes as they come (``model_dump_json`` decoded them to text,
    which the response then encoded back), and the headers are built here in one pass:
    Starlette's ``Response`` would render and scan them again.
    """

    media_type = "application/json"

    def __init__(self, content: Any, status_code: int = 200,
                 headers: Mapping[str, str] | None = None,
                 adapter: TypeAdapter[Any] | None = None) -> None:
        if isinstance(content, BaseModel):
            body = content.__pydantic_serializer__.to_json(content)
        else:
            body = (adapter or TypeAdapter(type(content))).dump_json(content)
        self.status_code = status_code
        self.background = None
        self.body = body
        raw = ([] if headers is None else
               [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()])
        names = {name for name, _ in raw}
        if b"content-length" not in names and status_code >= 200 and status_code not in (204, 304):
            raw.append((b"content-length", b"%d" % len(body)))
        if b"content-type" not in names:
            raw.append(_JSON_TYPE)
        self.raw_headers = raw


_JSON_TYPE = (b"content-type", b"application/json")


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
            json.dumps(value, allow_nan=False)  # NaN/Infinity inputs: not JSON, echo as text
        except (PydanticSerializationError, ValueError, TypeError):
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


def query_values(query_string: bytes) -> dict[str, list[str]]:
    """Every value of every query parameter, in order (what Starlette's ``QueryParams``
    holds). A query with nothing to unescape (no ``%``, no ``+``) is split directly, about
    seven times faster than ``parse_qsl`` and its multi-dict."""
    out: dict[str, list[str]] = {}
    if b"%" in query_string or b"+" in query_string:
        pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    else:
        pairs = [p.partition("=")[::2] for p in query_string.decode("latin-1").split("&") if p]
    for key, value in pairs:
        found = out.get(key)
        if found is None:
            out[key] = [value]
        else:
            found.append(value)
    return out


def parse_query(request: Request, model: type[BaseModel],
                error: type[ValidationFailed] = ValidationFailed) -> BaseModel:
    """Validate query parameters into ``model``; repeated keys fill list fields (a scalar
    field takes the last value, as ``QueryParams`` gives it)."""
    params = query_values(request.scope.get("query_string", b""))
    data: dict[str, Any] = {}
    for key, is_list in _query_keys(model):
        values = params.get(key)
        if values is not None:
            data[key] = values if is_list else values[-1]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error("invalid query parameters", details=validation_details(exc, "query")) from exc


# Where a non-finite number could hide: NaN/Infinity literals, or a positive exponent of 3+
# digits (1e99999 parses to inf). Digits are mapped to "0" and "E" to "e" (one C pass over
# the bytes), then two substring searches; only a hit (which text such as "Ne123" can also
# give) costs the exact parse below.
_NUMBER_SHAPE = bytes.maketrans(b"0123456789E", b"0000000000e")


def _may_hold_non_finite(raw: bytes) -> bool:
    if b"NaN" in raw or b"Infinity" in raw:
        return True
    shape = raw.translate(_NUMBER_SHAPE)
    return b"e000" in shape or b"e+000" in shape


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _non_finite(token: str) -> float:
    raise ValueError(token)


def reject_non_finite(raw: bytes) -> None:
    """422 when the JSON body holds ``NaN``, ``Infinity`` or a number that overflows to it.

    Such values are not JSON (RFC 8259); accepted, they reached scoring maths and stored
    metadata, and echoing them in a 422 failed with a 500.
    """
    if not _may_hold_non_finite(raw):
        return
    try:
        json.loads(raw, parse_constant=_non_finite, parse_float=_finite_float)
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            return  # not JSON at all: pydantic reports it with its position
        raise ValidationFailed(
            "non-finite numbers (NaN, Infinity, overflowing exponents) are not valid JSON",
            details=[{"type": "finite_number", "loc": ["body"],
                      "msg": "Input should be a finite number"}],
        ) from None


def is_json_media_type(content_type: str) -> bool:
    """``application/json`` (any parameters, e.g. charset) or a ``+json`` type."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/")
                                             and media.endswith("+json"))


def require_json_content_type(request: Request) -> None:
    """415 unless the body is declared JSON.

    A browser sends ``text/plain`` cross-site without a preflight; parsing such a body as
    JSON let any web page write to a server on the user's machine.
    """
    content_type = ""
    for name, value in request.scope["headers"]:  # raw: no Headers object per request
        if name == b"content-type":
            if value == b"application/json":
                return
            content_type = value.decode("latin-1")
            break
    if not is_json_media_type(content_type):
        raise UnsupportedMediaType(
            "request body must be sent as Content-Type: application/json",
            details={"content_type": content_type or None},
        )


def body_context(request: Request) -> dict[str, Any]:
    """Validation context of request bodies: the size caps from settings."""
    settings = getattr(request.app.state, "settings", None)
    return {"max_text_chars": getattr(settings, "max_text_chars", None)}


async def parse_body(request: Request, model: type[BaseModel],
                     error: type[ValidationFailed] = ValidationFailed) -> BaseModel:
    """Validate the JSON body into ``model`` (422 with field paths on failure).

    Declared JSON only (415), finite numbers only, and the text caps of
    :func:`body_context`.
    """
    require_json_content_type(request)
    raw = await request.body()
    if not raw.strip():
        raise error(
            "request body is required",
            details=[{"type": "missing", "loc": ["body"], "msg": "Field required"}],
        )
    reject_non_finite(raw)
    try:
        return model.model_validate_json(raw, context=body_context(request))
    except ValidationError as exc:
        raise error("invalid request body", details=validation_details(exc, "body")) from exc


def path_memory_id(value: str, name: str = "memory_id") -> str:
    """A memory id from the path, held to the same rule as ids in bodies (422 otherwise)."""
    problem = memory_id_problem(value)
    if problem is not None:
        raise ValidationFailed(f"invalid {name}", details=[
            {"type": "identifier", "loc": ["path", name], "msg": f"id {problem}"}])
    return value


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
    invalid: Callable[[ValidationFailed], Exception] | None = None,
) -> Callable[[Handler], Route]:
    """Declare a route.

    The handler is called as ``handler(request, **path_params, body=..., query=...)`` (only
    the keywords that apply) and returns a pydantic model, any value ``response`` can dump,
    or a ready ``Response``. ``invalid`` turns a body or query validation failure into a
    door's own error (a door whose contract names its own code for bad input).

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
            try:
                if query is not None:
                    kwargs["query"] = parse_query(request, query)
                if body is not None:
                    kwargs["body"] = await parse_body(request, body)
            except ValidationFailed as exc:
                if invalid is None:
                    raise
                raise invalid(exc) from exc
            result = await handler(request, **kwargs)
            if isinstance(result, Response):
                return result
            return ModelResponse(result, status_code=status_code, adapter=adapter)

        route = Route(path, _Endpoint(asgi_endpoint, handler), methods=[method],
                      name=handler.__name__)
        route.spec = spec  # type: ignore[attr-defined]
        return route

    return decorate


class _Endpoint:
    """The ASGI app of a declared route: the request, the handler, the response.

    An ASGI object rather than a function, which Starlette would wrap in
    ``request_response``: that wrapper catches the handler's exceptions for the exception
    handlers, which the app's ``ExceptionMiddleware`` does anyway with the same handlers,
    and it cost every request a second exception frame and send wrapper.
    """

    def __init__(self, run: Callable[[Request], Awaitable[Response]], handler: Handler) -> None:
        self.run = run
        self.__name__ = handler.__name__
        self.__doc__ = handler.__doc__  # the operation's description in the OpenAPI document

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.run(Request(scope, receive, send))
        await response(scope, receive, send)
