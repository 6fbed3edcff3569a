"""Ports of the autoscaler (timer_autoscale): what it reads and the few things it writes.

Kept apart from nodepool/core/ports.py so the autoscaler can land without touching the ports the
other services share. Every method raises only nodepool.core.errors types; a listing that cannot be
trusted comes back as a Snapshot with complete=False, never as a short list.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from nodepool.autoscale.model import AutoscaleState, Budget, NodeView, PodView, Pool
from nodepool.core.model import Instance, ScaleSetInfo, Snapshot
from nodepool.core.trail import AuditTrail


class PoolScaleSet(Protocol):
    """One pool's scale set: what the autoscaler needs of nodepool.core.ports.ScaleSet (the same adapter)."""
    def info(self) -> ScaleSetInfo: ...  # capacity and ETag, read fresh
    def instances(self) -> Snapshot[Instance]: ...
    # If-Match `etag`: Conflict when stale; CapacityUnavailable(code=Azure's code) when Azure has none
    def set_capacity(self, capacity: int, etag: str) -> None: ...
    def delete_instances(self, ids: Sequence[str]) -> None: ...  # exactly these instances; NotFound if gone


class ClusterView(Protocol):
    """Kubernetes as the autoscaler sees it (pool and instance id are filled in by the service)."""
    def nodes(self) -> Snapshot[NodeView]: ...
    def pods(self) -> Snapshot[PodView]: ...  # all namespaces, bound and pending
    def budgets(self) -> Snapshot[Budget]: ...  # PodDisruptionBudgets with status.disruptionsAllowed


class PreemptNotices(Protocol):
    def preempting(self) -> Snapshot[str]: ...  # nodes with a Preempt scheduled event not yet acted on


class ScaleDownDrains(Protocol):
    """The drain path (cordon now, evict through the Eviction API in the drain service)."""
    def start(self, node: str, reason: str) -> None: ...  # idempotent
    def cancel(self, node: str) -> None: ...  # uncordon: the scale-down was given up
    def removed(self, node: str) -> None: ...  # its instance is deleted: the Node and its password go too


class AutoscaleStore(Protocol):
    """State across ticks (one Table Storage row in production), with optimistic concurrency."""
    def load(self) -> tuple[AutoscaleState, str | None]: ...  # (AutoscaleState(), None) before the first save
    def save(self, state: AutoscaleState, etag: str | None) -> str: ...  # Conflict when saved since `etag`


@dataclass(frozen=True)
class PoolPort:
    pool: Pool
    scaleset: PoolScaleSet


@dataclass(frozen=True)
class AutoscalePorts:
    pools: tuple[PoolPort, ...]
    cluster: ClusterView
    notices: PreemptNotices
    drains: ScaleDownDrains
    store: AutoscaleStore
    trail: AuditTrail | None = None  # capacity writes and instance deletes are control actions

    def scaleset(self, pool: str) -> PoolScaleSet:
        return next(p.scaleset for p in self.pools if p.pool.name == pool)

    def pool(self, name: str) -> Pool:
        return next(p.pool for p in self.pools if p.pool.name == name)
