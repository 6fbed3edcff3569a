"""Drain a node before its deadline, exactly once per event: the drain's use cases.

A drain starts at once in this process, right after POST /api/events recorded and cordoned
(`start`), and, as the durable record, from the `node-events` queue message (`drain`). Exactly one
drain per event: the event row is the lease (drain/state.py). `claim_drain` reads the row and does
what `decide` says: COMPLETE (done: the registry row gets the recorded outcome if a crash lost it),
WAIT (another drain holds a live lease: the queue trigger puts its message back, invisible until that
lease would run out, rather than hold a worker thread watching it; the in-process start just returns),
DROP (the event was withdrawn) or TAKE, an ETag-conditional write. A drain that holds a `Lease`
renews it as it goes; a renewal or finish that loses its race raises LeaseLost: another drain took
over (or the event was withdrawn), and this one writes nothing more. A drain without an event row
(a leave) is idempotent through the registry row instead. The eviction loop itself is drain/evict.py.

In-process starts: one thread per drain (a drain mostly sleeps: between passes, and while its evicted
pods use their grace periods, which now ends a drain rather than their eviction), and a bound on how
many evict at once (`Slot`): NODEPOOL_DRAIN_WORKERS for drains short of time (deadline within
URGENT_S), a quarter as many for those with time to spare, so a long-notice mass eviction does not
crowd out the reports still arriving (on 2 cores, 64 drains evicting at once tripled the 30 s bench's
cordon p99). Every pool is sized from that one setting (core/limits.py Pools). Should this process
die, the queue message finds the lease run out and takes over.

The queue trigger runs under the host's functionTimeout (FUNCTION_TIMEOUT_S): a queue-triggered drain
plans for a deadline at most QUEUE_RUN_S away (a later one is brought in), so with its tail past the
deadline it always ends before the host would kill it. It still drains at once; only a drain whose
pods a PDB holds back for that long gives up earlier, and says so in `pods_left`.
"""
from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from nodepool.core import audit
from nodepool.core.audit import Actor
from nodepool.core.clock import SYSTEM, Clock
from nodepool.core.cluster import RegisteredCluster
from nodepool.core.errors import Conflict, TransientError
from nodepool.core.instruments import NULL, Instruments
from nodepool.core.jitter import equal_jitter
from nodepool.core.limits import FUNCTION_TIMEOUT_S, LONGEST_CALL_S, Pools
from nodepool.core.logs import logger
from nodepool.core.ports import EventQueue, Registry
from nodepool.core.records import NodeRecord
from nodepool.core.rows import update_node
from nodepool.core.trail import AuditTrail
from nodepool.drain import state as L
from nodepool.drain.evict import FINAL_WRITE_BUDGET_S, VM_GONE_WAIT_S, Drainer, DrainPolicy, Slot
from nodepool.drain.state import POISON_QUEUE, DrainRequest, EventRecord
from nodepool.drain.withdraw import lift_cordon
from nodepool.identity.instances import InstanceDirectory

log = logger(__name__)
WAIT_POLL_S = 1.0  # without a queue to put a message back on, a waiting trigger reads the row about once a second
URGENT_S = 15.0
CLAIM_ATTEMPTS = 8  # lost ETag races for one claim before the queue's redelivery tries again
# What a drain may still do past its deadline (wait for the VM to go, write its outcome, a few calls),
# and so how far out a deadline may be for a queue-triggered drain to end under functionTimeout.
QUEUE_TAIL_S = VM_GONE_WAIT_S + FINAL_WRITE_BUDGET_S + 4 * LONGEST_CALL_S
QUEUE_RUN_S = FUNCTION_TIMEOUT_S - QUEUE_TAIL_S
UNLEASED = "unleased"
NOT_THIS_DRAIN = ("already drained", "draining elsewhere", "lease lost", "withdrawn")  # no drain of this one


class LeaseLost(TransientError):
    code = "drain_lease_lost"


class ClaimContended(TransientError):
    code = "drain_claim_contended"


def new_owner() -> str:
    return f"{os.getpid()}-{uuid.uuid4().hex[:12]}"


@dataclass
class Lease:
    """A drain's hold on its event row: keep it, finish under it, or give it up. `keep` is called from
    the drain's eviction threads too: one renewal at a time."""
    registry: Registry
    row: EventRecord
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def keep(self, now: datetime, *, force: bool = False, until: datetime | None = None) -> None:
        """Renew when due; `force`: now, to learn before an irreversible step that the lease still holds;
        `until`: for a drain about to sleep that long (its lease covers the sleep, in this one write)."""
        with self._lock:
            longer = until is not None and (self.row.lease_until is None or self.row.lease_until < until)
            if force or longer or L.due_renewal(self.row, now):
                self.row = self._write(L.renewed(self.row, now, until))

    def finish(self, now: datetime, *, pods_left: int, removed: bool, terminating: int = 0) -> None:
        self.row = self._write(L.finished(self.row, now, pods_left=pods_left, removed=removed,
                                          terminating=terminating))

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
            raise LeaseLost(f"drain of {row.node} for {row.event_id}: the event row moved on (another drain "
                            "took the lease, or the event was withdrawn)") from err


@dataclass(frozen=True)
class Claim:
    decision: str  # state.COMPLETE / WAIT / TAKE / DROP, or UNLEASED: no event row (a leave)
    row: EventRecord | None = None
    lease: Lease | None = None


def claim_drain(registry: Registry, request: DrainRequest, owner: str, clock: Clock, *, wait: bool) -> Claim:
    """`wait`: watch a row another drain holds until it is done or its lease runs out (without a queue
    to put the message back on). Racing writers get CLAIM_ATTEMPTS chances, then ClaimContended: the
    queue delivers the message again."""
    lost = 0
    while True:
        row = registry.event(request.node, request.event_id)
        if row is None:
            return Claim(UNLEASED)
        decision = L.decide(row, clock.now())
        if decision in (L.COMPLETE, L.DROP) or (decision == L.WAIT and not wait):
            return Claim(decision, row)
        if decision == L.WAIT:
            clock.sleep(equal_jitter(2 * WAIT_POLL_S))
            continue
        try:
            taken = registry.save_event(L.claim(row, owner, clock.now()))
        except Conflict as err:  # another drain moved first: look again
            lost += 1
            if lost >= CLAIM_ATTEMPTS:
                raise ClaimContended(f"drain of {request.node} for {request.event_id}: {lost} claims lost "
                                     "to other writers") from err
            continue
        return Claim(L.TAKE, taken, Lease(registry, taken))


class DrainStarter:
    """Drains started in this process, one thread each (a drain mostly sleeps: between passes, and while
    its evicted pods use their grace periods); how many evict at once is bounded by urgency (`slots`).
    A crash in one is logged with its stack, never fatal."""

    def __init__(self, drain: Callable[[DrainRequest, Slot], dict], pools: Pools, clock: Clock = SYSTEM):
        self._drain, self._clock = drain, clock
        urgent = pools.drain_workers
        self._places = {True: threading.Semaphore(urgent), False: threading.Semaphore(pools.evicting - urgent)}
        self._threads = pools.drain_threads
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def start(self, request: DrainRequest) -> None:
        urgent = (request.deadline - self._clock.now()).total_seconds() < URGENT_S
        with self._lock:
            if self._pool is None:  # created on first use: a process that never drains has no threads
                self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="drain")
            pool = self._pool
        pool.submit(self._run, request, Slot(self._places[urgent]))

    def _run(self, request: DrainRequest, slot: Slot) -> None:
        try:
            self._drain(request, slot)
        except TransientError as err:  # a fault: the queue message retries it
            log.warning("in-process drain stopped; the queue message takes over",
                        extra={"node": request.node, "event_id": request.event_id, "error": err.code})
        except Exception:  # a bug: its stack, and still the queue message; nothing here may kill the pool
            log.error("in-process drain crashed; the queue message takes over",
                      extra={"node": request.node, "event_id": request.event_id}, exc_info=True)

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


class DrainService:
    """The drain's use cases: drain for one message, start one in-process, record a failure.
    `workers` 0 (NODEPOOL_DRAIN_WORKERS=0): drains run from the queue message only (`starts` False)."""

    def __init__(self, registry: Registry, cluster: RegisteredCluster, policy: DrainPolicy, clock: Clock = SYSTEM,
                 trail: AuditTrail | None = None, telemetry: Instruments = NULL, pools: Pools = Pools(0),
                 instances: InstanceDirectory | None = None, queue: EventQueue | None = None):
        self.registry, self.cluster, self.policy, self.clock = registry, cluster, policy, clock
        self.trail, self.telemetry, self.instances, self.queue = trail, telemetry, instances, queue
        self.starts = pools.drain_workers > 0  # False: nothing starts here, so the queue message must not wait
        self._starter = DrainStarter(lambda request, slot: self.drain(request, wait=False, slot=slot), pools,
                                     clock) if self.starts else None
        self._evictions = ThreadPoolExecutor(pools.eviction_threads, thread_name_prefix="evict")

    def start(self, request: DrainRequest) -> None:
        """Drain now, in this process, without waiting for the queue's next poll."""
        if self._starter:
            self._starter.start(request)

    def shutdown(self) -> None:
        """Wait for the drains started here (tests, and a worker that stops)."""
        if self._starter:
            self._starter.shutdown()
        self._evictions.shutdown(wait=True)

    def drain(self, request: DrainRequest, *, wait: bool = True, slot: Slot | None = None) -> dict:
        """`wait`: the queue trigger's way: a drain another holds is looked at again when its lease would
        run out (a message put back with that delay, given a `queue`; else by watching the row, which
        holds a worker thread). False: an in-process start, which leaves a drain someone else holds to
        them. `slot`: its turn to evict (DrainStarter's)."""
        started = self.clock.monotonic()
        with self.telemetry.span("drain", node=request.node, event_id=request.event_id, kind=request.type):
            outcome = self._drain(request, wait, slot)
        if outcome.get("pods_left") is not None and outcome.get("status") not in NOT_THIS_DRAIN:
            self.telemetry.record("nodepool.drain.duration", self.clock.monotonic() - started, kind=request.type)
            self.telemetry.record("nodepool.drain.pods_left", outcome["pods_left"], kind=request.type)
        return outcome

    def _drain(self, request: DrainRequest, wait: bool, slot: Slot | None) -> dict:
        status = {"node": request.node, "event_id": request.event_id}
        latest = self.clock.now() + timedelta(seconds=QUEUE_RUN_S)
        if wait and request.deadline > latest:  # the host kills an invocation past functionTimeout
            log.info("deadline beyond what a queue-triggered drain may run: planned for an earlier one",
                     extra={**status, "deadline": request.deadline.isoformat(), "planned": latest.isoformat()})
            request = replace(request, deadline=latest)
        claim = claim_drain(self.registry, request, new_owner(), self.clock, wait=wait and self.queue is None)
        if claim.decision == L.COMPLETE and claim.row is not None:  # a COMPLETE claim always has its row
            self._complete(claim.row)
            return {**status, "status": "already drained", "pods_left": claim.row.pods_left}
        if claim.decision == L.WAIT:
            if wait and self.queue is not None and claim.row is not None:
                return {**status, **self._later(request, claim.row, self.queue)}
            return {**status, "status": "draining elsewhere"}
        if claim.decision == L.DROP:
            return {**status, "status": "withdrawn"}
        drainer = Drainer(self.registry, self.cluster.kube(self.clock.now()), self.policy, self.clock,
                          vm_gone=self._vm_check(request.node), slot=slot, evictions=self._evictions)
        try:
            outcome = drainer.drain(request, lease=None if claim.decision == UNLEASED else claim.lease)
        except LeaseLost:
            return self._lost(request, status)
        except Exception:
            if claim.lease:
                claim.lease.release(self.clock.now())
            raise
        if self.trail and "pods_left" in outcome:  # a drain done now, not one found done already
            self._audit(self.trail, request, outcome)
        return outcome

    def _later(self, request: DrainRequest, row: EventRecord, queue: EventQueue) -> dict:
        """The durable record of a drain another holds, put back to be read when that lease would run
        out: the holder gone by then, this takes over; still renewing, it is put back again."""
        held = (row.lease_until - self.clock.now()).total_seconds() if row.lease_until else 0.0
        delay = max(WAIT_POLL_S, held + equal_jitter(2 * WAIT_POLL_S))
        queue.send(request.to_message(), delay_s=delay)
        return {"status": "draining elsewhere", "look_again_s": round(delay, 1)}

    def _lost(self, request: DrainRequest, status: dict) -> dict:
        """Another drain took the lease over, or the event was withdrawn: then its cordon goes (again:
        this drain may have marked the row `draining` after the withdrawal lifted it)."""
        row = self.registry.event(request.node, request.event_id)
        if row is not None and row.status == L.WITHDRAWN:
            lift_cordon(self.registry, self.cluster.kube(self.clock.now()), request.node, request.event_id,
                        self.clock.now())
            log.info("drain stopped: the event was withdrawn", extra=status)
            return {**status, "status": "withdrawn"}
        log.warning("drain lease lost; the drain that took it finishes", extra=status)
        return {**status, "status": "lease lost"}

    def _vm_check(self, node: str) -> Callable[[str], bool] | None:
        """ARM's word, asked when the drain needs it (a GET of the instance), that `node`'s VM is gone;
        the registry row says which instance it is, read once. Unknown is not gone."""
        if self.instances is None:
            return None
        instances, found = self.instances, list[NodeRecord | None]()

        def gone(_: str) -> bool:
            if not found:
                found.append(self.registry.node(node))
            row = found[0]
            return row is not None and bool(row.instance_id) and instances.gone(row.instance_id, row.scale_set)
        return gone

    def _complete(self, row: EventRecord) -> None:
        """A finished drain whose registry write a crash lost: write its outcome, nothing more."""
        def change(current: NodeRecord | None) -> NodeRecord | None:
            if current is None or current.last_event_id != row.event_id or current.drained_at:
                return current
            return current.drained(row.event_id, row.type, row.deadline, row.finished_at or self.clock.now(),
                                   removing=bool(row.removed), pods_left=row.pods_left or 0,
                                   terminating=row.pods_terminating or 0)
        update_node(self.registry, row.node, change)

    def _audit(self, trail: AuditTrail, request: DrainRequest, outcome: dict) -> None:
        why, who, now = f"{request.type} {request.event_id}", Actor.system("drain"), self.clock.now()
        trail.record(who, audit.DRAIN, request.node, why, now,
                     detail=f"pods_left={outcome['pods_left']} pods_terminating={outcome['pods_terminating']}")
        if outcome["node_deleted"]:  # the trail says what happened: no row for a Node already gone
            trail.record(who, audit.NODE_DELETE, request.node, why, now)

    def failed(self, request: DrainRequest, now: datetime) -> None:
        """The host moved the message to the poison queue: say so on the row (its state stays)."""
        note = f"drain for {request.event_id} failed; message in {POISON_QUEUE}"
        update_node(self.registry, request.node, lambda row: row and replace(row, note=note, updated_at=now))
