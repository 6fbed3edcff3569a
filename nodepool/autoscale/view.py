"""The observation indexed for decisions: pods per node, room per node, pools by preference."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from nodepool.autoscale.backoff import backed_off, stuck
from nodepool.autoscale.fit import Bin
from nodepool.autoscale.model import AutoscaleState, NodeView, Observation, PodView, Policy, PoolView, Resources


def movable(pod: PodView) -> bool:
    """Pods a drain would move (DaemonSet and mirror pods stay with the node)."""
    return not (pod.daemonset or pod.mirror)


@dataclass(frozen=True)
class View:
    obs: Observation
    state: AutoscaleState
    now: datetime
    policy: Policy

    @cached_property
    def pools(self) -> list[PoolView]:
        return sorted(self.obs.pools, key=lambda p: (p.pool.preference, p.pool.name))

    def pool(self, name: str) -> PoolView | None:
        return next((p for p in self.pools if p.pool.name == name), None)

    def known_pool(self, name: str) -> PoolView:
        """The pool of a node or a scale-up already matched to one (a pool of this observation)."""
        found = self.pool(name)
        if found is None:
            raise ValueError(f"no pool {name!r} in this observation")
        return found

    @cached_property
    def preempting(self) -> frozenset[str]:
        return frozenset(self.obs.preempting.items)

    @cached_property
    def pods_on(self) -> dict[str, list[PodView]]:
        out: dict[str, list[PodView]] = {n.name: [] for n in self.obs.nodes.items}
        for pod in self.obs.pods.items:
            if pod.node in out:
                out[pod.node].append(pod)
        return out

    def nodes_of(self, pool: str) -> list[NodeView]:
        return [n for n in self.obs.nodes.items if n.pool == pool]

    def used(self, node: NodeView) -> Resources:
        total = Resources()
        for pod in self.pods_on.get(node.name, []):
            total = total + pod.requests
        return total

    def backed_off(self, pool: str) -> bool:
        return backed_off(self.state, pool, self.now)

    def stuck_count(self, view: PoolView) -> int:
        found = stuck(view, self.now, self.policy, self.state.creating)
        return found.count if found else 0

    def in_flight(self, view: PoolView) -> int:
        """Nodes asked for and not Ready yet (stuck instances excluded: they will not come)."""
        ready = sum(1 for n in self.nodes_of(view.pool.name) if n.ready)
        return max(0, view.capacity - ready - self.stuck_count(view))

    def headroom(self, view: PoolView) -> int:
        return max(0, min(self.policy.max_step, view.pool.max - (view.capacity - self.stuck_count(view))))

    def schedulable(self, node: NodeView) -> bool:
        return (node.ready and not node.unschedulable and node.name not in self.preempting
                and node.name not in self.state.draining)

    def node_bin(self, node: NodeView) -> Bin:
        return Bin(node.name, node.allocatable - self.used(node), dict(node.labels), node.taints)

    def flight_bins(self, view: PoolView) -> list[Bin]:
        if self.backed_off(view.pool.name):
            return []  # capacity asked of a pool that failed is not coming
        p = view.pool
        return [Bin(f"{p.name}-booting-{i}", p.shape, p.node_labels(), p.taints) for i in range(self.in_flight(view))]

    def pool_rank(self, pool: str) -> int:
        return next((i for i, p in enumerate(self.pools) if p.pool.name == pool), len(self.pools))

    def fallback(self, node: NodeView) -> bool:
        """On a pool that stands in for a more preferred one of the same VM size, which is available
        (not backed off, not at max 0): its pods belong there. A GPU pool is nobody's fallback."""
        rank = self.pool_rank(node.pool)
        size = self.pools[rank].pool.vm_size if rank < len(self.pools) else None
        return any(p.pool.vm_size == size and not self.backed_off(p.pool.name) and p.pool.max > 0
                   for p in self.pools[:rank])
