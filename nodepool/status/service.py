"""The operator's view (GET /api/status): the pool at a glance, and the last ticks' decisions.

Every part is read on its own: a part that cannot be read (no registered cluster, ARM or
Kubernetes failing) is reported as {"unavailable": why} and the rest is still served.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from nodepool.autoscale.ports import PoolScaleSet
from nodepool.core.errors import NodepoolError, Unavailable
from nodepool.core.ports import Kube, Registry
from nodepool.status.decisions import KINDS, DecisionLog

T = TypeVar("T")


def _part(read: Callable[[], T]) -> T | dict[str, str]:
    try:
        return read()
    except NodepoolError as err:
        return {"unavailable": f"{err.code}: {err.message}"}


def node_pools(pools: Sequence[tuple[str, PoolScaleSet]]) -> dict[str, str]:
    """Node name -> pool, from each pool's scale-set listing; Unavailable when one cannot be read whole."""
    out: dict[str, str] = {}
    for pool, scaleset in pools:
        listing = scaleset.instances()
        if not listing.complete:
            raise Unavailable(f"pool {pool}: {listing.error or 'listing incomplete'}", code="pool_listing_failed")
        out.update({i.name: pool for i in listing.items})
    return out


class StatusService:
    def __init__(self, registry: Registry, kube: Callable[[datetime], Kube | None],
                 pools: Sequence[tuple[str, PoolScaleSet]], decisions: DecisionLog,
                 attestation: Callable[[datetime], dict] | None = None):
        """`pools`: (pool name, its scale set) of every pool the app manages; `attestation`: what the
        attested-document verifier trusts (roots, intermediates, when the bundled set expires)."""
        self.registry, self.kube, self.pools, self.decisions = registry, kube, pools, decisions
        self.attestation = attestation

    def view(self, now: datetime) -> dict:
        rows = self.registry.all_nodes()
        pools = _part(lambda: node_pools(self.pools))
        kube: dict[str, Any] = _part(lambda: self._kube_view(now))
        nodes: list[dict[str, Any]] = []
        for row in sorted(rows, key=lambda r: r.name):
            node = {**row.public(), "pool": pools.get(row.name, "") if "unavailable" not in pools else ""}
            if isinstance(kube, dict) and "nodes" in kube:
                node.update(kube["nodes"].get(row.name, {"ready": "absent", "pods": 0}))
            nodes.append(node)
        decisions = {kind: _part(partial(self.decisions.recent, kind)) for kind in KINDS}
        out: dict[str, Any] = {"at": now.isoformat(), "nodes": nodes, "decisions": decisions}
        out["pools"] = dict(Counter(n["pool"] or "unknown" for n in nodes if n["state"] != "deleted"))
        if "unavailable" in pools:
            out["pools_unavailable"] = pools["unavailable"]
        out["kubernetes"] = kube if "unavailable" in kube else {"pending_pods": kube["pending_pods"],
                                                                "complete": kube["complete"]}
        if self.attestation is not None:
            out["attestation"] = _part(partial(self.attestation, now))
        return out

    def _kube_view(self, now: datetime) -> dict[str, Any]:
        kube = self.kube(now)
        if kube is None:
            return {"unavailable": "no Kubernetes client: the master has not registered"}
        nodes, pods = kube.nodes(), kube.pods()
        per_node = Counter(p.node for p in pods.items if p.node and not p.terminating)
        ready = {True: "True", False: "False", None: "Unknown"}
        pending = sorted(f"{p.namespace}/{p.name}" for p in pods.items if p.phase == "Pending" and not p.node)
        return {"nodes": {n.name: {"ready": ready[n.ready], "pods": per_node[n.name], "cordoned": n.unschedulable}
                          for n in nodes.items},
                "pending_pods": {"count": len(pending), "names": pending[:20]},
                "complete": nodes.complete and pods.complete}
