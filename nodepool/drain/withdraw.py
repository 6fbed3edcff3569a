"""A scheduled event Azure withdrew before it started (the agent saw it leave the document while
still Scheduled: "in rare cases, the operation is canceled by Azure before it starts"): the VM
stays, so its drain ends and its cordon is lifted.

The event row moves to `withdrawn` (drain/state.py): a drain still running loses its lease at its
next write, which it makes at the latest right before deleting the Node, and a queued one never
starts. A drain that had already deleted the Node leaves a running VM without one; reconcile
brings it back (nodepool/reconcile/repair.py, a VM that outlived its event). Safe to repeat.
"""
from __future__ import annotations

from datetime import datetime

from nodepool.core.errors import Conflict, NotFound
from nodepool.core.ports import Kube, Registry
from nodepool.core.rows import update_node
from nodepool.drain.state import withdrawn

WITHDRAW_TRIES = 5


def withdraw(registry: Registry, kube: Kube, node: str, event_id: str, now: datetime) -> dict:
    """Azure cancelled `event_id` before it started: end its drain, lift its cordon. Safe to repeat."""
    record = registry.event(node, event_id)
    if record is None:
        return {"event_id": event_id, "status": "unknown"}
    for _ in range(WITHDRAW_TRIES):  # a drain renewing its lease meanwhile: read again, write again
        moved = withdrawn(record, now)
        if moved is record:
            break
        try:
            record = registry.save_event(moved)
            break
        except Conflict:
            record = registry.event(node, event_id) or record
    uncordoned = lift_cordon(registry, kube, node, event_id, now)
    return {"event_id": event_id, "status": record.status, "uncordoned": uncordoned}


def lift_cordon(registry: Registry, kube: Kube, node: str, event_id: str, now: datetime) -> bool:
    """The withdrawn event's cordon, if it is still the node's last event and the Node still exists."""
    row = registry.node(node)
    if row is None or row.last_event_id != event_id or not row.can("withdrawn"):
        return False
    try:
        kube.patch_node(node, unschedulable=False)
    except NotFound:
        return False  # the drain deleted it already: reconcile repairs a VM without its Node
    update_node(registry, node, lambda current: current.withdrawn(now)
                if current and current.last_event_id == event_id and current.can("withdrawn") else current)
    return True
