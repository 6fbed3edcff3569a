"""POST /api/events: take this agent's scheduled events, cordon at once, enqueue the drain.

Each EventId is handled once. The steps run in an order that survives a crash at any
point: the event row is the dedup point, cordon, row update and enqueue are safe to repeat,
and the event is marked `enqueued` last, so a retried request finishes what a failed one
started. (Two requests for one new event racing each other can both enqueue it; the drain
is idempotent, so the second finds the work done or does it again harmlessly.)
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from nodepool.domain.events import EventReport, ScheduledEvent
from nodepool.domain.model import NodeState
from nodepool.domain.registry import EventRecord, NodeRecord
from nodepool.errors import AlreadyExists, NotFound
from nodepool.ports import EventQueue, Kube, Registry
from nodepool.services.nodes import for_event, update_node


def drain_message(node: str, event_id: str, kind: str, not_before: datetime | None, deadline: datetime) -> dict:
    return {"node": node, "event_id": event_id, "type": kind,
            "not_before": (not_before or deadline).isoformat(), "deadline": deadline.isoformat()}


def record_events(registry: Registry, kube: Kube, queue: EventQueue, report: EventReport, vm_name: str,
                  now: datetime) -> dict:
    """`vm_name` is the scale-set VM name (`<scaleset>_<instanceId>`) that Azure puts in Resources."""
    answers = [_record(registry, kube, queue, report.hostname, event, now) for event in report.mine(vm_name)]
    return {"node": report.hostname, "incarnation": report.incarnation, "events": answers,
            "ignored": len(report.events) - len(answers)}


def _record(registry: Registry, kube: Kube, queue: EventQueue, node: str, event: ScheduledEvent,
            now: datetime) -> dict:
    record = EventRecord(node, event.event_id, event.type, now, event.deadline(now), event.not_before)
    try:
        registry.add_event(record)
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
        if current is not None and current.state is NodeState.DELETED:
            return current
        base = current or NodeRecord(name=node, state=NodeState.CORDONED)
        return replace(for_event(base, event.event_id, event.type, record.deadline, now), state=NodeState.CORDONED)

    # The row before the message: once enqueued, the drain may start at once and must not be overwritten.
    update_node(registry, node, cordoned)
    queue.send(drain_message(node, event.event_id, event.type, event.not_before, record.deadline))
    registry.save_event(replace(record, enqueued=True))
    return record.answer()
