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


class Gone(ClientError):
    """The resource existed but can no longer be served (e.g. a grace period ended) (410)."""

    code = "gone"
    status_code = 410


class IdInUse(ClientError):
    """The id is taken by another resource (e.g. restoring over a newer memory) (409)."""

    code = "conflict"
    status_code = 409
