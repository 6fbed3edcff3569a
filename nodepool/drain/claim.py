"""A drain's hold on its event row (drain/lease.py): take it, keep it, finish under it.

`claim_drain` reads the row and does what `decide` says: COMPLETE, WAIT (only when `wait`:
the queue trigger keeps its message until the drain holding the lease is done or has died) or
TAKE with an ETag-conditional write, re-reading after a lost race. A drain that holds a `Lease`
renews it as it goes; a renewal or finish that loses its race raises LeaseLost: another drain
took over, and this one writes nothing more.
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from nodepool.core.errors import Conflict, TransientError
from nodepool.core.ports import Registry
from nodepool.core.records import EventRecord
from nodepool.drain import lease as L
from nodepool.drain.state import DrainRequest

WAIT_POLL_S = 1.0  # a waiting queue trigger reads the row once a second: it holds a worker thread meanwhile


class LeaseLost(TransientError):
    code = "drain_lease_lost"


def new_owner() -> str:
    return f"{os.getpid()}-{uuid.uuid4().hex[:12]}"


@dataclass
class Lease:
    registry: Registry
    row: EventRecord

    def keep(self, now: datetime) -> None:
        if L.due_renewal(self.row, now):
            self.row = self._write(L.renewed(self.row, now))

    def finish(self, now: datetime, *, pods_left: int, removed: bool) -> None:
        self.row = self._write(L.finished(self.row, now, pods_left=pods_left, removed=removed))

    def release(self, now: datetime) -> None:
        """A drain that failed gives its lease up, so the queue's next delivery takes over at once
        instead of waiting for it to run out. Best effort: a lease that stays runs out anyway."""
        try:
            self.row = self.registry.save_event(L.released(self.row, now))
        except (Conflict, TransientError):
            pass

    def _write(self, row: EventRecord) -> EventRecord:
        try:
            return self.registry.save_event(row)
        except Conflict as err:
            raise LeaseLost(f"drain of {row.node} for {row.event_id}: another drain took the lease") from err


@dataclass(frozen=True)
class Claim:
    decision: str  # drain_lease.COMPLETE / WAIT / TAKE, or UNLEASED: no event row (a leave)
    row: EventRecord | None = None
    lease: Lease | None = None


UNLEASED = "unleased"


def claim_drain(registry: Registry, request: DrainRequest, owner: str, now: Callable[[], datetime],
                sleep: Callable[[float], None], *, wait: bool) -> Claim:
    while True:
        row = registry.event(request.node, request.event_id)
        if row is None:
            return Claim(UNLEASED)
        decision = L.decide(row, now())
        if decision == L.COMPLETE or (decision == L.WAIT and not wait):
            return Claim(decision, row)
        if decision == L.WAIT:
            sleep(WAIT_POLL_S)
            continue
        try:
            taken = registry.save_event(L.claim(row, owner, now()))
        except Conflict:
            continue  # another drain moved first: look again
        return Claim(L.TAKE, taken, Lease(registry, taken))
