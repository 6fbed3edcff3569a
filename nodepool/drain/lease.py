"""The event row as the drain's lease: exactly one drain per event, and only its outcome counts.

Pure: `now` is a parameter; the services write each returned row ETag-conditionally
(drain/claim.py), so of two writers racing for one move exactly one wins.

    recorded --enqueued--> enqueued --claim--> draining(owner, attempt, lease_until) --finish--> done
                                       draining, lease run out --claim (take over)--> draining(new owner)

- `decide(row, now)`: what a drain that finds this row does: COMPLETE (done: write the registry
  row from the recorded outcome if it is missing, nothing else), WAIT (another drain holds a live
  lease: watch the row until it is done or its lease runs out), or TAKE (claim it and drain).
- The holder renews its lease every LEASE_S / 3 (`due_renewal`); a holder whose renewal or finish
  loses its ETag race has lost the lease and writes nothing more: the outcome that reaches the
  registry is the holder's, never a later no-op's.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from nodepool.core.records import EventRecord

RECORDED, ENQUEUED, DRAINING, DONE = "recorded", "enqueued", "draining", "done"
STATUSES = (RECORDED, ENQUEUED, DRAINING, DONE)
LEASE_S = 9.0  # a drain that stopped renewing this long ago is taken to have died
COMPLETE, WAIT, TAKE = "complete", "wait", "take"


def decide(row: EventRecord, now: datetime) -> str:
    if row.status == DONE:
        return COMPLETE
    if row.status == DRAINING and row.lease_until is not None and row.lease_until > now:
        return WAIT
    return TAKE


def enqueued(row: EventRecord) -> EventRecord:
    """The message is on the queue; a row already further along stays as it is."""
    return replace(row, status=ENQUEUED) if row.status == RECORDED else row


def claim(row: EventRecord, owner: str, now: datetime) -> EventRecord:
    return replace(row, status=DRAINING, owner=owner, attempt=row.attempt + 1,
                   lease_until=now + timedelta(seconds=LEASE_S))


def renewed(row: EventRecord, now: datetime) -> EventRecord:
    return replace(row, lease_until=now + timedelta(seconds=LEASE_S))


def released(row: EventRecord, now: datetime) -> EventRecord:
    return replace(row, lease_until=now)


def due_renewal(row: EventRecord, now: datetime) -> bool:
    return row.lease_until is None or (row.lease_until - now).total_seconds() < LEASE_S * 2 / 3


def finished(row: EventRecord, now: datetime, *, pods_left: int, removed: bool) -> EventRecord:
    return replace(row, status=DONE, lease_until=None, finished_at=now, pods_left=pods_left, removed=removed)
