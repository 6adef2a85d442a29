"""The generated OpenAPI document: complete, valid, and served with an offline docs page."""

from __future__ import annotations

import re
from typing import Any

import httpx
from openapi_spec_validator import validate
from pydantic import BaseModel
from starlette.routing import Mount

from agent_memory.api._http import endpoint
from agent_memory.app import create_app
from agent_memory.openapi import build_openapi, declared_routes
from agent_memory.settings import Settings
from tests.conftest import make_settings


async def _document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


async def test_every_route_of_the_app_is_in_the_document(settings: Settings,
                                                         client: httpx.AsyncClient) -> None:
    """Each declared route (walked from the app's routes, mounts included) is an operation."""
    doc = await _document(client)
    declared = list(declared_routes(create_app(settings).routes))
    assert len(declared) >= 7  # health x2, working memory x5, and whatever others add
    for item in declared:
        assert item.path in doc["paths"], item.path
        assert item.method.lower() in doc["paths"][item.path], (item.method, item.path)
    operations = sum(len(ops) for ops in doc["paths"].values())
    assert operations == len(declared)


async def test_document_validates_as_openapi_3_1(client: httpx.AsyncClient) -> None:
    """openapi-spec-validator accepts the document (schemas, refs, parameters)."""
    doc = await _document(client)
    assert doc["openapi"].startswith("3.1")
    validate(doc)


async def test_only_canonical_spellings_are_documented(client: httpx.AsyncClient) -> None:
    """The trailing-slash twins and the docs/metrics pages stay out of the document."""
    paths = set((await _document(client))["paths"])
    assert "/v1/working-memory/" in paths and "/v1/working-memory" not in paths
    assert "/v1/health" in paths and "/v1/health/" not in paths
    assert not {"/docs", "/openapi.json", "/metrics"} & paths


async def test_operations_use_the_models_the_routes_use(client: httpx.AsyncClient) -> None:
    """Body, query parameters, path parameters and responses come from the route's models."""
    doc = await _document(client)
    put = doc["paths"]["/v1/working-memory/{session_id}"]["put"]
    body = put["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/UpdateWorkingMemory"}
    ok = put["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/WorkingMemoryResponse"}
    params = {(p["in"], p["name"]): p for p in put["parameters"]}
    assert params[("path", "session_id")]["required"] is True
    assert ("query", "model_name") in params and ("query", "context_window_max") in params
    listing = doc["paths"]["/v1/working-memory/"]["get"]
    limit = next(p for p in listing["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 100 and limit["schema"]["default"] == 20
    assert put["responses"]["412"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorResponse")
    assert put["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/HTTPValidationError")
    schemas = doc["components"]["schemas"]
    assert set(schemas["ErrorResponse"]["required"]) == {"detail", "error"}
    assert set(schemas["ErrorInfo"]["required"]) == {"code", "message", "details"}
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', str(doc).replace("'", '"')))
    assert refs <= set(schemas), refs - set(schemas)


def test_a_new_route_appears_without_any_registration() -> None:
    """A route declared with ``endpoint(...)`` anywhere under a mount is documented."""

    class Ping(BaseModel):
        word: str

    class Pong(BaseModel):
        echo: str
        count: int = 1

    @endpoint("POST", "/ping/{room}", summary="Ping", body=Ping, response=Pong, tags=("x",),
              extra_responses={409: "Busy"})
    async def ping(request: Any, room: str, body: Ping) -> Pong:
        return Pong(echo=body.word)

    doc = build_openapi([Mount("/v9", routes=[ping])])
    validate(doc)
    op = doc["paths"]["/v9/ping/{room}"]["post"]
    assert op["operationId"] == "ping" and op["tags"] == ["x"]
    assert set(op["responses"]) >= {"200", "409", "413", "422", "503", "4XX"}
    assert doc["components"]["schemas"]["Pong"]["properties"]["count"]["default"] == 1


def test_auth_modes_document_bearer_security(redis_url: str) -> None:
    """With auth on, every non-public operation needs bearerAuth and documents 401/403."""
    settings: Settings = make_settings(redis_url, auth_mode="token")
    doc = build_openapi(create_app(settings).routes, auth=True)
    validate(doc)
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    health = doc["paths"]["/v1/health"]["get"]
    assert "security" not in health and "401" not in health["responses"]
    put = doc["paths"]["/v1/working-memory/{session_id}"]["put"]
    assert put["security"] == [{"bearerAuth": []}]
    assert {"401", "403"} <= set(put["responses"])


async def test_docs_page_works_offline(client: httpx.AsyncClient) -> None:
    """/docs references only assets this server serves; each of them answers 200."""
    page = await client.get("/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "swagger-ui" in page.text and "/openapi.json" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no CDN
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(assets) >= 3
    for asset in assets:
        response = await client.get(asset)
        assert response.status_code == 200, asset
        assert len(response.content) > 1000 or asset.endswith(".png"), asset
    bundle = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert "isOAS31" in bundle.text  # Swagger UI 5: renders OpenAPI 3.1 documents


async def test_docs_need_no_credentials_when_auth_is_on(redis_url: str, redis: object) -> None:
    """With AUTH_MODE=token the contract, its page and its assets stay readable; API routes
    and /metrics (unless METRICS_PUBLIC) answer 401 in the documented error shape."""
    from asgi_lifespan import LifespanManager

    app = create_app(make_settings(redis_url, auth_mode="token"))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for path in ("/openapi.json", "/docs", "/docs/assets/swagger-ui.css"):
                assert (await client.get(path)).status_code == 200, path
            for path in ("/v1/working-memory/", "/metrics"):
                denied = await client.get(path)
                assert denied.status_code == 401, path
                assert set(denied.json()) == {"detail", "error"}
            doc = (await client.get("/openapi.json")).json()
            assert "bearerAuth" in doc["components"]["securitySchemes"]
    scraped = create_app(make_settings(redis_url, auth_mode="token", metrics_public=True))
    async with LifespanManager(scraped) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/metrics")).status_code == 200


async def test_every_response_documents_the_request_id_header(client: httpx.AsyncClient) -> None:
    """X-Request-ID is on every documented response, as the middleware sends it."""
    doc = await _document(client)
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            for status, response in op["responses"].items():
                assert "X-Request-ID" in response["headers"], (method, path, status)
    assert doc["components"]["headers"]["XRequestID"]["schema"] == {"type": "string"}
