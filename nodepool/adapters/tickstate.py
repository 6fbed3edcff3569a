"""The reconcile planner's TickState in Table Storage: table `reconcile`, PK = cluster, RK = `state`.

Function instances come and go, so what one tick learned (NotReady since, repair step, last
instance count) lives here. The JSON is split over string properties of at most 30 000
characters (a string property holds 64 KiB of UTF-16), so the state of thousands of tracked
nodes still fits one entity (1 MiB). Every write carries the ETag it was read with: of two
ticks racing, one wins and the other gets Conflict.
"""
from __future__ import annotations

import json
import logging

from nodepool.adapters.tables import Tables
from nodepool.domain.reconcile_model import TickState

TABLE, ROW, CHUNK = "reconcile", "state", 30_000
log = logging.getLogger(__name__)


def encode(state: TickState) -> list[str]:
    text = json.dumps(state.to_dict(), sort_keys=True, separators=(",", ":"))
    return [text[i:i + CHUNK] for i in range(0, len(text), CHUNK)] or ["{}"]


def decode(chunks: list[str]) -> TickState:
    """A row that is not a TickState (hand-edited, truncated) is not an empty state: it reads as
    `TickState(lost=True)`, with a warning. Its baselines are unknown, so the planner trusts
    listings only against the scale set's capacity and the registry, or once observations
    agree; the ladders' clocks restart. Refusing it instead would stop reconcile for good."""
    try:
        return TickState.from_dict(json.loads("".join(chunks)))
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        log.warning("stored reconcile state is unreadable (%s); its baselines are lost", type(err).__name__)
        return TickState(lost=True)


class TableTickStore:
    def __init__(self, tables: Tables, cluster: str):
        self._table, self._cluster = tables(TABLE), cluster

    def load(self) -> tuple[TickState, str | None]:
        """The state and its ETag; (empty state, None) before the first save."""
        row = self._table.get(self._cluster, ROW)
        if row is None:
            return TickState(), None
        chunks = [row.get(f"state{i}") for i in range(int(row.get("chunks") or 0))]
        return decode(chunks if all(isinstance(c, str) for c in chunks) else []), row["etag"]

    def save(self, state: TickState, etag: str | None) -> str:
        """Insert when `etag` is None (AlreadyExists if another tick did), else replace only if
        unchanged (Conflict). Returns the new ETag."""
        chunks = encode(state)
        entity = {"PartitionKey": self._cluster, "RowKey": ROW, "chunks": len(chunks),
                  **{f"state{i}": chunk for i, chunk in enumerate(chunks)}}
        return self._table.insert(entity) if etag is None else self._table.update(entity, etag)
