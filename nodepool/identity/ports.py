"""What identity needs from the world: the managed-identity token check, the attested document's
cryptographic check, the nonce store and the node-credential store. Every method raises only
nodepool.core.errors types."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol

from nodepool.core.model import Caller, Role
from nodepool.identity.attestation import AttestedClaims, NonceRecord
from nodepool.identity.credential import NodeCredentialRecord


class IdentityVerifier(Protocol):
    def verify(self, authorization: str | None, role: Role) -> Caller: ...  # Unauthenticated / Forbidden


class AttestationVerifier(Protocol):
    # IMDS's {"encoding", "signature"}: signature, chain and signer name checked at `now`;
    # AttestationRefused with the reason code of the first failed check.
    def verify(self, document: object, now: datetime) -> AttestedClaims: ...
    # What it trusts, for the operator: roots, intermediates and their sources, the bundled set's expiry.
    def describe(self, now: datetime) -> dict: ...


class NonceStore(Protocol):
    """Attested-join nonces (table `nonces`)."""
    def add(self, record: NonceRecord) -> None: ...  # AlreadyExists on a (128-bit) collision
    def get(self, nonce: str) -> NonceRecord | None: ...  # with its ETag
    def mark_used(self, record: NonceRecord, now: datetime) -> None: ...  # Conflict if changed since read
    def delete_expired(self, before: datetime) -> int: ...


class NodeCredentials(Protocol):
    """Per-node credentials, as hashes only (table `nodecredentials`, one row per node)."""
    def get(self, hostname: str) -> NodeCredentialRecord | None: ...
    def put(self, record: NodeCredentialRecord) -> None: ...  # replaces: every attested join rotates
    def delete(self, hostname: str) -> None: ...  # missing is not an error
