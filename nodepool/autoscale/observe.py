"""Observe for the autoscaler: every pool's scale set, then Nodes, Pods, budgets, Preempt notices.

Reads only. A listing that fails becomes an incomplete Snapshot (the policy then does nothing).
A Node belongs to a pool only when that pool's complete instance listing has an instance of
the same name: the pool, instance id and protection come from ARM, not from a label anybody
could set. Nodes of no pool (the master, foreign nodes) are left out of the view.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from nodepool.autoscale.model import InstanceView, NodeView, Observation, Pool, PoolView
from nodepool.autoscale.ports import AutoscaleStore, ClusterView, PoolScaleSet, PreemptNotices, ScaleDownDrains
from nodepool.core.model import Instance, Snapshot
from nodepool.core.trail import AuditTrail
from nodepool.reconcile.observe import listing


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


def _pool_view(port: PoolPort) -> tuple[PoolView, tuple[Instance, ...]]:
    try:
        capacity = port.scaleset.info().capacity
    except Exception as err:
        failed = Snapshot((), complete=False, error=f"{type(err).__name__}: {getattr(err, 'message', err)}")
        return PoolView(port.pool, 0, failed), ()
    found = listing(port.scaleset.instances)
    views = tuple(InstanceView(i.instance_id, i.name, i.provisioning_state, i.created_at, i.protected)
                  for i in found.items)
    return PoolView(port.pool, capacity, Snapshot(views, found.complete, found.error)), found.items


def observe(ports: AutoscalePorts) -> Observation:
    pools, owners = [], {}
    for port in ports.pools:
        view, instances = _pool_view(port)
        pools.append(view)
        owners.update({i.name: (port.pool.name, i) for i in instances})
    nodes = listing(ports.cluster.nodes)
    ours = tuple(_owned(n, *owners[n.name]) for n in nodes.items if n.name in owners)
    return Observation(tuple(pools), Snapshot(ours, nodes.complete, nodes.error), listing(ports.cluster.pods),
                       listing(ports.cluster.budgets), listing(ports.notices.preempting))


def _owned(node: NodeView, pool: str, instance: Instance) -> NodeView:
    return replace(node, pool=pool, instance_id=instance.instance_id, protected=instance.protected)
