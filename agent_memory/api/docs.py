"""``/openapi.json`` and an interactive ``/docs`` page that works offline.

The Swagger UI assets come from the ``swagger-ui-py`` wheel (Swagger UI 5, which renders
OpenAPI 3.1) and are served from the package directory: nothing is fetched from a CDN, so the
page works on an air-gapped host. The document is generated once per app, on first request,
from the routes the app really serves (:mod:`agent_memory.openapi`).
"""

from __future__ import annotations

import html
import importlib.resources
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from agent_memory.auth.mode import resolve_auth_mode
from agent_memory.openapi import build_openapi
from agent_memory.settings import AuthMode

OPENAPI_PATH = "/openapi.json"
DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js" charset="utf-8"></script>
<script src="{assets}/swagger-ui-standalone-preset.js" charset="utf-8"></script>
<script>
window.onload = function () {{
  window.ui = SwaggerUIBundle({{
    url: "{spec}",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout"
  }});
}};
</script>
</body>
</html>
"""


def assets_directory() -> Path:
    """Where the installed ``swagger-ui-py`` keeps Swagger UI's static files."""
    return Path(str(importlib.resources.files("swagger_ui") / "static"))


def _auth_enabled(request: Request) -> bool:
    return resolve_auth_mode(request.app.state.settings) is not AuthMode.disabled


async def openapi_json(request: Request) -> Response:
    """The generated document (cached on the app: routes do not change once it runs)."""
    state = request.app.state
    doc = getattr(state, "openapi_document", None)
    if doc is None:
        doc = build_openapi(request.app.routes, auth=_auth_enabled(request))
        state.openapi_document = doc
    return JSONResponse(doc)


async def docs_page(request: Request) -> Response:
    """Swagger UI for the document, with every asset served by this server."""
    root = request.scope.get("root_path", "").rstrip("/")
    page = _PAGE.format(title=html.escape("agent-memory API"), assets=root + ASSETS_PATH,
                        spec=root + OPENAPI_PATH)
    return HTMLResponse(page)


def docs_routes() -> list[BaseRoute]:
    """Routes to mount at the application root (kept out of the document itself)."""
    return [
        Route(OPENAPI_PATH, openapi_json, methods=["GET"], include_in_schema=False),
        Route(DOCS_PATH, docs_page, methods=["GET"], include_in_schema=False),
        Mount(ASSETS_PATH, app=StaticFiles(directory=assets_directory()), name="docs-assets"),
    ]
