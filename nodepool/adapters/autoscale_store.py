"""The autoscaler's state across ticks in Table Storage: table `autoscale`, PK = cluster, RK = `state`.

Backoffs, unneeded-since times, the last scale-up and the scale-downs in progress, as the JSON
of autoscale/state.py in a StateRow (state_row.py: chunked JSON, ETag on every write):
of two ticks racing, one wins and the other gets Conflict and acts on nothing.
"""
from __future__ import annotations

from nodepool.adapters.state_row import ABSENT, StateRow
from nodepool.adapters.tables import Tables
from nodepool.autoscale.model import AutoscaleState
from nodepool.autoscale.state import decode, encode

TABLE = "autoscale"


class TableAutoscaleStore:
    def __init__(self, tables: Tables, cluster: str):
        self._row = StateRow(tables, TABLE, cluster)

    def load(self) -> tuple[AutoscaleState, str | None]:
        text, etag = self._row.load()
        if text is ABSENT:
            return AutoscaleState(), None
        return decode(text if isinstance(text, str) else None), etag

    def save(self, state: AutoscaleState, etag: str | None) -> str:
        """Insert when `etag` is None (AlreadyExists, a Conflict, if another tick did), else replace if unchanged."""
        return self._row.save(encode(state), etag)
