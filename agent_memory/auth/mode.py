"""Which auth mode is in force, reconciling ``AUTH_MODE`` with AMS's older switches.

AMS turns auth on only when ``DISABLE_AUTH=false`` *and* ``AUTH_MODE`` is not ``disabled``
(or ``TOKEN_AUTH_ENABLED=true``), and its Docker image sets ``DISABLE_AUTH=false`` while
leaving ``AUTH_MODE=disabled`` -- so an AMS deployment that believed it had auth on had none.
Here every ambiguity resolves towards *more* protection or a refusal to start:

- An explicit ``AUTH_MODE`` always wins. ``DISABLE_AUTH=true`` next to ``AUTH_MODE=token``
  keeps auth on (a warning says the switch is ignored): the server fails closed.
- Without ``AUTH_MODE``, ``TOKEN_AUTH_ENABLED=true`` means ``token`` (as in AMS).
- Without ``AUTH_MODE``, ``DISABLE_AUTH=false`` asks for auth without naming a mode: the
  server refuses to start rather than guess (AMS would silently run without auth).
- Otherwise auth is ``disabled`` (the local-development default), loudly logged.
"""

from __future__ import annotations

import logging

from agent_memory.settings import AuthMode, Settings

log = logging.getLogger(__name__)

class AuthConfigError(ValueError):
    """The auth settings are contradictory or incomplete; the server must not start."""


def resolve_auth_mode(settings: Settings) -> AuthMode:
    """The effective mode (see the module docstring for the precedence rules).

    Raises:
        AuthConfigError: ``DISABLE_AUTH=false`` with no ``AUTH_MODE``, or an ``oauth2``
            mode without issuer and audience.
    """
    explicit = "auth_mode" in settings.model_fields_set
    if explicit:
        mode = settings.auth_mode
        if settings.disable_auth and mode is not AuthMode.disabled:
            log.warning("DISABLE_AUTH=true is ignored: AUTH_MODE=%s keeps auth on", mode.value)
    elif settings.token_auth_enabled:
        mode = AuthMode.token
    elif settings.disable_auth is False:
        raise AuthConfigError(
            "DISABLE_AUTH=false asks for authentication but AUTH_MODE is not set; "
            "set AUTH_MODE=token or AUTH_MODE=oauth2"
        )
    else:
        mode = AuthMode.disabled
    if mode is AuthMode.oauth2:
        missing = [name for name, value in (
            ("OAUTH2_ISSUER_URL", settings.oauth2_issuer_url),
            ("OAUTH2_AUDIENCE", settings.oauth2_audience),
        ) if not value]
        if missing:
            raise AuthConfigError(f"AUTH_MODE=oauth2 needs {' and '.join(missing)}")
    return mode

