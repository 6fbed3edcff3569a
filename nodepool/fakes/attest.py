"""In-memory nonce and node-credential stores with the Table Storage ones' semantics."""
from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import datetime

from nodepool.domain.node_credential import NodeCredentialRecord
from nodepool.domain.nonce import NonceRecord
from nodepool.errors import AlreadyExists, Conflict


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
