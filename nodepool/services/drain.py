"""Drain a node before its deadline: evict (never plain delete) until empty or out of time.

Runs from the `node-events` queue. Idempotent: the registry row remembers which event was
drained, so a redelivered message after a crash continues the drain and a duplicate of a
finished one does nothing. Kubernetes API faults inside the drain are retried until the
cutoff; after that the error propagates and the queue redelivers the message.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Callable

from nodepool.clock import utcnow
from nodepool.domain import audit
from nodepool.domain.audit import Actor
from nodepool.domain.drain_message import POISON_QUEUE, DrainRequest
from nodepool.domain.events import NODE_REMOVING_TYPES
from nodepool.domain.join import KUBE_SYSTEM, node_password_secret
from nodepool.domain.model import Pod
from nodepool.domain.registry import NodeRecord
from nodepool.errors import TransientError
from nodepool.ports import Kube, Registry
from nodepool.services.audit import AuditTrail
from nodepool.services.cluster import RegisteredCluster
from nodepool.services.nodes import update_node

log = logging.getLogger(__name__)
BACKOFF_FIRST_S, BACKOFF_MAX_S = 0.25, 2.0  # between eviction passes; back to the first after progress
FINAL_WRITE_BUDGET_S = 30.0  # a storage restart's length; the queue redelivers after that


@dataclass(frozen=True)
class DrainPolicy:
    margin_s: float = 5.0
    force_delete: bool = False
    pod_grace_s: int = 30


def evictable(pod: Pod) -> bool:
    """DaemonSet and mirror pods stay (kubectl drain skips them too); finished pods do not count."""
    return not (pod.daemonset or pod.mirror or pod.phase in ("Succeeded", "Failed") or pod.terminating)


class DrainService:
    """The queue trigger's use cases: drain for one message; record a drain that failed for good."""

    def __init__(self, registry: Registry, cluster: RegisteredCluster, policy: DrainPolicy,
                 now: Callable[[], datetime] = utcnow, sleep: Callable[[float], None] = time.sleep,
                 trail: AuditTrail | None = None):
        self.registry, self.cluster, self.policy, self.now, self.sleep = registry, cluster, policy, now, sleep
        self.trail = trail

    def drain(self, request: DrainRequest) -> dict:
        kube = self.cluster.kube(self.now())
        outcome = Drainer(self.registry, kube, self.policy, self.now, self.sleep).drain(request)
        if self.trail and "pods_left" in outcome:  # a drain done now, not one found done already
            self._audit(request, outcome)
        return outcome

    def _audit(self, request: DrainRequest, outcome: dict) -> None:
        why, who, now = f"{request.type} {request.event_id}", Actor.system("drain"), self.now()
        self.trail.record(who, audit.DRAIN, request.node, why, now, detail=f"pods_left={outcome['pods_left']}")
        if request.type in NODE_REMOVING_TYPES:
            self.trail.record(who, audit.NODE_DELETE, request.node, why, now)

    def failed(self, request: DrainRequest, now: datetime) -> None:
        """The host moved the message to the poison queue: say so on the row (its state stays)."""
        note = f"drain for {request.event_id} failed; message in {POISON_QUEUE}"
        update_node(self.registry, request.node, lambda row: row and replace(row, note=note, updated_at=now))


class Drainer:
    def __init__(self, registry: Registry, kube: Kube, policy: DrainPolicy,
                 now: Callable[[], datetime], sleep: Callable[[float], None]):
        self.registry, self.kube, self.policy, self.now, self.sleep = registry, kube, policy, now, sleep

    def drain(self, request: DrainRequest) -> dict:
        row = self.registry.node(request.node)
        if row and row.last_event_id == request.event_id and row.drained_at:
            return {"node": request.node, "event_id": request.event_id, "status": "already drained"}
        started = self.now()
        self._mark(request.node, lambda r: r.draining(request.event_id, request.type, request.deadline, started),
                   current=row)
        cutoff = request.deadline - timedelta(seconds=self.policy.margin_s)
        left = self._evict_until(request.node, cutoff)
        if left and self.policy.force_delete:
            for pod in left:
                self.kube.delete_pod(pod, grace_s=0)
            left = []
        removing = request.type in NODE_REMOVING_TYPES
        if removing:
            self.kube.delete_node(request.node)
            self.kube.delete_secret(KUBE_SYSTEM, node_password_secret(request.node))
        finished = self.now()
        self._final_mark(request.node, lambda r: r.drained(request.event_id, request.type, request.deadline,
                                                           finished, removing=removing, pods_left=len(left)))
        outcome = {"node": request.node, "event_id": request.event_id, "pods_left": len(left),
                   "late": finished > cutoff, "seconds": round((finished - started).total_seconds(), 3)}
        log.info("drained", extra=outcome)
        return outcome

    def _evict_until(self, node: str, cutoff: datetime) -> list[Pod]:
        backoff, pods = BACKOFF_FIRST_S, []
        while True:
            evicted = 0
            try:
                pods = [p for p in self.kube.pods_on(node) if evictable(p)]
                if not pods or self.now() >= cutoff:
                    return pods
                for pod in pods:
                    remaining = (cutoff - self.now()).total_seconds()
                    evicted += bool(self.kube.evict(pod, grace_s=max(0, min(self.policy.pod_grace_s, int(remaining)))))
            except TransientError as err:
                if self.now() >= cutoff:
                    raise
                log.warning("kubernetes API failing during drain; retrying", extra={"node": node, "error": err.code})
            remaining = (cutoff - self.now()).total_seconds()
            if remaining <= 0:
                continue  # one last look at what is left
            if evicted:  # progress: a PDB refusal clears as soon as the evicted pod's replacement is Ready
                backoff = BACKOFF_FIRST_S
            self.sleep(min(backoff, remaining))
            backoff = min(backoff * 2, BACKOFF_MAX_S)

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
            self.sleep(backoff)
            waited += backoff
            backoff = min(backoff * 2, BACKOFF_MAX_S)

    def _mark(self, node: str, move: Callable[[NodeRecord], NodeRecord], current=None) -> None:
        """`move` the row (NodeRecord.new when there is none: the drain's record is what counts)."""
        kwargs = {"current": current} if current is not None else {}
        update_node(self.registry, node, lambda row: move(row or NodeRecord.new(node)), **kwargs)
