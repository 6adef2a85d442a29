"""``agent-memory token add|list|show|remove`` against the test Redis."""

from __future__ import annotations

import json

import pytest
from redis.asyncio import Redis

from agent_memory.cli import main


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, redis_url: str, redis: Redis,
        capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run the CLI with REDIS_URL set; returns its stdout."""
    monkeypatch.setenv("REDIS_URL", redis_url)

    def run(*argv: str) -> str:
        capsys.readouterr()
        main(list(argv))
        return capsys.readouterr().out

    return run


def test_add_list_show_remove(cli) -> None:  # type: ignore[no-untyped-def]
    """A token is printed once, listed by id without its secret, shown by prefix, removed."""
    added = json.loads(cli("token", "add", "-d", "ci bot", "-n", "team-a", "-n", "team-b",
                           "-u", "bot", "-e", "7", "--format", "json"))
    secret, token_id = added["token"], added["id"]
    assert secret.startswith("amt_") and len(secret) > 40
    assert added["namespaces"] == ["team-a", "team-b"] and added["user_id"] == "bot"
    assert added["expires_at"] - added["created_at"] == 7 * 86400

    listing = cli("token", "list")
    assert token_id[:16] in listing and "ci bot" in listing and secret not in listing
    listed = json.loads(cli("token", "list", "--format", "json"))
    assert [t["id"] for t in listed] == [token_id]

    shown = cli("token", "show", token_id[:10])
    assert "namespaces=team-a,team-b user=bot" in shown and secret not in shown

    assert "removed" in cli("token", "remove", token_id[:12], "-f")
    assert json.loads(cli("token", "list", "--format", "json")) == []


def test_admin_and_text_output(cli) -> None:  # type: ignore[no-untyped-def]
    """The text form shows the token once and says how it is bound."""
    out = cli("token", "add", "-d", "ops", "--admin")
    assert out.startswith("token: amt_") and "admin (every tenant)" in out and "never" in out


@pytest.mark.parametrize("argv,message", [
    (("token", "add", "-d", "unbound"), "bind the token"),
    (("token", "add", "-d", "both", "--admin", "-n", "a"), "admin token"),
    (("token", "show", "abc"), "at least 8"),
    (("token", "show", "0123456789abcdef"), "no token"),
    (("token", "remove", "fedcba9876543210"), "no token"),
])
def test_errors_exit_with_a_message(cli, argv: tuple[str, ...], message: str) -> None:  # type: ignore[no-untyped-def]
    """Bad requests exit non-zero with a readable message, never a traceback."""
    with pytest.raises(SystemExit) as exit_info:
        cli(*argv)
    assert message in str(exit_info.value.code)
