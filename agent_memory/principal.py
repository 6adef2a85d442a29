"""Who is calling, and which tenants (namespaces, user) they may touch.

The auth middleware puts a ``Principal`` in the ASGI scope; routes pass it to services, which
narrow every read and write with it. With auth disabled every caller is the local admin.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from agent_memory.errors import Forbidden


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    Attributes:
        subject: Who it is (token id, JWT ``sub``, or ``local-dev-user``).
        namespaces: Namespaces it is bound to; ``None`` means any.
        user_id: The user it is bound to; ``None`` means any.
    """

    subject: str
    namespaces: frozenset[str] | None = None
    user_id: str | None = None

    @property
    def unbounded(self) -> bool:
        """True for admins: no tenant bounds at all."""
        return self.namespaces is None and self.user_id is None

    def scope_namespace(self, requested: str | None) -> str | None:
        """The namespace to use for a single-valued request field.

        Fills an omitted namespace from a one-namespace binding, rejects one outside the
        bounds. A caller bound to several namespaces must name one.
        """
        if self.namespaces is None:
            return requested
        if requested is None:
            if len(self.namespaces) == 1:
                return next(iter(self.namespaces))
            raise Forbidden("this token is bound to several namespaces: name one")
        if requested not in self.namespaces:
            raise Forbidden(f"namespace {requested!r} is outside this token's bounds")
        return requested

    def scope_user(self, requested: str | None) -> str | None:
        """The user id to use: the bound user (filled in) or the requested one if unbound."""
        if self.user_id is None:
            return requested
        if requested is not None and requested != self.user_id:
            raise Forbidden(f"user {requested!r} is outside this token's bounds")
        return self.user_id

    def check_namespaces(self, requested: Iterable[str]) -> None:
        """Reject any namespace outside the bounds (for multi-valued filters)."""
        if self.namespaces is None:
            return
        outside = sorted(set(requested) - self.namespaces)
        if outside:
            raise Forbidden(f"namespaces {outside} are outside this token's bounds")

    def allows(self, namespace: str | None, user_id: str | None) -> bool:
        """True when a stored record with this namespace and user is within bounds."""
        if self.namespaces is not None and namespace not in self.namespaces:
            return False
        return not (self.user_id is not None and user_id != self.user_id)


LOCAL_ADMIN = Principal(subject="local-dev-user")
