"""The last reconcile and autoscale decisions in Table Storage: table `decisions`.

PK = `<cluster>-<kind>` (kind: reconcile | autoscale), RK = inverted milliseconds since the epoch,
so a query returns the newest first. One small row a tick; `keep` rows per kind are kept (older
ones deleted when a new one is written), so the table stays a few KiB.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

from nodepool.adapters.tables import Tables

TABLE, KEEP = "decisions", 20
_MAX_MS = 10 ** 15


class TableDecisionLog:
    def __init__(self, tables: Tables, cluster: str, keep: int = KEEP):
        self._table, self._cluster, self._keep = tables(TABLE), cluster, keep

    def record(self, kind: str, at: datetime, decision: dict) -> None:
        pk = f"{self._cluster}-{kind}"
        rk = f"{_MAX_MS - int(at.timestamp() * 1000):015d}"
        self._table.upsert({"PartitionKey": pk, "RowKey": rk, "at": at.astimezone(timezone.utc).isoformat(),
                            "decision": json.dumps(decision, sort_keys=True)})
        for old in self._rows(kind)[self._keep:]:
            self._table.delete(pk, old["RowKey"])

    def recent(self, kind: str, limit: int = 5) -> list[dict]:
        return [{"at": row["at"], **json.loads(row["decision"])} for row in self._rows(kind)[:limit]]

    def _rows(self, kind: str) -> list[dict]:
        return list(self._table.query("PartitionKey eq @pk", {"pk": f"{self._cluster}-{kind}"}))
