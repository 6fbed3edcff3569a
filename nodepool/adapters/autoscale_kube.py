"""The autoscaler's ClusterView over the Kubernetes API: Nodes, Pods and PodDisruptionBudgets.

Three listings per tick, all namespaces, paged (KubeClient.objects); a failed page makes that
Snapshot incomplete and the tick does nothing. Without a Kubernetes client (no master
registered yet, or its row unreadable) every listing is incomplete, with the reason.
"""
from __future__ import annotations

from collections.abc import Callable

from nodepool.adapters.autoscale_wire import budget, node_view, pod_view
from nodepool.autoscale.model import Budget, NodeView, PodView
from nodepool.core.model import Snapshot
from nodepool.core.ports import Kube

PDBS = "/apis/policy/v1/poddisruptionbudgets"


class KubeClusterView:
    def __init__(self, kube: Kube | None, missing: str = "no registered cluster"):
        self.kube, self.missing = kube, missing

    def _list(self, path: str, what: str, convert: Callable) -> Snapshot:
        if self.kube is None:
            return Snapshot((), complete=False, error=self.missing)
        raw = self.kube.objects(path, what)
        items = tuple(v for v in (convert(o) for o in raw.items) if v is not None)
        return Snapshot(items, raw.complete, raw.error)

    def nodes(self) -> Snapshot[NodeView]:
        return self._list("/api/v1/nodes", "list nodes", node_view)

    def pods(self) -> Snapshot[PodView]:
        return self._list("/api/v1/pods", "list pods", pod_view)

    def budgets(self) -> Snapshot[Budget]:
        return self._list(PDBS, "list pod disruption budgets", budget)
