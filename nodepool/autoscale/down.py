"""Scale down, with cluster-autoscaler's semantics: which nodes are unneeded, and which may go.

A node is unneeded while max(cpu, memory) requests / allocatable stays under the threshold
(0.5), or while it is a fallback node (its pods belong on a preferred pool that is back). It
may go once unneeded for the unneeded time (10 min; fallback nodes a shorter time), if no
blocker holds it and every pod it runs fits on the nodes that stay. Never below a pool's min,
never within the delay after a scale-up (fallback nodes excepted: that scale-up was for them).
Regular-priority nodes go before spot ones; empty nodes go in bulk, others one per tick.
A node also stays while the headroom placeholders would find no room without it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nodepool.autoscale.fit import decreasing, first_fit
from nodepool.autoscale.headroom import placeholders
from nodepool.autoscale.model import SAFE_TO_EVICT, Budget, NodeView, PodView, Priority
from nodepool.autoscale.view import View, movable
from nodepool.core.k3s import KUBE_SYSTEM


@dataclass(frozen=True)
class ScaleDown:
    pool: str
    node: str
    instance_id: str
    pods: int  # pods the drain moves
    reason: str


@dataclass(frozen=True)
class Kept:
    node: str
    reason: str


def _matches(budget: Budget, pod: PodView) -> bool:
    labels = dict(pod.labels)
    return budget.namespace == pod.namespace and all(labels.get(k) == v for k, v in budget.selector)


def blocker(view: View, node: NodeView, pods: list[PodView]) -> str | None:
    if node.scale_down_disabled:
        return "annotated scale-down-disabled"
    if node.protected:
        return "instance protected from scale-in"
    for pod in pods:
        if pod.safe_to_evict == "true":
            continue
        if pod.safe_to_evict == "false":
            return f"pod {pod.key} is annotated {SAFE_TO_EVICT}=false"
        if pod.owner_kind is None:
            return f"pod {pod.key} has no controller to recreate it"
        if pod.local_storage:
            return f"pod {pod.key} uses local storage"
        budgets = [b for b in view.obs.budgets.items if _matches(b, pod)]
        if pod.namespace == KUBE_SYSTEM and not budgets:
            return f"kube-system pod {pod.key} has no PodDisruptionBudget"
        for b in budgets:
            if b.disruptions_allowed < sum(1 for p in pods if _matches(b, p)):
                return f"pod {pod.key}: its PodDisruptionBudget allows {b.disruptions_allowed} disruptions"
    return None


def unneeded(view: View) -> dict[str, datetime]:
    """The unneeded-since map for the next state: kept for nodes still unneeded, started for new ones."""
    out = {}
    for node in view.obs.nodes.items:
        if (view.pool(node.pool) is None or not node.ready or node.name in view.preempting
                or node.name in view.state.draining):
            continue
        share = view.used(node).share_of(node.allocatable)
        if share < view.policy.utilization_threshold or view.fallback(node):
            out[node.name] = view.state.unneeded_since.get(node.name, view.now)
    return out


def scale_down(view: View, since: dict[str, datetime], scaling_up: bool) -> tuple[list[ScaleDown], list[Kept]]:
    if scaling_up:
        return [], []
    last_up = view.state.last_scale_up
    recent = last_up is not None and view.now - last_up < view.policy.delay_after_scale_up
    left = {pv.pool.name: pv.capacity - view.stuck_count(pv) for pv in view.pools}
    for d in view.state.draining.values():
        left[d.pool] = left.get(d.pool, 0) - 1
    removing: set[str] = set()
    bins = {n.name: view.node_bin(n) for n in view.obs.nodes.items if view.schedulable(n)}
    chosen: list[ScaleDown] = []
    kept: list[Kept] = []
    non_empty = len(view.state.draining)  # a drain in progress counts
    spare = placeholders(view)
    for node in _ordered(view, since):
        fallback = view.fallback(node)
        wait = view.policy.fallback_unneeded_time if fallback else view.policy.unneeded_time
        if view.now - since[node.name] < wait or (recent and not fallback):
            continue
        pods = [p for p in view.pods_on.get(node.name, []) if movable(p)]
        pool = view.known_pool(node.pool).pool
        why = blocker(view, node, pods) or (f"pool {pool.name} is at its min {pool.min}" if left[pool.name] <= pool.min
                                            else None)
        if why is None and pods and non_empty:
            continue  # one non-empty node per tick: its pods must land before the next goes
        if why is None and len([c for c in chosen if not c.pods]) >= view.policy.max_empty_bulk and not pods:
            continue
        others = [b for name, b in bins.items() if name != node.name and name not in removing]
        if why is None:
            staying = [b.clone() for b in others]
            if first_fit(decreasing(pods), staying):
                why = "its pods do not all fit on the nodes that stay"
            elif first_fit(spare, staying):
                why = f"keeps the headroom of {len(spare)} free nodes"
        if why:
            kept.append(Kept(node.name, why))
            continue
        first_fit(decreasing(pods), others)  # commit: the room they take is gone for the next candidate
        removing.add(node.name)
        left[pool.name] -= 1
        non_empty += bool(pods)
        share = view.used(node).share_of(node.allocatable)
        chosen.append(ScaleDown(pool.name, node.name, node.instance_id, len(pods),
                                ("fallback node, its preferred pool is available; " if fallback else "") +
                                f"requests {share:.0%} of allocatable, unneeded since {since[node.name].isoformat()}"))
    return chosen, kept


def _ordered(view: View, since: dict[str, datetime]) -> list[NodeView]:
    nodes = [n for n in view.obs.nodes.items if n.name in since]
    return sorted(nodes, key=lambda n: (view.known_pool(n.pool).pool.priority is Priority.SPOT, not view.fallback(n),
                                        view.used(n).share_of(n.allocatable), n.name))

