"""The operator's view (GET /api/status): the pool at a glance, and each tick's decision recorded.

Every part is read on its own: a part that cannot be read (no registered cluster, ARM or
Kubernetes failing) is reported as {"unavailable": why} and the rest is still served.
"""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from nodepool.core.errors import NodepoolError
from nodepool.core.ports import Kube, Registry
from nodepool.status.ports import DecisionLog

log = logging.getLogger("nodepool.status")
KINDS = ("reconcile", "autoscale")


def decision_of(report) -> dict:
    """A tick report (reconcile's TickReport or autoscale's AutoscaleReport) as a decision row."""
    out = {"line": report.line(), "planned": dict(report.planned), "applied": report.applied,
           "failed": report.failed, "blocked": report.blocked, "dry_run": report.dry_run}
    reasons = [*getattr(report, "notes", ()), *getattr(report, "unplaced", ())]
    reasons += [f"backed off {pool} ({code})" for pool, code in getattr(report, "backed_off", {}).items()]
    return {**out, "reasons": reasons[:20]}


class RecordedTicks:
    """A reconciler or autoscaler whose every tick is also written to the decision log. A log that
    cannot be written costs the record only, never the tick."""

    def __init__(self, inner, decisions: DecisionLog, kind: str):
        self.inner, self.decisions, self.kind = inner, decisions, kind

    def tick(self, now: datetime):
        report = self.inner.tick(now)
        try:
            self.decisions.record(self.kind, now, decision_of(report))
        except NodepoolError as err:
            log.warning("%s decision not recorded: %s", self.kind, err.code)
        return report

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _part(read: Callable[[], object]) -> object:
    try:
        return read()
    except NodepoolError as err:
        return {"unavailable": f"{err.code}: {err.message}"}


class StatusService:
    def __init__(self, registry: Registry, kube: Callable[[datetime], Kube | None],
                 pools: Callable[[], dict[str, str]], decisions: DecisionLog):
        """`pools()` maps node name -> pool name from the scale sets' listings (raises when unreadable)."""
        self.registry, self.kube, self.pools, self.decisions = registry, kube, pools, decisions

    def view(self, now: datetime) -> dict:
        rows = self.registry.all_nodes()
        pools = _part(self.pools)
        kube = _part(lambda: self._kube_view(now))
        nodes = []
        for row in sorted(rows, key=lambda r: r.name):
            node = {**row.public(), "pool": pools.get(row.name, "") if "unavailable" not in pools else ""}
            if isinstance(kube, dict) and "nodes" in kube:
                node.update(kube["nodes"].get(row.name, {"ready": "absent", "pods": 0}))
            nodes.append(node)
        out = {"at": now.isoformat(), "nodes": nodes, "decisions": {k: _part(lambda k=k: self.decisions.recent(k))
                                                                     for k in KINDS}}
        out["pools"] = dict(Counter(n["pool"] or "unknown" for n in nodes if n["state"] != "deleted"))
        if "unavailable" in pools:
            out["pools_unavailable"] = pools["unavailable"]
        out["kubernetes"] = kube if "unavailable" in kube else {"pending_pods": kube["pending_pods"],
                                                                "complete": kube["complete"]}
        return out

    def _kube_view(self, now: datetime) -> dict:
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
