"""Attested-join state on Table Storage: tables `nonces` and `nodecredentials`.

nonces: PK = cluster, RK = the nonce (not a secret: IMDS signs it into a document anyone on the
VM can read). Used once: `mark_used` is ETag-conditional, so of two joins racing with one
nonce exactly one wins. Expired rows are removed by `delete_expired` (the reconcile timer).
A nonce issued by this instance is remembered with the ETag its insert returned, so the join
that spends it here skips the read: the conditional write still decides (a row spent or removed
elsewhere since has another ETag, or none, and the write fails as a replay). Another instance's
nonce is read first, as always.
nodecredentials: PK = cluster, RK = node name; vmId, the SHA-256 of the secret, issued_at.
"""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime

from nodepool.adapters.registry import _from_entity, _to_entity
from nodepool.adapters.tables import Tables
from nodepool.core.errors import Conflict, NotFound
from nodepool.identity.attestation import NonceRecord
from nodepool.identity.credential import NodeCredentialRecord

NONCES, CREDENTIALS = "nonces", "nodecredentials"
REMEMBERED = 4096  # nonces issued here and not yet spent; past it, the oldest are read back instead


class TableNonceStore:
    def __init__(self, tables: Tables, cluster: str):
        self._table, self._cluster = tables(NONCES), cluster
        self._issued: dict[str, NonceRecord] = {}
        self._lock = threading.Lock()

    def add(self, record: NonceRecord) -> None:
        etag = self._table.insert(_to_entity(self._cluster, record.nonce, record, skip=("etag", "nonce")))
        with self._lock:
            while len(self._issued) >= REMEMBERED:
                del self._issued[next(iter(self._issued))]
            self._issued[record.nonce] = replace(record, etag=etag)

    def get(self, nonce: str) -> NonceRecord | None:
        with self._lock:
            issued = self._issued.pop(nonce, None)
        if issued is not None:
            return issued
        row = self._table.get(self._cluster, nonce)
        return _from_entity(NonceRecord, row, nonce=nonce) if row else None

    def mark_used(self, record: NonceRecord, now: datetime) -> None:
        with self._lock:
            self._issued.pop(record.nonce, None)
        used = replace(record, used_at=now)
        if record.etag is None:  # spending is conditional on the version read: without one, nothing is spent
            raise Conflict(f"nonce {record.nonce[:8]}...: read without its version")
        try:
            self._table.update(_to_entity(self._cluster, record.nonce, used, skip=("etag", "nonce")), record.etag)
        except NotFound:  # removed since it was read (expired): it can no longer be spent
            raise Conflict(f"nonce {record.nonce[:8]}...: gone") from None

    def delete_expired(self, before: datetime) -> int:
        with self._lock:
            self._issued = {k: r for k, r in self._issued.items() if r.expires_at >= before}
        rows = list(self._table.query("PartitionKey eq @pk and expires_at lt @before",
                                      {"pk": self._cluster, "before": before}))
        for row in rows:
            self._table.delete(self._cluster, row["RowKey"], row["etag"])
        return len(rows)


class TableNodeCredentials:
    def __init__(self, tables: Tables, cluster: str):
        self._table, self._cluster = tables(CREDENTIALS), cluster

    def get(self, hostname: str) -> NodeCredentialRecord | None:
        row = self._table.get(self._cluster, hostname)
        return _from_entity(NodeCredentialRecord, row, hostname=hostname) if row else None

    def put(self, record: NodeCredentialRecord) -> None:
        self._table.upsert(_to_entity(self._cluster, record.hostname, record, skip=("hostname",)))

    def delete(self, hostname: str) -> None:
        self._table.delete(self._cluster, hostname)
