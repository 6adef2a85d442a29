"""Authentication (disabled, bearer tokens, OAuth2 JWTs) and the request principal."""

from __future__ import annotations

from .middleware import DOCS_PATHS, AuthMiddleware, Authenticator
from .mode import AuthConfigError, resolve_auth_mode
from .oauth2 import JwksCache, OAuth2Authenticator
from .tokens import TokenAuthenticator, issue_token, principal_for, token_digest

__all__ = [
    "DOCS_PATHS",
    "AuthConfigError",
    "AuthMiddleware",
    "Authenticator",
    "JwksCache",
    "OAuth2Authenticator",
    "TokenAuthenticator",
    "issue_token",
    "principal_for",
    "resolve_auth_mode",
    "token_digest",
]
