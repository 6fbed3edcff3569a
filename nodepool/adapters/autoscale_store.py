"""The autoscaler's state across ticks in Table Storage: table `autoscale`, PK = cluster, RK = `state`.

Backoffs, unneeded-since times, the last scale-up and the scale-downs in progress, as the JSON
of domain/autoscale_state.py split over string properties of at most 30 000 characters (one
entity holds 1 MiB: thousands of nodes' timers). Every write carries the ETag it was read with:
of two ticks racing, one wins and the other gets Conflict and acts on nothing.
"""
from __future__ import annotations

from nodepool.adapters.tables import Tables
from nodepool.domain.autoscale_model import AutoscaleState
from nodepool.domain.autoscale_state import decode, encode

TABLE, ROW, CHUNK = "autoscale", "state", 30_000


class TableAutoscaleStore:
    def __init__(self, tables: Tables, cluster: str):
        self._table, self._cluster = tables(TABLE), cluster

    def load(self) -> tuple[AutoscaleState, str | None]:
        row = self._table.get(self._cluster, ROW)
        if row is None:
            return AutoscaleState(), None
        chunks = [row.get(f"state{i}") for i in range(int(row.get("chunks") or 0))]
        return decode("".join(chunks) if all(isinstance(c, str) for c in chunks) else None), row["etag"]

    def save(self, state: AutoscaleState, etag: str | None) -> str:
        """Insert when `etag` is None (AlreadyExists, a Conflict, if another tick did), else replace if unchanged."""
        text = encode(state)
        chunks = [text[i:i + CHUNK] for i in range(0, len(text), CHUNK)]
        entity = {"PartitionKey": self._cluster, "RowKey": ROW, "chunks": len(chunks),
                  **{f"state{i}": chunk for i, chunk in enumerate(chunks)}}
        return self._table.insert(entity) if etag is None else self._table.update(entity, etag)
