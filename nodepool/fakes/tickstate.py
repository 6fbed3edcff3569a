"""In-memory reconcile state store: the Table Storage one's ETag semantics, JSON round trip included."""
from __future__ import annotations

import itertools

from nodepool.adapters.tickstate import decode, encode
from nodepool.core.errors import AlreadyExists, Conflict, NodepoolError
from nodepool.reconcile.model import ReconcileState


class FakeTickStore:
    def __init__(self):
        self._row: tuple[list[str], str] | None = None
        self._etags = itertools.count(1)
        self.writes = 0
        self._race = False
        self._failures: list[NodepoolError] = []

    def fail_next(self, error: NodepoolError, times: int = 1) -> None:
        """Knob: the next `times` loads or saves raise `error` (storage down)."""
        self._failures.extend([error] * times)

    def _check(self) -> None:
        if self._failures:
            raise self._failures.pop(0)

    def load(self) -> tuple[ReconcileState, str | None]:
        self._check()
        if self._row is None:
            return ReconcileState(), None
        chunks, etag = self._row
        return decode(chunks), etag

    def save(self, state: ReconcileState, etag: str | None) -> str:
        self._check()
        if self._race:  # another instance saved between our load and this save
            self._race = False
            self._row = (self._row[0] if self._row else encode(ReconcileState()), f'W/"{next(self._etags)}"')
        current = self._row[1] if self._row else None
        if etag is None and current is not None:
            raise AlreadyExists("reconcile/state: already exists")
        if etag is not None and etag != current:
            raise Conflict("reconcile/state: changed by another writer")
        new = f'W/"{next(self._etags)}"'
        self._row = (encode(state), new)
        self.writes += 1
        return new

    def race_next(self) -> None:
        """Knob: another instance saves between the next load and save (so that save gets Conflict)."""
        self._race = True

    def corrupt(self) -> None:
        """Knob: the stored row stops being a ReconcileState (a hand edit gone wrong)."""
        self._row = (["{not json"], self._row[1] if self._row else 'W/"0"')
