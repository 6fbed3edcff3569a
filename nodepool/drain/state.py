"""A drain's record: the queue message that asks for it, the event row that leases it, and the
row's states and moves, named once here.

The message (`DrainRequest`) is the one shape events, leave, the drain trigger and reconcile share:
`/api/events` and `/api/leave` put it on `node-events`; the queue trigger reads it back (the
Functions host moves a message that failed maxDequeueCount times to `node-events-poison`); the
reconcile tick peeks both queues.

The event row (`EventRecord`) is the drain's lease: exactly one drain per event, and only its
outcome counts. Pure: `now` is a parameter; drain/service.py writes each returned row
ETag-conditionally, so of two writers racing for one move exactly one wins.

    recorded --enqueued--> enqueued --claim--> draining(owner, attempt, lease_until) --finish--> done
                                       draining, lease run out --claim (take over)--> draining(new owner)
    recorded | enqueued | draining --withdrawn--> withdrawn   (Azure cancelled the event: nothing more)

- `decide(row, now)`: what a drain that finds this row does: COMPLETE (done: write the registry
  row from the recorded outcome if it is missing, nothing else), WAIT (another drain holds a live
  lease: watch the row until it is done or its lease runs out), or TAKE (claim it and drain).
- The holder renews its lease once less than RENEW_WHEN_S is left (`due_renewal`), looking before
  every call it makes; a holder whose renewal or finish loses its ETag race has lost the lease and
  writes nothing more: the outcome that reaches the registry is the holder's, never a later no-op's.
  A withdrawal is such a write too: the drain stops at its next renewal, and renews once more right
  before it would delete the Node.
- `listed`: our nodes the event names (host maintenance names several VMs, and Azure lets it
  proceed for all of them on one acknowledgement). `may_acknowledge` says whether an event may
  be: every one of them drained, its pods gone.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from nodepool.core.errors import InvalidInput
from nodepool.core.inputs import check_hostname
from nodepool.core.limits import LONGEST_CALL_S, STORAGE_CALL_S

RECORDED, ENQUEUED, DRAINING, DONE, WITHDRAWN = "recorded", "enqueued", "draining", "done", "withdrawn"
STATUSES = (RECORDED, ENQUEUED, DRAINING, DONE, WITHDRAWN)
# A drain renews its lease (when due) before every call it makes under it, so the lease must outlive the
# renewal's own write and then the longest call after it, however long core/limits.py lets each take,
# with the instances' clocks (NTP-synchronised) up to CLOCK_SLACK_S apart. A drain whose instance died is
# therefore taken over LEASE_S (84 s) after its last renewal: safety first, a slow call never lets two
# drains evict at once.
CLOCK_SLACK_S = 5.0
LEASE_S = STORAGE_CALL_S + LONGEST_CALL_S + CLOCK_SLACK_S
RENEW_WHEN_S = LEASE_S * 2 / 3  # renewed when less than this is left: every call then fits in what is left
COMPLETE, WAIT, TAKE, DROP = "complete", "wait", "take", "drop"
NODE_EVENTS_QUEUE = "node-events"
POISON_QUEUE = f"{NODE_EVENTS_QUEUE}-poison"  # the host's name for it: `<queue>-poison`


@dataclass(frozen=True)
class DrainRequest:
    """Drain `node` for `event_id` before `deadline`; `not_before` is when Azure may act (the
    deadline when the event gave none)."""
    node: str
    event_id: str
    type: str
    deadline: datetime
    not_before: datetime | None = None

    def to_message(self) -> dict:
        return {"node": self.node, "event_id": self.event_id, "type": self.type,
                "not_before": (self.not_before or self.deadline).isoformat(), "deadline": self.deadline.isoformat()}

    @classmethod
    def from_message(cls, message: Any) -> "DrainRequest":
        try:
            not_before = message.get("not_before")
            request = cls(check_hostname(message["node"]), str(message["event_id"]), str(message["type"]),
                          datetime.fromisoformat(message["deadline"]),
                          datetime.fromisoformat(not_before) if not_before else None)
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            raise InvalidInput(f"malformed drain message: {err}", code="invalid_message") from err
        if any(t is not None and t.tzinfo is None for t in (request.deadline, request.not_before)):
            raise InvalidInput("drain deadline has no time zone", code="invalid_message")
        return request


def node_of(message: Any) -> str | None:
    """The node a (peeked) drain message is for, or None when it is not one."""
    node = message.get("node") if isinstance(message, dict) else None
    return node if isinstance(node, str) else None


@dataclass(frozen=True)
class EventRecord:
    """One scheduled event of one node (table `events`, adapters/registry.py: PK = cluster, RK = node and
    EventId, with its entry in the time index beside it): dedup, audit and
    the drain's lease (the moves below), every move ETag-conditional (`etag`), so exactly one drain
    runs per event and only its outcome counts."""
    node: str
    event_id: str
    type: str
    received_at: datetime
    deadline: datetime
    not_before: datetime | None = None
    status: str = RECORDED  # RECORDED | ENQUEUED | DRAINING | DONE | WITHDRAWN (the moves below)
    owner: str = ""  # the drain holding the lease (draining), or the one that finished it (done)
    attempt: int = 0  # drains that took the lease so far
    lease_until: datetime | None = None  # a draining row whose lease ran out may be taken over
    finished_at: datetime | None = None
    pods_left: int | None = None  # the real drain's outcome (done): pods it could not evict
    pods_terminating: int | None = None  # evicted, but still on the Node when the drain stopped (done)
    removed: bool | None = None  # the drain deleted the Node (done)
    listed: str = ""  # our nodes the event names, comma-separated ("": this one only)
    etag: str | None = field(default=None, compare=False)

    @property
    def enqueued(self) -> bool:
        """The drain message went out (and maybe more): a retried report just gets the answer."""
        return self.status != RECORDED

    @property
    def drained(self) -> bool:
        """Done, and no pod of it left on the Node: neither unevicted nor still terminating."""
        return self.status == DONE and not self.pods_left and not self.pods_terminating

    @property
    def nodes(self) -> tuple[str, ...]:
        """Every node of ours the event names, this one included."""
        return tuple(dict.fromkeys([self.node, *filter(None, self.listed.split(","))]))

    def answer(self) -> dict:
        out: dict[str, object] = {"event_id": self.event_id, "type": self.type, "deadline": self.deadline.isoformat(),
               "action": "drain" if self.type != "Freeze" else "record", "status": self.status}
        if self.status == DONE:
            out["pods_left"] = self.pods_left
            out["pods_terminating"] = self.pods_terminating or 0
        return out


def may_acknowledge(rows: list[EventRecord | None]) -> bool:
    """One event's rows, one per node it names: it may be acknowledged (Azure then proceeds for
    every VM it names) only when all of them are drained."""
    return bool(rows) and all(row is not None and row.drained for row in rows)


def decide(row: EventRecord, now: datetime) -> str:
    if row.status == DONE:
        return COMPLETE
    if row.status == WITHDRAWN:
        return DROP
    if row.status == DRAINING and row.lease_until is not None and row.lease_until > now:
        return WAIT
    return TAKE


def enqueued(row: EventRecord) -> EventRecord:
    """The message is on the queue; a row already further along stays as it is."""
    return replace(row, status=ENQUEUED) if row.status == RECORDED else row


def claim(row: EventRecord, owner: str, now: datetime) -> EventRecord:
    return replace(row, status=DRAINING, owner=owner, attempt=row.attempt + 1,
                   lease_until=now + timedelta(seconds=LEASE_S))


def renewed(row: EventRecord, now: datetime, until: datetime | None = None) -> EventRecord:
    """`until`: a drain about to sleep past a normal renewal (its evicted pods' grace periods) holds
    the lease that long, plus LEASE_S, with this one write."""
    lease_until = max(now, until or now) + timedelta(seconds=LEASE_S)
    return replace(row, lease_until=lease_until)


def released(row: EventRecord, now: datetime) -> EventRecord:
    return replace(row, lease_until=now)


def due_renewal(row: EventRecord, now: datetime) -> bool:
    return row.lease_until is None or (row.lease_until - now).total_seconds() < RENEW_WHEN_S


def finished(row: EventRecord, now: datetime, *, pods_left: int, removed: bool, terminating: int = 0) -> EventRecord:
    return replace(row, status=DONE, lease_until=None, finished_at=now, pods_left=pods_left,
                   pods_terminating=terminating, removed=removed)


def withdrawn(row: EventRecord, now: datetime) -> EventRecord:
    """Azure cancelled the event before it started: a drain still running stops at its next lease
    write (this one changed the ETag), and none starts. A finished drain's row stays as it was."""
    return row if row.status == DONE else replace(row, status=WITHDRAWN, lease_until=None, finished_at=now)


@dataclass(frozen=True)
class ReceivedEvent:
    """What never changes about a recorded event: found by when it was received (the registry's time
    index), for the autoscaler's Preempt notices and reconcile's expiry, without reading every row."""
    node: str
    event_id: str
    type: str
    received_at: datetime
    deadline: datetime

    @classmethod
    def of(cls, record: EventRecord) -> ReceivedEvent:
        return cls(record.node, record.event_id, record.type, record.received_at, record.deadline)
