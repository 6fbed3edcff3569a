"""The reconcile planner's state in Table Storage: table `reconcile`, PK = cluster, RK = `state`.

Function instances come and go, so what one tick learned (NotReady since, repair step, last
instance count, per managed scale set; the Node list's resourceVersion marks) lives here. The
JSON is split over string properties of at most 30 000 characters (a string property holds
64 KiB of UTF-16), so the state of thousands of tracked nodes still fits one entity (1 MiB).
Every write carries the ETag it was read with: of two ticks racing, one wins and the other gets
Conflict.
"""
from __future__ import annotations

import json

from nodepool.adapters.state_row import ABSENT, CHUNK, StateRow
from nodepool.adapters.tables import Tables
from nodepool.core.logs import logger
from nodepool.reconcile.model import ReconcileState

TABLE = "reconcile"
log = logger(__name__)


def encode(state: ReconcileState) -> list[str]:
    text = json.dumps(state.to_dict(), sort_keys=True, separators=(",", ":"))
    return [text[i:i + CHUNK] for i in range(0, len(text), CHUNK)] or ["{}"]


def decode(chunks: list[str]) -> ReconcileState:
    """A row that is not a reconcile state (hand-edited, truncated) is not an empty state: it reads
    as `ReconcileState(lost=True)`, with a warning. Its baselines are unknown, so the planner trusts
    listings only against the scale set's capacity and the registry, or once observations
    agree; the ladders' clocks restart. Refusing it instead would stop reconcile for good."""
    try:
        return ReconcileState.from_dict(json.loads("".join(chunks)))
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        log.warning("stored reconcile state is unreadable (%s); its baselines are lost", type(err).__name__)
        return ReconcileState(lost=True)


class TableTickStore:
    def __init__(self, tables: Tables, cluster: str):
        self._row = StateRow(tables, TABLE, cluster)

    def load(self) -> tuple[ReconcileState, str | None]:
        """The state and its ETag; (empty state, None) before the first save."""
        text, etag = self._row.load()
        if text is ABSENT:
            return ReconcileState(), None
        return decode([text] if isinstance(text, str) else []), etag

    def save(self, state: ReconcileState, etag: str | None) -> str:
        return self._row.save("".join(encode(state)), etag)
