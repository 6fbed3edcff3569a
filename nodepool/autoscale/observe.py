"""Observe for the autoscaler: every pool's scale set, then Nodes, Pods, budgets, Preempt notices.

Reads only. A listing that fails becomes an incomplete Snapshot (the policy then does nothing).
A Node belongs to a pool only when that pool's complete instance listing has an instance of
the same name: the pool, instance id and protection come from ARM, not from a label anybody
could set. Nodes of no pool (the master, foreign nodes) are left out of the view.
"""
from __future__ import annotations

from dataclasses import replace

from nodepool.autoscale.model import InstanceView, NodeView, Observation, PoolView
from nodepool.autoscale.ports import AutoscalePorts, PoolPort
from nodepool.core.errors import NodepoolError
from nodepool.core.model import Instance, Snapshot
from nodepool.reconcile.observe import listing


def _pool_view(port: PoolPort) -> tuple[PoolView, tuple[Instance, ...]]:
    try:
        capacity = port.scaleset.info().capacity
    except NodepoolError as err:
        why = f"{type(err).__name__}: {err.message}"
        failed: Snapshot[InstanceView] = Snapshot((), complete=False, error=why)
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
