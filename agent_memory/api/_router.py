"""A Starlette router that tries only the routes a request can match.

Starlette's ``Router`` tries its routes in order, one regex each, until one matches: with
the ``/v1`` mount's 156 routes (declared paths, their trailing-slash twins and the 405
fallbacks) a ``GET /v1/working-memory/{id}`` ran about 90 regexes, some 60 µs of every
request. :class:`IndexedRouter` first narrows the list to the routes that can match the
request's method, number of path segments and first two segments, kept in their declared
order, then matches those as Starlette would. What it cannot decide from the index (no
route of the narrowed list matches: 404, 405, the trailing-slash redirect) goes to
Starlette's own scan, so every answer stays Starlette's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Receive, Scope, Send

# The index key of a segment, a segment count or a method no route names literally.
_OTHER = object()
# A route's segment that a parameter fills: it matches any value.
_ANY = object()
# Segments the index looks at.
_DEPTH = 2


def _shape(route: BaseRoute) -> tuple[Any, tuple[Any, ...]] | None:
    """``(segment count, first segments)`` of a plain route's template, ``_ANY`` where a
    parameter goes; ``None`` when the route can match any path (not a plain ``Route``, or
    a ``{name:path}`` parameter that may span slashes)."""
    if type(route) is not Route:
        return None
    path = route.path
    if ":path}" in path:
        # A path parameter spans slashes: the count, and every segment from it on, is free.
        head = path.split(":path}", 1)[0]
        segments = [s if "{" not in s else _ANY for s in head.split("/")[1:]]
        segments[-1] = _ANY
        segments += [_ANY] * _DEPTH
        return _ANY, tuple(segments[:_DEPTH])
    segments = [s if "{" not in s else _ANY for s in path.split("/")[1:]]
    return path.count("/"), tuple(segments[:_DEPTH])


class IndexedRouter(Router):
    """A ``Router`` whose requests try only the routes that can match them.

    Routes are indexed by method, number of segments and first two segments; each index
    entry lists, in declared order, every route that could match such a request. The
    first of them that fully matches answers, which is the route Starlette's scan would
    pick: any route before it in the full list either cannot match the path, or does not
    take the method (a partial match, which Starlette only uses when nothing matches fully).
    Without a full match the request goes to Starlette's scan (404, 405, redirect).
    """

    def __init__(self, routes: Sequence[BaseRoute], **kwargs: Any) -> None:
        super().__init__(routes, **kwargs)
        self._shapes = [(route, _shape(route)) for route in self.routes]
        known: list[set[Any]] = [set() for _ in range(_DEPTH)]
        self._counts: set[Any] = set()
        self._methods: set[str] = set()
        for route, shape in self._shapes:
            if shape is not None:
                self._counts.add(shape[0])
                for depth, segment in enumerate(shape[1]):
                    known[depth].add(segment)
            self._methods.update(getattr(route, "methods", None) or ())
        self._known = tuple(frozenset(k - {_ANY}) for k in known)
        self._index: dict[tuple[Any, ...], tuple[BaseRoute, ...]] = {}

    def candidates(self, method: str, route_path: str) -> tuple[BaseRoute, ...]:
        """The routes, in declared order, that could fully match ``method route_path``."""
        parts = route_path.split("/", _DEPTH + 1)[1:_DEPTH + 1]
        segments = tuple(parts[d] if d < len(parts) and parts[d] in self._known[d] else _OTHER
                         for d in range(_DEPTH))
        count = route_path.count("/")
        key = (method if method in self._methods else _OTHER,
               count if count in self._counts else _OTHER, *segments)
        found = self._index.get(key)
        if found is None:  # bounded: every part of the key is a known literal or _OTHER
            found = self._index[key] = tuple(self._could_match(*key))
        return found

    def _could_match(self, method: Any, count: Any, *segments: Any) -> list[BaseRoute]:
        out = []
        for route, shape in self._shapes:
            methods = getattr(route, "methods", None)
            if methods and method not in methods:
                continue  # at most a partial match, which only the full scan uses
            if shape is not None:
                if shape[0] is not _ANY and shape[0] != count:
                    continue
                if any(want is not _ANY and want != got
                       for want, got in zip(shape[1], segments, strict=False)):
                    continue
            out.append(route)
        return out

    def match(self, scope: Scope) -> tuple[BaseRoute, Scope] | None:
        """The route that fully matches an HTTP ``scope`` and its child scope, as Starlette's
        scan would find it; ``None`` when no route matches fully."""
        for route in self.candidates(scope["method"], get_route_path(scope)):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return route, child_scope
        return None

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.match(scope) if scope["type"] == "http" else None
        if found is None:
            await super().app(scope, receive, send)
            return
        route, child_scope = found
        if "router" not in scope:
            scope["router"] = self
        scope["route"] = route
        scope.update(child_scope)
        await route.handle(scope, receive, send)
