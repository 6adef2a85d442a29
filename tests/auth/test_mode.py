"""Which mode is in force: AUTH_MODE against AMS's DISABLE_AUTH / TOKEN_AUTH_ENABLED."""

from __future__ import annotations


import pytest
from redis.asyncio import Redis

from agent_memory.auth import AuthConfigError, resolve_auth_mode
from agent_memory.settings import AuthMode, Settings
from tests.auth.conftest import serve
from tests.conftest import make_settings

AMS_ENV = ("AUTH_MODE", "DISABLE_AUTH", "TOKEN_AUTH_ENABLED", "OAUTH2_ISSUER_URL",
           "OAUTH2_AUDIENCE")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in AMS_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("env,expected", [
    ({}, AuthMode.disabled),
    ({"DISABLE_AUTH": "true"}, AuthMode.disabled),
    ({"AUTH_MODE": "token"}, AuthMode.token),
    ({"AUTH_MODE": "token", "DISABLE_AUTH": "true"}, AuthMode.token),  # fails closed
    ({"AUTH_MODE": "disabled", "DISABLE_AUTH": "false"}, AuthMode.disabled),
    ({"TOKEN_AUTH_ENABLED": "true"}, AuthMode.token),
    ({"TOKEN_AUTH_ENABLED": "true", "DISABLE_AUTH": "true"}, AuthMode.token),
    ({"AUTH_MODE": "oauth2", "OAUTH2_ISSUER_URL": "https://i", "OAUTH2_AUDIENCE": "a"},
     AuthMode.oauth2),
])
def test_resolution(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                    expected: AuthMode) -> None:
    """An explicit AUTH_MODE wins; TOKEN_AUTH_ENABLED means token; otherwise disabled."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert resolve_auth_mode(Settings()) is expected


@pytest.mark.parametrize("env", [
    {"DISABLE_AUTH": "false"},  # AMS's image: "auth on" with no mode would run open there
    {"AUTH_MODE": "oauth2"},
    {"AUTH_MODE": "oauth2", "OAUTH2_ISSUER_URL": "https://i"},
])
def test_ambiguous_or_incomplete_configuration_refuses(monkeypatch: pytest.MonkeyPatch,
                                                       env: dict[str, str]) -> None:
    """Configurations that ask for auth without saying how are refused, never run open."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(AuthConfigError):
        resolve_auth_mode(Settings())


def test_none_algorithm_is_refused_by_settings() -> None:
    """``none`` can never be configured."""
    with pytest.raises(ValueError, match="none"):
        Settings(oauth2_algorithms=["RS256", "none"])


async def test_disabled_mode_serves_everyone_as_admin(redis_url: str, redis: Redis) -> None:
    """Without auth every caller reaches every namespace, with no header at all."""
    async with serve(make_settings(redis_url)) as http:
        for params in ({}, {"namespace": "any"}, {"user_id": "anyone"}):
            assert (await http.get("/v1/working-memory/", params=params)).status_code == 200


async def test_app_refuses_to_start_on_ambiguous_settings(redis_url: str, redis: Redis) -> None:
    """The app does not come up when DISABLE_AUTH=false names no mode."""
    settings = make_settings(redis_url, disable_auth=False)
    # Starlette builds its middleware on the first ASGI call: the lifespan startup fails.
    with pytest.raises(Exception) as failure:
        async with serve(settings) as http:
            await http.get("/v1/health")
    assert isinstance(failure.value, AuthConfigError) or isinstance(
        failure.value.__cause__, AuthConfigError)


def test_cli_refuses_public_bind_without_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    """``agent-memory api --host 0.0.0.0`` with auth off exits before serving."""
    from agent_memory.cli import _check_bind

    with pytest.raises(SystemExit, match="refusing to bind"):
        _check_bind(Settings(host="0.0.0.0"))
    with pytest.raises(SystemExit, match="AUTH_MODE"):
        _check_bind(Settings(host="0.0.0.0", disable_auth=False))
    _check_bind(Settings(host="0.0.0.0", auth_mode="token"))  # fine: auth is on


