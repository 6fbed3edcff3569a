"""Drain a node before its deadline: evict (never plain delete) until empty or out of time.

Runs from the `node-events` queue. Idempotent: the registry row remembers which event was
drained, so a redelivered message after a crash continues the drain and a duplicate of a
finished one does nothing. Kubernetes API faults inside the drain are retried until the
cutoff; after that the error propagates and the queue redelivers the message.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Callable

from nodepool.domain.events import NODE_REMOVING_TYPES
from nodepool.domain.join import check_hostname, node_password_secret
from nodepool.domain.model import NodeState, Pod
from nodepool.domain.registry import NodeRecord
from nodepool.errors import InvalidInput, TransientError
from nodepool.ports import Kube, Registry
from nodepool.services.nodes import for_event, update_node

log = logging.getLogger(__name__)
KUBE_SYSTEM = "kube-system"
BACKOFF_FIRST_S, BACKOFF_MAX_S = 0.25, 2.0  # between eviction passes; back to the first after progress


@dataclass(frozen=True)
class DrainRequest:
    node: str
    event_id: str
    type: str
    deadline: datetime

    @classmethod
    def from_message(cls, message: dict) -> "DrainRequest":
        try:
            request = cls(check_hostname(message["node"]), str(message["event_id"]), str(message["type"]),
                          datetime.fromisoformat(message["deadline"]))
        except (KeyError, TypeError, ValueError) as err:
            raise InvalidInput(f"malformed drain message: {err}", code="invalid_message") from err
        if request.deadline.tzinfo is None:
            raise InvalidInput("drain deadline has no time zone", code="invalid_message")
        return request


@dataclass(frozen=True)
class DrainPolicy:
    margin_s: float = 5.0
    force_delete: bool = False
    pod_grace_s: int = 30


def evictable(pod: Pod) -> bool:
    """DaemonSet and mirror pods stay (kubectl drain skips them too); finished pods do not count."""
    return not (pod.daemonset or pod.mirror or pod.phase in ("Succeeded", "Failed") or pod.terminating)


class Drainer:
    def __init__(self, registry: Registry, kube: Kube, policy: DrainPolicy,
                 now: Callable[[], datetime], sleep: Callable[[float], None]):
        self.registry, self.kube, self.policy, self.now, self.sleep = registry, kube, policy, now, sleep

    def drain(self, request: DrainRequest) -> dict:
        row = self.registry.node(request.node)
        if row and row.last_event_id == request.event_id and row.drained_at:
            return {"node": request.node, "event_id": request.event_id, "status": "already drained"}
        started = self.now()
        self._mark(request, lambda r: replace(r, state=NodeState.DRAINING, drain_started_at=r.drain_started_at
                                              if r.last_event_id == request.event_id and r.drain_started_at
                                              else started), current=row)
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
        self._mark(request, lambda r: replace(
            r, state=NodeState.DELETED if removing else NodeState.CORDONED, drained_at=finished,
            pods_left=len(left), note=f"{len(left)} pods not evicted before the deadline" if left else ""))
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

    def _mark(self, request: DrainRequest, change, current=None) -> None:
        def apply(row: NodeRecord | None) -> NodeRecord:
            base = row or NodeRecord(name=request.node, state=NodeState.DRAINING)
            return change(for_event(base, request.event_id, request.type, request.deadline, self.now()))
        kwargs = {"current": current} if current is not None else {}
        update_node(self.registry, request.node, apply, **kwargs)
