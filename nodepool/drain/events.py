"""POST /api/events and /api/leave: a node says it goes (Azure's scheduled events, or its own
leave); cordon at once, start the drain.

Each EventId is handled once. The steps run in an order that survives a crash at any
point: the event row is the dedup point, cordon, row update and enqueue are safe to repeat,
and the event is marked `enqueued` last (ETag-conditional), so a retried request finishes what
a failed one started, and one that finds it enqueued, draining or done returns its status.
The queue message is sent invisible for a while (QUEUE_DELAY_MAX_S at most, never past the
deadline): it is the durable record, while the drain itself starts at once in this process
(DrainService.start, drain/service.py). Two requests racing for one new event may both enqueue
it; the event row's lease (drain/state.py) lets exactly one drain run.

An event naming several VMs (host maintenance) records which of them are ours (`listed`), so the
one acknowledgement Azure acts on for all of them waits for all their drains (drain/release.py).
An event the agent says was withdrawn (Azure cancelled it before it started) ends its drain and
lifts its cordon (drain/withdraw.py).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from nodepool.core import audit
from nodepool.core.clock import SYSTEM, Clock
from nodepool.core.cluster import RegisteredCluster
from nodepool.core.errors import AlreadyExists, Conflict, NotFound
from nodepool.core.instruments import NULL, Instruments
from nodepool.core.logs import logger
from nodepool.core.ports import EventQueue, Kube, Registry
from nodepool.core.records import NodeRecord
from nodepool.core.rows import update_node
from nodepool.core.trail import AuditTrail
from nodepool.drain.report import EventReport, ScheduledEvent
from nodepool.drain.state import DrainRequest, EventRecord, enqueued
from nodepool.drain.withdraw import withdraw
from nodepool.identity.guard import NodeClaim, NodeGuard
from nodepool.identity.instances import InstanceDirectory

log = logger(__name__)
QUEUE_DELAY_MAX_S = 10.0
LEAVE_DEADLINE_S = 90  # what a leaving agent waits for its drain at most


class Starter(Protocol):
    """What starts a drain in this process (DrainService)."""
    starts: bool  # False: nothing starts here, so the queue message must not wait

    def start(self, request: DrainRequest) -> None: ...


class NoStart:
    """No in-process drain: the queue message goes out visible, for the drain trigger."""
    starts = False

    def start(self, request: DrainRequest) -> None:
        return None


class EventsService:
    """An agent's report: only events naming its VM count, by hostname or by the scale set's VM name.
    Its leave: our own event type for a graceful shutdown, drained like a Terminate."""

    def __init__(self, registry: Registry, cluster: RegisteredCluster, queue: EventQueue,
                 instances: InstanceDirectory, guard: NodeGuard, trail: AuditTrail,
                 starter: Starter | None = None, leave_deadline_s: int = LEAVE_DEADLINE_S,
                 clock: Clock = SYSTEM, telemetry: Instruments = NULL):
        self.registry, self.cluster, self.queue = registry, cluster, queue
        self.instances, self.guard, self.trail = instances, guard, trail
        self.starter = starter or NoStart()
        self.leave_deadline_s, self.clock, self.telemetry = leave_deadline_s, clock, telemetry

    def record(self, report: EventReport, now: datetime, claim: NodeClaim) -> dict:
        """Only the node's own VM (its credential, checked in-process) reports its events."""
        started = self.clock.monotonic()
        with self.telemetry.span("event", node=report.hostname, count=len(report.events)):
            answer = self._record(report, now, claim)
        if answer.get("events"):  # the Node is cordoned when record returns
            self.telemetry.record("nodepool.cordon.latency", 1000 * (self.clock.monotonic() - started),
                                  node=report.hostname)
        return answer

    def _record(self, report: EventReport, now: datetime, claim: NodeClaim) -> dict:
        node = self.guard.authenticate(claim, report.hostname, now)
        instance = self.instances.visible(report.hostname, now, node.vm_id)
        vm_name = self.instances.vm_name(instance)
        kube = self.cluster.kube(now)
        answer = record_events(self.registry, kube, self.queue, report, vm_name, now, self.starter,
                               listed=self.instances.named_in)
        answer["withdrawn"] = [withdraw(self.registry, kube, report.hostname, event_id, now)
                               for event_id in report.withdrawn]
        for event in answer["events"]:  # after the cordons: auditing never holds one back
            if event.get("action") == "drain" and not event.get("duplicate"):
                why = f"{event['type']} {event['event_id']}"
                self.trail.record(node.actor, audit.CORDON, report.hostname, why, now)
        for gone in answer["withdrawn"]:
            if gone.get("uncordoned"):
                self.trail.record(node.actor, audit.UNCORDON, report.hostname, f"withdrawn {gone['event_id']}", now)
        for unknown in answer["unknown"]:
            log.warning("scheduled event of a type we do not know: ignored", extra={"node": report.hostname, **unknown})
        return answer

    def leave(self, claim: NodeClaim, hostname: str, now: datetime) -> dict:
        """Cordon, enqueue the drain, then mark the row: a failure before the mark is retried whole."""
        node = self.guard.authenticate(claim, hostname, now)
        self.cluster.info(now)
        self.instances.visible(hostname, now, node.vm_id)
        row = self.registry.node(hostname)
        event_id = f"leave-{row.token_id if row and row.token_id else hostname}"
        deadline = now + timedelta(seconds=self.leave_deadline_s)
        kube = self.cluster.kube(now)
        if kube.node(hostname) is not None:
            kube.patch_node(hostname, unschedulable=True)
        self.queue.send(DrainRequest(hostname, event_id, "Leave", deadline, not_before=now).to_message())

        def left(current: NodeRecord | None) -> NodeRecord:
            return (current or NodeRecord.new(hostname)).left(event_id, deadline, now)

        update_node(self.registry, hostname, left, current=row)
        self.trail.record(node.actor, audit.LEAVE, hostname, event_id, now)
        self.trail.record(node.actor, audit.CORDON, hostname, event_id, now)
        return {"node": hostname, "event_id": event_id, "deadline": deadline.isoformat()}


def record_events(registry: Registry, kube: Kube, queue: EventQueue, report: EventReport, vm_name: str,
                  now: datetime, starter: Starter | None = None,
                  listed: Callable[[Sequence[str]], Sequence[str]] | None = None) -> dict:
    """`vm_name` is the name Azure puts in Resources for this VM (ScaleSet.vm_name); `listed`: which
    of an event's Resources are VMs of ours, by node name (InstanceDirectory.named_in)."""
    starter = starter or NoStart()
    named = report.named(vm_name)
    answers = [_record_event(registry, kube, queue, starter, report.hostname, event, now,
                             _others(listed, event, report.hostname))
               for event in named if event.known]
    unknown = [{"event_id": e.event_id, "type": e.type} for e in named if not e.known]
    return {"node": report.hostname, "incarnation": report.incarnation, "events": answers, "unknown": unknown,
            "ignored": len(report.events) - len(answers)}


def _others(listed: Callable[[Sequence[str]], Sequence[str]] | None, event: ScheduledEvent, node: str) -> str:
    """The other nodes of ours the event names, comma-separated (EventRecord.listed)."""
    if listed is None or len(event.resources) < 2:
        return ""
    return ",".join(n for n in listed(event.resources) if n != node)


def queue_delay_s(deadline: datetime, now: datetime) -> float:
    return max(0.0, min(QUEUE_DELAY_MAX_S, (deadline - now).total_seconds()))


def _record_event(registry: Registry, kube: Kube, queue: EventQueue, starter: Starter, node: str, event: ScheduledEvent,
                  now: datetime, listed: str = "") -> dict:
    record = EventRecord(node, event.event_id, event.type, now, event.deadline(now), event.not_before, listed=listed)
    try:
        record = registry.add_event(record)
    except AlreadyExists:
        earlier = registry.event(node, event.event_id)
        if earlier is not None and (earlier.enqueued or not event.drains):
            return {**earlier.answer(), "duplicate": True}
        record = earlier or record  # a request that failed half-way: finish its steps
    if not event.drains:
        return record.answer()
    try:
        kube.patch_node(node, unschedulable=True)  # the cordon: one round trip, no read first
    except NotFound:
        pass  # no Node (not joined yet, or deleted already): nothing to cordon

    def cordoned(current: NodeRecord | None) -> NodeRecord | None:
        row = current or NodeRecord.new(node)
        return row.cordoned_for(event.event_id, event.type, record.deadline, now) if row.can("cordon") else current

    # The row before the message: once enqueued, the drain may start at once and must not be overwritten.
    update_node(registry, node, cordoned)
    request = DrainRequest(node, event.event_id, event.type, record.deadline, event.not_before)
    queue.send(request.to_message(), delay_s=queue_delay_s(record.deadline, now) if starter.starts else 0)
    try:
        record = registry.save_event(enqueued(record))
    except Conflict:  # a racing request (or its drain) moved the row first: it owns the rest
        current = registry.event(node, event.event_id) or record
        return {**current.answer(), "duplicate": True}
    starter.start(request)
    return record.answer()
