"""In-memory `IdentityVerifier`: opaque tokens the fake hands out itself, same refusals as JWTs.

`issue()` returns a token string for a principal (by default the one allowed for the role);
`verify()` answers like the real verifier: Unauthenticated with a reason code for unknown or
expired tokens, Forbidden (`identity_not_allowed`) for a valid token of another identity.
"""
from __future__ import annotations

import secrets

from nodepool.core.errors import Forbidden, Unauthenticated
from nodepool.core.model import Caller, Role


class FakeIdentity:
    def __init__(self, agent: str = "agent-principal", master: str = "master-principal"):
        self.allowed = {Role.AGENT: agent, Role.MASTER: master}
        self._tokens: dict[str, tuple[str, str, bool]] = {}

    def issue(self, who: Role | str = Role.AGENT, *, resource_id: str = "", expired: bool = False) -> str:
        """A token for a role's allowed principal, or for any principal id given as a string."""
        principal = self.allowed[who] if isinstance(who, Role) else who
        token = "fake." + secrets.token_urlsafe(12)
        self._tokens[token] = (principal, resource_id, expired)
        return token

    def header(self, who: Role | str = Role.AGENT, **kwargs) -> str:
        return "Bearer " + self.issue(who, **kwargs)

    def verify(self, authorization: str | None, role: Role) -> Caller:
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("a Bearer token is required", code="token_missing")
        entry = self._tokens.get(token.strip())
        if entry is None:
            raise Unauthenticated("token signature is invalid", code="token_invalid_signature")
        principal, resource_id, expired = entry
        if expired:
            raise Unauthenticated("token has expired", code="token_expired")
        if principal != self.allowed.get(role):
            raise Forbidden(f"this identity may not call as {role.value}", code="identity_not_allowed")
        return Caller(role, principal, resource_id)
