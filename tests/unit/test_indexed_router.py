"""The indexed ``/v1`` router picks exactly the route Starlette's own scan picks (no Redis)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route

from agent_memory.api._errors import exception_handlers
from agent_memory.api._router import IndexedRouter
from agent_memory.app import _with_slash_variants, create_app
from agent_memory.settings import Settings

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


def _v1_router() -> IndexedRouter:
    app = create_app(Settings(embedding_provider="hashing"))
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/v1")
    assert isinstance(mount.app, IndexedRouter)
    return mount.app


def _starlette_scan(routes: list[BaseRoute], scope: dict[str, Any]) -> tuple[Any, Any, Any]:
    """Starlette's ``Router.app`` choice: the first full match, else the first partial."""
    partial = None
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            return Match.FULL, route, child
        if match is Match.PARTIAL and partial is None:
            partial = (Match.PARTIAL, route, child)
    return partial or (Match.NONE, None, None)


def _concrete(template: str) -> list[str]:
    """Paths a template serves, and near misses: twin slash, one segment more or less, a
    changed first segment, a parameter value that looks like a literal segment."""
    filled = re.sub(r"\{[^}:]+:path\}", "a/b", template)
    paths = {re.sub(r"\{[^}]+\}", "x-1", filled), re.sub(r"\{[^}]+\}", "search", filled)}
    for path in list(paths):
        paths |= {path.rstrip("/") or "/", path + "/", path + "/extra", path.rsplit("/", 1)[0],
                  "/nope" + path, path.replace("/", "/zz", 1), path.upper()}
    return sorted(p for p in paths if p.startswith("/"))


def test_every_route_resolves_as_starlettes_scan() -> None:
    """For every route of the app, every method, and near-miss paths: the indexed router's
    full match is Starlette's (same route, same path params); where it finds none, Starlette
    has no full match either (the router then hands the request to Starlette's scan)."""
    router = _v1_router()
    served = 0
    for template in sorted({r.path for r in router.routes if isinstance(r, Route)}):
        for path in _concrete(template):
            for method in METHODS:
                scope = {"type": "http", "method": method, "path": "/v1" + path,
                         "root_path": "/v1", "path_params": {}}
                kind, route, child = _starlette_scan(router.routes, scope)
                found = router.match(scope)
                if kind is Match.FULL:
                    assert found is not None, (method, path)
                    assert found[0] is route, (method, path, found[0].path, route.path)
                    assert found[1] == child
                    served += 1
                else:
                    assert found is None, (method, path)
    assert served > 500  # the index answered, not the fallback scan


def test_a_routes_own_request_tries_few_routes() -> None:
    """The point of the index: a declared request tries a handful of routes, not 156."""
    router = _v1_router()
    assert len(router.routes) > 100
    assert len(router.candidates("GET", "/working-memory/s-1")) <= 8
    assert len(router.candidates("POST", "/long-term-memory/search")) <= 4
    assert router.candidates("GET", "/no/such/path/at/all") == ()


async def _echo(request: Request) -> Response:
    return JSONResponse({"route": request.scope["route"].path,
                         "params": request.path_params, "method": request.method})


def _toy_routes() -> list[BaseRoute]:
    declared = [Route("/items", _echo, methods=["GET"]), Route("/items", _echo, methods=["POST"]),
                Route("/items/search", _echo, methods=["POST"]),
                Route("/items/{item_id}", _echo, methods=["GET", "DELETE"]),
                Route("/items/{item_id}/parts/{part:int}", _echo, methods=["PUT"]),
                Route("/files/{rest:path}", _echo, methods=["GET"]),
                Route("/{anything}/about", _echo, methods=["GET"])]
    return _with_slash_variants(declared)


REQUESTS = [(m, p) for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH") for p in (
    "/v1/items", "/v1/items/", "/v1/items/search", "/v1/items/search/", "/v1/items/i-1",
    "/v1/items/i-1/", "/v1/items/i-1/parts/3", "/v1/items/i-1/parts/x", "/v1/files/a/b/c",
    "/v1/files/", "/v1/x/about", "/v1/items/about", "/v1/nothing", "/v1/", "/v1")]


@pytest.mark.parametrize(("method", "path"), REQUESTS)
async def test_answers_match_starlettes_router(method: str, path: str) -> None:
    """Over HTTP, an app with the indexed mount answers every request (2xx, 404 JSON shape,
    405 with its complete Allow, path params and convertors, :path parameters) exactly as
    the same app with Starlette's router does."""
    answers = []
    for mount in (Mount("/v1", app=IndexedRouter(_toy_routes())),
                  Mount("/v1", routes=_toy_routes())):
        app = Starlette(routes=[mount], exception_handlers=exception_handlers)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as http:
            r = await http.request(method, path)
        answers.append((r.status_code, r.headers.get("allow"), r.headers.get("location"),
                        r.content))
    assert answers[0] == answers[1]
