"""What a reconcile tick talks to, bundled: the ports of nodepool.ports it needs."""
from __future__ import annotations

from dataclasses import dataclass

from nodepool.ports import Kube, QueuePeek, Registry, ScaleSet, TickStore


@dataclass(frozen=True)
class ReconcilePorts:
    scaleset: ScaleSet
    kube: Kube | None  # None until the master registered: the Nodes cannot be listed, so nothing is done
    registry: Registry
    queues: QueuePeek
    store: TickStore
