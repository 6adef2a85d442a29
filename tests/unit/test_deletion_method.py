"""The method rules of a delete (no Redis)."""

from __future__ import annotations

import pytest

from agent_memory.services.deletion import deletion_method


@pytest.mark.parametrize(("reason", "explicit", "expected"), [
    ("User data subject request under GDPR Article 17", None, "gdpr_request"),
    ("art. 17 erasure", None, "gdpr_request"),
    ("Art 17", None, "gdpr_request"),
    ("exercising the right to be forgotten", None, "gdpr_request"),
    ("Right to Erasure", None, "gdpr_request"),
    ("under the General Data Protection Regulation", None, "gdpr_request"),
    ("gdpr", None, "gdpr_request"),
    ("article 170 of the house rules", None, "user_request"),
    ("a gdpr-like policy", None, "gdpr_request"),
    ("mistyped memory", None, "user_request"),
    (None, None, "user_request"),
    ("GDPR Article 17", "user_request", "user_request"),
    (None, "gdpr_request", "gdpr_request"),
])
def test_method_rules(reason: str | None, explicit: str | None, expected: str) -> None:
    """An explicit method wins; an erasure citation means gdpr_request; else the default."""
    assert deletion_method(reason, explicit) == expected


def test_default_is_the_callers() -> None:
    """Paths other than the forget route pass their own default."""
    assert deletion_method("cleanup", default="api_delete") == "api_delete"
    assert deletion_method("GDPR", default="api_delete") == "gdpr_request"
