"""What a reconcile tick talks to: its own state store and a peek at the drain queues, beside the
shared ports (nodepool.core.ports), bundled as ReconcilePorts."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from nodepool.core.ports import Kube, Registry, ScaleSet
from nodepool.core.trail import AuditTrail
from nodepool.reconcile.model import ReconcileState


class TickStore(Protocol):
    """The reconcile timer's state: one row per cluster, with optimistic concurrency."""
    def load(self) -> tuple[ReconcileState, str | None]: ...  # (state, ETag); (empty, None) before the first save
    def save(self, state: ReconcileState, etag: str | None) -> str: ...  # Conflict when saved since `etag`


MAX_PEEK = 32  # Queue Storage's most per peek


@dataclass(frozen=True)
class PeekedMessage:
    message_id: str
    inserted_at: datetime | None
    body: dict | None  # None when the content is not a JSON object


class QueuePeek(Protocol):
    def peek(self, name: str, limit: int = MAX_PEEK) -> list[PeekedMessage]: ...  # nothing is dequeued


@dataclass(frozen=True)
class ReconcilePorts:
    scaleset: ScaleSet  # the main scale set (NODEPOOL_SCALE_SET); an apply's is the pool it acts on
    kube: Kube | None  # None until the master registered: the Nodes cannot be listed, so nothing is done
    registry: Registry
    queues: QueuePeek
    store: TickStore
    trail: AuditTrail | None = None  # the audit trail of destructive actions (None: not audited)
    pools: tuple[ScaleSet, ...] = ()  # every other scale set the app manages (the autoscale pools')

    @property
    def scalesets(self) -> tuple[ScaleSet, ...]:
        return (self.scaleset, *self.pools)
