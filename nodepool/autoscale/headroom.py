"""Headroom: free room kept ready, so a preemption or the start of a burst lands at once.

Booting a node takes minutes; a pod that arrives when no node has room waits all of it. So
the policy keeps room for `Policy.headroom_nodes` whole nodes of the most preferred available
pool free, the way cluster-autoscaler users run low-priority "overprovisioning" pause pods:
placeholders (never real pods) the size of one node, packed after every real demand. Scale-up
adds nodes for the placeholders that fit nowhere; scale-down keeps a node whose removal would
leave no room for them. When the pool is at max or backed off they are simply not placed.
A placeholder has no selector and tolerates every taint: room of that size on any pool's node
counts (nodes do not carry the pool's template labels, so a selector would never match them).
Nothing is kept for an idle cluster: with no workload pod running or pending, a pool with min
0 still scales to zero.
"""
from __future__ import annotations

from nodepool.autoscale.model import PodView, Toleration
from nodepool.autoscale.view import View, movable

PLACEHOLDER_NAMESPACE = ""  # no real pod lives in the empty namespace


def is_placeholder(pod: PodView) -> bool:
    return pod.namespace == PLACEHOLDER_NAMESPACE


def placeholders(view: View) -> list[PodView]:
    if view.policy.headroom_nodes <= 0 or not _workload(view):
        return []
    pool = next((pv.pool for pv in view.pools if pv.pool.max > 0 and not view.backed_off(pv.pool.name)), None)
    if pool is None:
        return []
    return [PodView(f"headroom-{i}", PLACEHOLDER_NAMESPACE, None, pool.shape,
                    tolerations=(Toleration(operator="Exists"),), owner_kind="Headroom")
            for i in range(view.policy.headroom_nodes)]


def _workload(view: View) -> bool:
    pods = view.obs.pods.items
    return any(p.node is None and p.unschedulable for p in pods) or any(
        movable(p) for n in view.obs.nodes.items for p in view.pods_on.get(n.name, ()))
