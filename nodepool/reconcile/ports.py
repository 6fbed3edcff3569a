"""What a reconcile tick talks to, bundled: the ports of nodepool.core.ports it needs."""
from __future__ import annotations

from dataclasses import dataclass

from nodepool.core.ports import Kube, QueuePeek, Registry, ScaleSet, TickStore
from nodepool.core.trail import AuditTrail


@dataclass(frozen=True)
class ReconcilePorts:
    scaleset: ScaleSet
    kube: Kube | None  # None until the master registered: the Nodes cannot be listed, so nothing is done
    registry: Registry
    queues: QueuePeek
    store: TickStore
    trail: AuditTrail | None = None  # the audit trail of destructive actions (None: not audited)
