"""Whether a node's agent may acknowledge its event now (IMDS StartRequests), asked by its status poll.

Microsoft: "Acknowledging an event allows the event to proceed for all Resources in the event, not
just the VM that acknowledges the event." Host maintenance (Reboot, Redeploy, Freeze) and batched
Terminates name several VMs, so one place decides for all of them: an event is acknowledged only
when every node of ours it names has been drained, its pods gone (drain/state.py `may_acknowledge`).
Until then nobody acknowledges, and Azure proceeds at NotBefore by itself: an acknowledgement only
ever gives time away, so a drain still running (or one that ended with pods left) never gets one.
"""
from __future__ import annotations

from nodepool.core.ports import Registry
from nodepool.core.records import NodeRecord
from nodepool.drain.report import DRAINED_TYPES
from nodepool.drain.state import may_acknowledge

AZURE_TYPES = DRAINED_TYPES - {"Leave"}  # Leave is our own: nobody to acknowledge it to


def acknowledgeable(registry: Registry, row: NodeRecord) -> str | None:
    """The EventId the node's agent may acknowledge now, or None. Reads event rows only once the
    node's own drain has finished, so polling a drain in progress costs nothing more."""
    if not row.drained_at or not row.last_event_id or row.last_event_type not in AZURE_TYPES:
        return None
    own = registry.event(row.name, row.last_event_id)
    if own is None or not own.drained:
        return None
    rows = [own, *(registry.event(node, own.event_id) for node in own.nodes if node != row.name)]
    return own.event_id if may_acknowledge(rows) else None
