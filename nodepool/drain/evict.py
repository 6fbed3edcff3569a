"""The eviction loop: evict (never plain delete) until the Node is empty or out of time.

Time comes from drain/budget.py: the cutoff and each pod's grace period from the notice left. A
drain is done when its pods are gone, not when they are Terminating (`kubectl drain` waits for the
deletions too). For an event that takes the VM away the Node is deleted only then: a Node deleted
under pods still on it orphans them (the pod GC force-deletes them while their containers may still
run, and a StatefulSet starts the replacement beside the old one). When pods are still there at the
cutoff (a PDB held them, or their grace outlasted the notice) the drain waits for the VM to be
verifiably gone (ARM: 404, Deleting, stopped) and deletes the Node then, or leaves it cordoned to
reconcile when that does not come within VM_GONE_WAIT_S. Kubernetes API faults are retried until
the cutoff; after that the error propagates and the queue redelivers the message. Who may drain (the
lease) is drain/service.py's; its renewal is also where a withdrawn event stops the drain.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from nodepool.core.clock import Clock
from nodepool.core.errors import TransientError
from nodepool.core.jitter import equal_jitter
from nodepool.core.k3s import KUBE_SYSTEM, node_password_secret
from nodepool.core.limits import PARALLEL_EVICTIONS
from nodepool.core.logs import logger
from nodepool.core.model import Pod
from nodepool.core.ports import Kube, Registry
from nodepool.core.records import NodeRecord
from nodepool.core.rows import update_node
from nodepool.drain.budget import DrainPod, budget, plan_pass
from nodepool.drain.report import NODE_REMOVING_TYPES
from nodepool.drain.state import DrainRequest

if TYPE_CHECKING:
    from nodepool.drain.service import Lease

log = logger(__name__)
BACKOFF_FIRST_S, BACKOFF_MAX_S = 0.25, 1.0  # between eviction passes; back to the first after progress
HELD_MAX_S = 4.0  # between passes a PDB refused, when an eighth of the time left is longer than a second
WAIT_FIRST_S, WAIT_MAX_S = 0.5, 8.0  # looking again while only waiting for evicted pods to go
SLOT_WAIT_S = 2.0  # waiting for a place to evict, the lease is renewed this often at least
VM_GONE_WAIT_S, VM_GONE_POLL_S = 60.0, 2.0  # past the deadline, how long to wait for the VM to be gone
FINAL_WRITE_BUDGET_S = 30.0  # a storage restart's length; the queue redelivers after that


@dataclass(frozen=True)
class DrainPolicy:
    margin_s: float = 5.0  # the most the budget keeps back before the deadline (the reserve's cap)
    force_delete: bool = False
    pod_grace_s: int = 30  # the longest grace period a drain gives a pod


def evictable(pod: Pod) -> bool:
    """DaemonSet and mirror pods stay (kubectl drain skips them too); finished pods do not count.
    A Terminating pod counts until it is gone."""
    return not (pod.daemonset or pod.mirror or pod.phase in ("Succeeded", "Failed"))


class Slot:
    """A place among the drains evicting at once (a semaphore's), held for one eviction pass: a drain
    between passes (a PDB holding its pods back) or waiting for its evicted pods to go holds none."""

    def __init__(self, places: threading.Semaphore | None = None):
        self._places, self._held = places, False

    def take(self, timeout: float | None = None) -> bool:
        """False when no place came within `timeout`: the drain renews its lease and asks again."""
        if self._places is not None and not self._held:
            self._held = self._places.acquire(timeout=timeout)
            return self._held
        return True

    def give_back(self) -> None:
        if self._places is not None and self._held:
            self._places.release()
            self._held = False


class Drainer:
    """`vm_gone(node)`: ARM's current word that the node's VM is gone (None: no such check here);
    `slot`: where this drain's turn to evict comes from (None: always its turn); `evictions`: the
    instance's threads for evictions in flight, PARALLEL_EVICTIONS of this drain's at once (None: one
    after the other). The lease is looked at (and renewed when due) before every call: drain/state.py
    sizes it so that any call then fits in it."""

    def __init__(self, registry: Registry, kube: Kube, policy: DrainPolicy, clock: Clock,
                 vm_gone: Callable[[str], bool] | None = None, slot: Slot | None = None,
                 evictions: Executor | None = None):
        self.registry, self.kube, self.policy, self.clock, self.vm_gone = registry, kube, policy, clock, vm_gone
        self.slot, self.evictions = slot or Slot(), evictions

    def drain(self, request: DrainRequest, lease: Lease | None = None) -> dict:
        """With a `lease` (the event row's), only the holder writes the outcome; without, the
        registry row remembers a finished drain."""
        row = self.registry.node(request.node)
        if lease is None and row and row.last_event_id == request.event_id and row.drained_at:
            return {"node": request.node, "event_id": request.event_id, "status": "already drained"}
        started = self.clock.now()
        self._mark(request.node, lambda r: r.draining(request.event_id, request.type, request.deadline, started),
                   current=row)
        keep = (lambda: lease.keep(self.clock.now())) if lease else (lambda: None)
        hold = (lambda until: lease.keep(self.clock.now(), until=until)) if lease else (lambda until: None)
        try:
            pods = self._evict_until(request, keep, hold)
        finally:
            self.slot.give_back()
        if pods and self.policy.force_delete:
            for pod in pods:
                self.kube.delete_pod(pod, grace_s=0)
            pods = []
        removing = request.type in NODE_REMOVING_TYPES and (not pods or self._vm_went(request, keep))
        if removing:
            keep()
            pods = [p for p in self.kube.pods_on(request.node) if evictable(p)]  # what the pod GC takes now
        left, terminating = sum(not p.terminating for p in pods), sum(p.terminating for p in pods)
        if lease:  # a write, not a look: a withdrawn event stops the drain here, before the Node goes
            lease.keep(self.clock.now(), force=True)
        node_deleted = False
        if removing:
            node_deleted = self.kube.delete_node(request.node)
            keep()
            self.kube.delete_secret(KUBE_SYSTEM, node_password_secret(request.node))
        finished = self.clock.now()
        if lease:
            lease.finish(finished, pods_left=left, removed=removing, terminating=terminating)
        self._final_mark(request.node, lambda r: r.drained(request.event_id, request.type, request.deadline, finished,
                                                           removing=removing, pods_left=left, terminating=terminating))
        outcome = {"node": request.node, "event_id": request.event_id, "pods_left": left,
                   "pods_terminating": terminating, "node_deleted": node_deleted,
                   "late": finished > request.deadline, "seconds": round((finished - started).total_seconds(), 3)}
        log.info("drained", extra=outcome)
        return outcome

    def _evict_until(self, request: DrainRequest, keep: Callable[[], None],
                     hold: Callable[[datetime], None]) -> list[Pod]:
        """Evict, then wait for the evicted pods to be gone, until the cutoff; what is still there.
        A pass that may evict waits for a slot first (asking nothing of the API meanwhile). A drain
        left with Terminating pods alone takes none, and looks again ever less often (0.5 s, doubling,
        at most WAIT_MAX_S) and just after the first of them is due; its lease is held until the last
        of them is due in one write (`hold`), not renewed every few seconds."""
        backoff, waiting, pods, only_waiting = BACKOFF_FIRST_S, WAIT_FIRST_S, [], False
        while True:
            keep()
            plan = budget(self.clock.now(), request.deadline, max_reserve_s=self.policy.margin_s)
            left = (plan.cutoff - plan.now).total_seconds()
            if not only_waiting and left > 0 and not self.slot.take(timeout=min(SLOT_WAIT_S, left)):
                continue  # every place taken: renew the lease while waiting, ask nothing of the API
            evicted, only_waiting = 0, False
            try:
                pods = [p for p in self.kube.pods_on(request.node) if evictable(p)]
                plan = budget(self.clock.now(), request.deadline, max_reserve_s=self.policy.margin_s)
                going = [p for p in pods if p.terminating]
                step = plan_pass(plan, [DrainPod(p.namespace, p.name, p.grace_s) for p in pods if not p.terminating],
                                 {}, terminating=len(going))
                if step.finish_now:
                    return pods
                only_waiting = not (step.evict or step.held)
                evicted = self._evict(pods, dict(((g.namespace, g.name), s) for g, s in step.evict), keep)
            except TransientError as err:
                if self.clock.now() >= plan.cutoff:
                    raise
                log.warning("kubernetes API failing during drain; retrying",
                            extra={"node": request.node, "error": err.code})
                going = []
            finally:  # a place is held for one pass only
                self.slot.give_back()
            remaining = (plan.cutoff - self.clock.now()).total_seconds()
            if remaining <= 0:
                continue  # one last look at what is left
            if evicted:  # progress: a PDB refusal clears as soon as the evicted pod's replacement is Ready
                backoff = BACKOFF_FIRST_S
            if only_waiting:  # pods whose application exits at SIGTERM go at once, others at their deadline
                nap = min(equal_jitter(waiting), remaining, self._until_due(going))
                waiting = min(waiting * 2, WAIT_MAX_S)
                last = max([p.deleting_at for p in going if p.deleting_at] or [plan.now])
                hold(min(plan.cutoff, last) + timedelta(seconds=WAIT_MAX_S))  # through the last one's grace
            else:
                nap, waiting = min(equal_jitter(backoff), remaining, self._until_due(going)), WAIT_FIRST_S
            self.clock.sleep(nap)
            # a PDB that keeps refusing: with time to spare, ask it less often (an eighth of the time left)
            backoff = min(backoff * 2, max(BACKOFF_MAX_S, min(HELD_MAX_S, remaining / 8)))

    def _until_due(self, going: list[Pod]) -> float:
        """Look again just after the first Terminating pod's kubelet must have killed it (its
        deletionTimestamp, in whole seconds), not a whole backoff later."""
        due = [p.deleting_at for p in going if p.deleting_at is not None]
        if not due:
            return BACKOFF_MAX_S
        wait = (min(due) - self.clock.now()).total_seconds() + 0.1
        return wait if wait > 0 else BACKOFF_FIRST_S

    def _vm_went(self, request: DrainRequest, keep: Callable[[], None]) -> bool:
        """Pods are still on the Node at the cutoff: it is deleted only once its VM is verifiably gone
        (ARM says so; not before the deadline, when Azure may take it) or its pods are, waiting at most
        VM_GONE_WAIT_S past the deadline."""
        if self.vm_gone is None:
            return False
        until = request.deadline + timedelta(seconds=VM_GONE_WAIT_S)
        first = (request.deadline - self.clock.now()).total_seconds()
        if first > 0:
            self.clock.sleep(first)
        while True:
            keep()
            try:
                if self.vm_gone(request.node):
                    return True
                keep()
                if not any(evictable(p) for p in self.kube.pods_on(request.node)):
                    return True
            except TransientError as err:
                log.warning("cannot tell whether the VM is gone yet", extra={"node": request.node, "error": err.code})
            if self.clock.now() >= until:
                log.warning("pods still on the Node and its VM not gone: the Node stays, cordoned",
                            extra={"node": request.node, "event_id": request.event_id})
                return False
            self.clock.sleep(equal_jitter(VM_GONE_POLL_S))

    def _evict(self, pods: list[Pod], grace: dict[tuple[str, str], int], keep: Callable[[], None]) -> int:
        """Evict the planned pods in PARALLEL_EVICTIONS parts at once, each part one pod after the other
        and the lease looked at before each (a drain's parts are queued together, so the eviction
        threads finish one drain's pods before the next one's: first come, first drained); a PDB's
        refusal (False) is tried again next pass."""
        chosen = [p for p in pods if (p.namespace, p.name) in grace]
        cap = self.policy.pod_grace_s

        def some(part: list[Pod]) -> int:
            evicted = 0
            for pod in part:
                keep()
                evicted += bool(self.kube.evict(pod, grace_s=min(cap, grace[(pod.namespace, pod.name)])))
            return evicted
        parts = [chosen[i::PARALLEL_EVICTIONS] for i in range(min(PARALLEL_EVICTIONS, len(chosen)))]
        if self.evictions is None or len(parts) <= 1:
            return some(chosen)
        return sum(self.evictions.map(some, parts))

    def _final_mark(self, node: str, move: Callable[[NodeRecord], NodeRecord]) -> None:
        """The work is done: retry the row's last write here for a while rather than leave it showing
        `draining` until the queue redelivers the message (visibility timeout); then the redelivery."""
        backoff, waited = BACKOFF_FIRST_S, 0.0
        while True:
            try:
                return self._mark(node, move)
            except TransientError as err:
                if waited >= FINAL_WRITE_BUDGET_S:
                    raise
                log.warning("drained, but the registry write failed; retrying", extra={"node": node,
                                                                                       "error": err.code})
            self.clock.sleep(backoff)
            waited += backoff
            backoff = min(backoff * 2, BACKOFF_MAX_S)

    def _mark(self, node: str, move: Callable[[NodeRecord], NodeRecord], current=None) -> None:
        """`move` the row (NodeRecord.new when there is none: the drain's record is what counts)."""
        kwargs = {"current": current} if current is not None else {}
        update_node(self.registry, node, lambda row: move(row or NodeRecord.new(node)), **kwargs)
