"""Per-node credentials: minted on an attested join, bound to one vmId and hostname, stored as a hash.

The managed-identity token proves only "a VM of the scale set"; this secret proves "the VM that
attested as this node". It is 256 random bits, so a plain SHA-256 of it is enough to store (no
salt or slow hash needed: there is nothing to guess), and a leaked `nodecredentials` row gives
nothing to present. Every attested join mints a new one and replaces the row, so a reimaged or
replaced VM re-attests and the old secret stops working at once.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from nodepool.core.errors import Forbidden, Unauthenticated

PREFIX = "npc1."  # recognisable in a leak scan; the rest is the secret
MISSING = "node_credential_missing"
INVALID = "node_credential_invalid"
UNBOUND = "node_credential_unbound"  # no attested join recorded for this node


@dataclass(frozen=True)
class NodeCredentialRecord:
    hostname: str
    vm_id: str
    digest: str  # hex SHA-256 of the secret
    issued_at: datetime

    @property
    def credential_id(self) -> str:
        """Names this credential in the audit trail: a prefix of its hash, useless to present."""
        return self.digest[:16]


def digest(secret: str) -> str:
    return hashlib.sha256(b"nodepool-node-credential\x00" + secret.encode("utf-8")).hexdigest()


def mint(hostname: str, vm_id: str, now: datetime,
         token: Callable[[int], str] = secrets.token_urlsafe) -> tuple[str, NodeCredentialRecord]:
    """(secret for the node, record to store). The secret is returned once and never stored."""
    secret = PREFIX + token(32)
    return secret, NodeCredentialRecord(hostname=hostname, vm_id=vm_id, digest=digest(secret), issued_at=now)


def verify(record: NodeCredentialRecord | None, presented: str | None, hostname: str) -> NodeCredentialRecord:
    """The record when `presented` is this node's current credential; Unauthenticated/Forbidden otherwise.
    The comparison is constant-time, and every failure reads the same to the caller but for its code."""
    if not presented:
        raise Unauthenticated("this request needs the node credential (X-Node-Credential)", code=MISSING)
    if record is None or record.hostname != hostname:
        raise Forbidden(f"no attested join on record for {hostname}", code=UNBOUND)
    if not hmac.compare_digest(digest(presented), record.digest):
        raise Forbidden(f"the node credential is not {hostname}'s", code=INVALID)
    return record
