"""One error hierarchy; services raise these, one handler renders them.

Every error body keeps AMS's ``{"detail": ...}`` (so existing clients read it) and adds a
machine-readable ``{"error": {"code", "message", "details"}}`` beside it.
"""

from __future__ import annotations

from typing import Any, ClassVar


class MemoryServerError(Exception):
    """Base of every error the server renders itself."""

    code: ClassVar[str] = "internal_error"
    status_code: ClassVar[int] = 500

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        """The JSON body: AMS's ``detail`` plus our ``error`` object."""
        return {
            "detail": self.message,
            "error": {"code": self.code, "message": self.message, "details": self.details},
        }

    def headers(self) -> dict[str, str] | None:
        """Extra response headers (e.g. ``WWW-Authenticate``)."""
        return None


class ClientError(MemoryServerError):
    """The request cannot be served as sent (4xx)."""

    code = "bad_request"
    status_code = 400


class ValidationFailed(ClientError):
    """The body or query did not validate; ``details`` lists the fields (422)."""

    code = "validation_error"
    status_code = 422

    def body(self) -> dict[str, Any]:
        # FastAPI-shaped list under ``detail`` so AMS clients that read it keep working.
        return {
            "detail": self.details,
            "error": {"code": self.code, "message": self.message, "details": self.details},
        }


class InvalidRequest(ValidationFailed):
    """A turn-ingestion request that does not validate (422, code ``invalid_request``: the
    code the post-turn and ingestion contracts name)."""

    code = "invalid_request"

    @classmethod
    def from_failure(cls, exc: ValidationFailed) -> InvalidRequest:
        """The same field errors under this door's code."""
        return cls(exc.message, details=exc.details)


class IdempotencyKeyReused(ClientError):
    """An ``Idempotency-Key`` sent again with a different request (422, as the IETF
    idempotency-key draft advises)."""

    code = "idempotency_key_reused"
    status_code = 422


class NotFound(ClientError):
    """The addressed resource does not exist (404)."""

    code = "not_found"
    status_code = 404

    @classmethod
    def for_session(cls, session_id: str) -> NotFound:
        """AMS's wording for a missing working-memory session."""
        return cls(f"Session {session_id} not found", details={"session_id": session_id})

    @classmethod
    def for_memory(cls, memory_id: str) -> NotFound:
        """A missing long-term memory."""
        return cls(f"Memory {memory_id} not found", details={"memory_id": memory_id})


class Conflict(ClientError):
    """A conditional write lost to a newer one (412 Precondition Failed)."""

    code = "precondition_failed"
    status_code = 412


class PayloadTooLarge(ClientError):
    """The body is over ``MAX_REQUEST_BYTES`` (413)."""

    code = "payload_too_large"
    status_code = 413


class MethodNotAllowed(ClientError):
    """The path exists, the method does not (405, with ``Allow``)."""

    code = "method_not_allowed"
    status_code = 405


class UnsupportedMediaType(ClientError):
    """A body that is not declared ``application/json`` (415)."""

    code = "unsupported_media_type"
    status_code = 415


class RequestTimeout(ClientError):
    """The request body did not arrive in time (408); the server closes the connection."""

    code = "request_timeout"
    status_code = 408


class Unauthorized(ClientError):
    """No credentials, or credentials that do not check out (401)."""

    code = "unauthorized"
    status_code = 401

    def headers(self) -> dict[str, str] | None:
        return {"WWW-Authenticate": 'Bearer realm="agent-memory"'}


class Forbidden(ClientError):
    """Authenticated, but outside the caller's bounds (403)."""

    code = "forbidden"
    status_code = 403


class FeatureDisabled(ClientError):
    """A feature switched off by settings (400, as AMS answers)."""

    code = "feature_disabled"


class ServiceUnavailable(MemoryServerError):
    """A dependency (Redis, the model endpoint) does not answer (503)."""

    code = "service_unavailable"
    status_code = 503


class StorageError(ServiceUnavailable):
    """Redis failed or is unreachable; the request may be retried."""

    code = "storage_unavailable"


class UpstreamError(MemoryServerError):
    """The model endpoint answered with an error (502)."""

    code = "upstream_error"
    status_code = 502


class IndexMismatch(MemoryServerError):
    """The index was built with another embedding model or dimension."""

    code = "index_mismatch"


# --- profile memory (issue 15) ---
class ProfileInvalidRequest(ClientError):
    """A profile-memory request that does not validate (422). The profile contract names
    this ``invalid_request`` and wants ``details`` to be an object; the field errors sit
    under ``details.errors`` and, FastAPI-shaped as on every 422 of the API, ``detail``."""

    code = "invalid_request"
    status_code = 422

    def __init__(self, message: str, *, details: dict[str, Any] | None = None,
                 loc: tuple[str, ...] = ("body",)) -> None:
        details = dict(details or {})
        details.setdefault("errors", [{"type": "value_error", "loc": list(loc), "msg": message}])
        super().__init__(message, details=details)

    @classmethod
    def from_validation(cls, exc: ValidationFailed) -> ProfileInvalidRequest:
        """The same failure, in the profile contract's shape."""
        return cls(exc.message, details={"errors": exc.details})

    def body(self) -> dict[str, Any]:
        return {
            "detail": self.details["errors"],
            "error": {"code": self.code, "message": self.message, "details": self.details},
        }


class PolicyDenied(Forbidden):
    """The read's purpose is not allowed for the scope by the profile policy (403)."""

    code = "policy_denied"

    @classmethod
    def for_purpose(cls, scope: str, purpose: str, allowed: list[str]) -> PolicyDenied:
        """The profile contract's ``policy_denied`` body."""
        return cls(f"Purpose '{purpose}' is not allowed for scope '{scope}'",
                   details={"scope": scope, "purpose": purpose,
                            "allowed_purpose_classes": allowed})


class GrantRevoked(ClientError):
    """A read grant was revoked: it can no longer be continued (410 Gone)."""

    code = "grant_revoked"
    status_code = 410


class GrantExpired(ClientError):
    """A read grant's time is over: it can no longer be continued (410 Gone)."""

    code = "grant_expired"
    status_code = 410


class Gone(ClientError):
    """The resource existed but can no longer be served (e.g. a grace period ended) (410)."""

    code = "gone"
    status_code = 410


class IdInUse(ClientError):
    """The id is taken by another resource (e.g. restoring over a newer memory) (409)."""

    code = "conflict"
    status_code = 409
