"""In-memory autoscale state store: one row, ETags, the JSON round trip the Table one will do."""
from __future__ import annotations

import itertools

from nodepool.autoscale.model import AutoscaleState
from nodepool.autoscale.state import decode, encode
from nodepool.core.errors import AlreadyExists, Conflict, NodepoolError


class FakeAutoscaleStore:
    def __init__(self):
        self.row: tuple[str, str] | None = None
        self._etags = itertools.count(1)
        self.writes = 0
        self._failures: list[NodepoolError] = []
        self._race = False

    def fail_next(self, error: NodepoolError, times: int = 1) -> None:
        self._failures.extend([error] * times)

    def race_next(self) -> None:
        """Knob: another runner saves between the next load and save (so that save gets Conflict)."""
        self._race = True

    def load(self) -> tuple[AutoscaleState, str | None]:
        if self._failures:
            raise self._failures.pop(0)
        return (decode(self.row[0]), self.row[1]) if self.row else (AutoscaleState(), None)

    def save(self, state: AutoscaleState, etag: str | None) -> str:
        if self._failures:
            raise self._failures.pop(0)
        if self._race:
            self._race = False
            self.row = (self.row[0] if self.row else encode(AutoscaleState()), f'W/"{next(self._etags)}"')
        current = self.row[1] if self.row else None
        if etag is None and current is not None:
            raise AlreadyExists("autoscale/state: already exists")
        if etag != current:
            raise Conflict("autoscale/state: changed by another writer")
        self.row = (encode(state), f'W/"{next(self._etags)}"')
        self.writes += 1
        return self.row[1]
