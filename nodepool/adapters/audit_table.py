"""The audit trail on Table Storage: table `audit`, PK = cluster, RK sorts newest first.

One insert per entry (no read first): the row key is the inverted time plus a random suffix, so
entries never collide and a plain partition scan pages them newest first.
"""
from __future__ import annotations

import secrets

from nodepool.adapters.registry import _from_entity, _to_entity
from nodepool.adapters.tables import Tables
from nodepool.core.audit import AuditEntry, newest_first_key

AUDIT = "audit"


class TableAuditLog:
    def __init__(self, tables: Tables, cluster: str):
        self._table, self._cluster = tables(AUDIT), cluster

    def add(self, entry: AuditEntry) -> None:
        key = newest_first_key(entry.at, secrets.token_hex(4))
        self._table.insert(_to_entity(self._cluster, key, entry, skip=("entry_id",)))

    def page(self, limit: int, token: str | None) -> tuple[list[AuditEntry], str | None]:
        rows, next_token = self._table.page("PartitionKey eq @pk", {"pk": self._cluster}, limit, token)
        return [_from_entity(AuditEntry, r, entry_id=r["RowKey"]) for r in rows], next_token
