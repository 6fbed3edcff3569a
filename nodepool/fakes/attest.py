"""In-memory nonce and node-credential stores with the Table Storage ones' semantics, and a verifier
of fake attested documents."""
from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import datetime, timedelta

from nodepool.core.errors import AlreadyExists, Conflict
from nodepool.identity import attestation as att
from nodepool.identity.attestation import AttestationMalformed, AttestationRefused, AttestedClaims, NonceRecord
from nodepool.identity.credential import NodeCredentialRecord


class FakeNonceStore:
    def __init__(self):
        self.rows: dict[str, NonceRecord] = {}
        self._etags = itertools.count(1)

    def _stamp(self, record: NonceRecord) -> NonceRecord:
        stored = replace(record, etag=f'W/"{next(self._etags)}"')
        self.rows[record.nonce] = stored
        return stored

    def add(self, record: NonceRecord) -> None:
        if record.nonce in self.rows:
            raise AlreadyExists(f"nonces/{record.nonce}: already exists")
        self._stamp(record)

    def get(self, nonce: str) -> NonceRecord | None:
        return self.rows.get(nonce)

    def mark_used(self, record: NonceRecord, now: datetime) -> None:
        current = self.rows.get(record.nonce)
        if current is None or current.etag != record.etag:
            raise Conflict(f"nonces/{record.nonce}: changed by another writer")
        self._stamp(replace(record, used_at=now))

    def delete_expired(self, before: datetime) -> int:
        gone = [n for n, r in self.rows.items() if r.expires_at < before]
        for nonce in gone:
            del self.rows[nonce]
        return len(gone)


class FakeNodeCredentials:
    def __init__(self):
        self.rows: dict[str, NodeCredentialRecord] = {}

    def get(self, hostname: str) -> NodeCredentialRecord | None:
        return self.rows.get(hostname)

    def put(self, record: NodeCredentialRecord) -> None:
        self.rows[record.hostname] = record

    def delete(self, hostname: str) -> None:
        self.rows.pop(hostname, None)


class FakeAttestationVerifier:
    """Documents as `document(vm_id, nonce, now)` makes them, "verified" without cryptography: for
    service tests (the real checks are tested on the PKCS7 verifier). A document with
    "forged": true is refused as a bad signature. Every document is of `subscription`."""

    def __init__(self, subscription: str = ""):
        self.subscription = subscription

    @staticmethod
    def document(vm_id: str, nonce: str, now: datetime, valid_s: int = 6 * 3600) -> dict:
        return {"encoding": "fake", "vm_id": vm_id, "nonce": nonce, "created": now.isoformat(),
                "expires": (now + timedelta(seconds=valid_s)).isoformat()}

    def describe(self, now: datetime) -> dict:
        return {"roots": {"source": "fake", "count": 0}, "intermediates": [], "bundle": {"missing": "fake"}}

    def verify(self, document: object, now: datetime) -> AttestedClaims:
        if not isinstance(document, dict) or document.get("encoding") != "fake":
            raise AttestationMalformed("not a fake attested document")
        if document.get("forged"):
            raise AttestationRefused("forged", code=att.SIGNATURE)
        return AttestedClaims(vm_id=document["vm_id"], nonce=document["nonce"], subscription_id=self.subscription,
                              sku="",
                              created_on=datetime.fromisoformat(document["created"]),
                              expires_on=datetime.fromisoformat(document["expires"]), plan={})
