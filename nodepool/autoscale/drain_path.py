"""The autoscaler's Preempt notices and scale-down drains, over the ports the other services share.

PreemptNotices: the `events` table (the events trigger records every scheduled event there
before it cordons), read by received time (the last `keep` + LONGEST_NOTICE, a key range of its
time index, not every event of the week): nodes with a Preempt whose deadline is at most `keep`
ago. A failed read is an incomplete Snapshot, so the tick does nothing rather than miss a replacement.

ScaleDownDrains: the same path a scheduled event takes. Cordon the Node, record the row as
cordoned for a `ScaleDown` event, then put a DrainRequest on `node-events`; the drain trigger
evicts through the Eviction API (PDBs honoured) and marks the row drained. ScaleDown is not a
node-removing type for the drain worker, which removes the Node at its deadline even with pods
left: here the Node goes only once the autoscaler deleted that very instance (`removed`: Node,
node-password secret, row `deleted`), after the node was found empty. `cancel` uncordons only a
node whose last event is still our ScaleDown.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from nodepool.core.errors import NodepoolError, NotFound, Unavailable
from nodepool.core.k3s import KUBE_SYSTEM, node_password_secret
from nodepool.core.model import Snapshot
from nodepool.core.ports import EventQueue, Kube, Registry
from nodepool.core.records import NodeRecord
from nodepool.core.rows import update_node
from nodepool.drain.state import DrainRequest

SCALE_DOWN = "ScaleDown"
LONGEST_NOTICE = timedelta(minutes=15)  # no scheduled event's NotBefore is further out than this (Terminate's most)
PREEMPT = "Preempt"


class EventTablePreemptNotices:
    def __init__(self, registry: Registry, now: datetime, keep: timedelta = timedelta(minutes=5)):
        self.registry, self.now, self.keep = registry, now, keep

    def preempting(self) -> Snapshot[str]:
        try:
            events = self.registry.events_received(since=self.now - self.keep - LONGEST_NOTICE)
        except NodepoolError as err:
            return Snapshot((), complete=False, error=f"events: {err.code}: {err.message}")
        return Snapshot(tuple(sorted({e.node for e in events
                                      if e.type == PREEMPT and e.deadline + self.keep >= self.now})))


class QueuedScaleDownDrains:
    def __init__(self, registry: Registry, kube: Kube | None, queue: EventQueue, now: datetime,
                 drain_timeout: timedelta):
        self.registry, self._kube, self.queue, self.now, self.timeout = registry, kube, queue, now, drain_timeout

    @property
    def kube(self) -> Kube:
        if self._kube is None:
            raise Unavailable("no Kubernetes client: the cluster is not registered")
        return self._kube

    def start(self, node: str, reason: str) -> None:
        """Idempotent: the same tick asking twice sends the same event id; the drain worker dedups on it."""
        self.kube.patch_node(node, unschedulable=True)  # NotFound: nothing to scale down, the tick keeps it
        event_id = f"scale-down-{self.now:%Y%m%dT%H%M%SZ}"
        deadline = self.now + self.timeout

        def cordoned(row: NodeRecord | None) -> NodeRecord | None:
            row = row or NodeRecord.new(node)
            return row.cordoned_for(event_id, SCALE_DOWN, deadline, self.now) if row.can("cordon") else None

        update_node(self.registry, node, cordoned)  # the row first: once enqueued the drain may start
        self.queue.send(DrainRequest(node, event_id, SCALE_DOWN, deadline).to_message())

    def removed(self, node: str) -> None:
        """Its instance is deleted: what Kubernetes keeps of it goes (as the drain worker does for a Preempt)."""
        self.kube.delete_node(node)
        self.kube.delete_secret(KUBE_SYSTEM, node_password_secret(node))

        def gone(row: NodeRecord | None) -> NodeRecord | None:
            if row is None or row.last_event_type != SCALE_DOWN:
                return None
            return row.drained(row.last_event_id, SCALE_DOWN, row.deadline or self.now, self.now, removing=True,
                               pods_left=0)

        update_node(self.registry, node, gone)

    def cancel(self, node: str) -> None:
        row = self.registry.node(node)
        if row is not None and row.last_event_type != SCALE_DOWN:
            return  # a scheduled event cordoned it since: that cordon is not ours to lift
        try:
            self.kube.patch_node(node, unschedulable=False)
        except NotFound:
            return
        update_node(self.registry, node, lambda r: r.uncordoned(self.now) if r and r.can("uncordon") else None)
