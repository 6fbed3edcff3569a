"""One JSON document per cluster in one Table Storage entity, for timer state across ticks.

Function instances come and go, so what a tick learned lives in a row: PK = cluster, RK =
`state`. The JSON is split over string properties of at most 30 000 characters (a string
property holds 64 KiB of UTF-16), so thousands of tracked nodes still fit one entity (1 MiB).
Every write carries the ETag it was read with: of two ticks racing, one wins and the other
gets Conflict.
"""
from __future__ import annotations

from nodepool.adapters.tables import Tables

ROW, CHUNK = "state", 30_000
ABSENT = object()  # load(): no row yet (the first tick)


class StateRow:
    def __init__(self, tables: Tables, table: str, cluster: str):
        self._table, self._cluster = tables(table), cluster

    def load(self) -> tuple[object, str | None]:
        """(the JSON text, its ETag); (ABSENT, None) before the first save; text None when the
        row's chunks are not all strings (hand-edited, truncated): the caller decides what a
        garbled state means."""
        row = self._table.get(self._cluster, ROW)
        if row is None:
            return ABSENT, None
        chunks = [row.get(f"state{i}") for i in range(int(row.get("chunks") or 0))]
        texts = [c for c in chunks if isinstance(c, str)]
        return ("".join(texts) if len(texts) == len(chunks) else None), row["etag"]

    def save(self, text: str, etag: str | None) -> str:
        """Insert when `etag` is None (AlreadyExists if another tick did), else replace only if
        unchanged (Conflict). Returns the new ETag."""
        chunks = [text[i:i + CHUNK] for i in range(0, len(text), CHUNK)] or ["{}"]
        entity = {"PartitionKey": self._cluster, "RowKey": ROW, "chunks": len(chunks),
                  **{f"state{i}": chunk for i, chunk in enumerate(chunks)}}
        return self._table.insert(entity) if etag is None else self._table.update(entity, etag)
