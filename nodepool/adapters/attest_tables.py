"""Attested-join state on Table Storage: tables `nonces` and `nodecredentials`.

nonces: PK = cluster, RK = the nonce (not a secret: IMDS signs it into a document anyone on the
VM can read). Used once: `mark_used` is ETag-conditional, so of two joins racing with one
nonce exactly one wins. Expired rows are removed by `delete_expired` (the reconcile timer).
nodecredentials: PK = cluster, RK = node name; vmId, the SHA-256 of the secret, issued_at.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from nodepool.adapters.registry import _from_entity, _to_entity
from nodepool.adapters.tables import Tables
from nodepool.domain.node_credential import NodeCredentialRecord
from nodepool.domain.nonce import NonceRecord

NONCES, CREDENTIALS = "nonces", "nodecredentials"


class TableNonceStore:
    def __init__(self, tables: Tables, cluster: str):
        self._table, self._cluster = tables(NONCES), cluster

    def add(self, record: NonceRecord) -> None:
        self._table.insert(_to_entity(self._cluster, record.nonce, record, skip=("etag", "nonce")))

    def get(self, nonce: str) -> NonceRecord | None:
        row = self._table.get(self._cluster, nonce)
        return _from_entity(NonceRecord, row, nonce=nonce) if row else None

    def mark_used(self, record: NonceRecord, now: datetime) -> None:
        used = replace(record, used_at=now)
        self._table.update(_to_entity(self._cluster, record.nonce, used, skip=("etag", "nonce")), record.etag)

    def delete_expired(self, before: datetime) -> int:
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
