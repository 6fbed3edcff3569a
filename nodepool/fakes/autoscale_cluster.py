"""In-memory Kubernetes for the autoscaler: Nodes, Pods and budgets as the ClusterView port
shows them, Preempt notices, and a drain path that cordons and evicts at once.

Knobs: `fail_next(error)` breaks the next listing (a partial picture); `hold_drains` keeps
evicted pods in place (a PDB that never clears). `bind_pending` is a tiny scheduler: it binds
each pending pod to the first Ready, schedulable node with room that admits it.
"""
from __future__ import annotations

from dataclasses import replace

from nodepool.autoscale.fit import admits
from nodepool.autoscale.model import Budget, NodeView, PodView, Resources
from nodepool.core.errors import NodepoolError
from nodepool.core.model import Snapshot


class FakeClusterView:
    def __init__(self):
        self.node_map: dict[str, NodeView] = {}
        self.pod_map: dict[str, PodView] = {}
        self.budget_list: list[Budget] = []
        self._failures: list[NodepoolError] = []

    def fail_next(self, error: NodepoolError, times: int = 1) -> None:
        self._failures.extend([error] * times)

    def _listing(self, items) -> Snapshot:
        if self._failures:
            err = self._failures.pop(0)
            return Snapshot((), complete=False, error=f"{err.code}: {err.message}")
        return Snapshot(tuple(items))

    # -- the port ---------------------------------------------------------------------------------
    def nodes(self) -> Snapshot[NodeView]:
        return self._listing(self.node_map.values())

    def pods(self) -> Snapshot[PodView]:
        return self._listing(self.pod_map.values())

    def budgets(self) -> Snapshot[Budget]:
        return self._listing(self.budget_list)

    # -- seeds and the scheduler ----------------------------------------------------------------
    def add_node(self, node: NodeView) -> None:
        self.node_map[node.name] = node

    def remove_node(self, name: str) -> list[PodView]:
        """The Node is gone (VM deleted or preempted): its pods are gone too; returns the movable ones."""
        self.node_map.pop(name, None)
        lost = [p for p in self.pod_map.values() if p.node == name]
        for pod in lost:
            del self.pod_map[pod.key]
        return [p for p in lost if not (p.daemonset or p.mirror)]

    def add_pod(self, pod: PodView) -> None:
        self.pod_map[pod.key] = pod

    def delete_pod(self, key: str) -> None:
        self.pod_map.pop(key, None)

    def room(self, node: NodeView) -> Resources:
        used = Resources()
        for pod in self.pod_map.values():
            if pod.node == node.name:
                used = used + pod.requests
        return node.allocatable - used

    def bind_pending(self) -> int:
        bound = 0
        rooms = {n.name: self.room(n) for n in self.node_map.values() if n.ready and not n.unschedulable}
        for pod in sorted((p for p in self.pod_map.values() if p.node is None), key=lambda p: p.key):
            target = next((name for name, room in rooms.items() if pod.requests.fits_in(room)
                           and admits(pod, dict(self.node_map[name].labels), self.node_map[name].taints)), None)
            if target is None:
                self.pod_map[pod.key] = replace(pod, unschedulable=True)
                continue
            rooms[target] = rooms[target] - pod.requests
            self.pod_map[pod.key] = replace(pod, node=target, unschedulable=False)
            bound += 1
        return bound


class FakePreemptNotices:
    def __init__(self):
        self.nodes: set[str] = set()
        self.fail = False

    def preempting(self) -> Snapshot[str]:
        if self.fail:
            return Snapshot((), complete=False, error="events table unavailable")
        return Snapshot(tuple(sorted(self.nodes)))


class FakeDrains:
    """Cordon, then evict every movable pod at once (its controller recreates it Pending)."""
    def __init__(self, cluster: FakeClusterView):
        self.cluster = cluster
        self.started: list[str] = []
        self.cancelled: list[str] = []
        self.removed_nodes: list[str] = []
        self.hold_drains = False
        self.evicted = 0

    def start(self, node: str, reason: str) -> None:
        self.started.append(node)
        if node in self.cluster.node_map:
            self.cluster.node_map[node] = replace(self.cluster.node_map[node], unschedulable=True)
        if self.hold_drains:
            return
        for pod in [p for p in self.cluster.pod_map.values() if p.node == node and not (p.daemonset or p.mirror)]:
            self.cluster.pod_map[pod.key] = replace(pod, node=None, unschedulable=False)
            self.evicted += 1

    def removed(self, node: str) -> None:
        self.removed_nodes.append(node)
        self.cluster.node_map.pop(node, None)

    def cancel(self, node: str) -> None:
        self.cancelled.append(node)
        if node in self.cluster.node_map:
            self.cluster.node_map[node] = replace(self.cluster.node_map[node], unschedulable=False)
