"""Join nonces: issued by us to one host, single use, short-lived.

IMDS takes a nonce of at most 32 alphanumeric characters and signs it into the attested
document, so a document answers exactly one challenge: 32 hex characters (128 random bits).
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

NONCE_RE = re.compile(r"^[0-9a-f]{32}$")
DEFAULT_TTL_S = 120


@dataclass(frozen=True)
class NonceRecord:
    nonce: str
    hostname: str
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    etag: str | None = None

    def used(self, now: datetime) -> NonceRecord:
        return replace(self, used_at=now)


def issue(hostname: str, now: datetime, ttl_s: int = DEFAULT_TTL_S,
          token: Callable[[int], str] = secrets.token_hex) -> NonceRecord:
    return NonceRecord(nonce=token(16), hostname=hostname, issued_at=now, expires_at=now + timedelta(seconds=ttl_s))


def well_formed(nonce: object) -> bool:
    """Only our own shape is ever looked up: anything else is refused before storage is asked."""
    return isinstance(nonce, str) and bool(NONCE_RE.match(nonce))
