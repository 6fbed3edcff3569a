"""Scale up: pack the demand onto room that exists or is coming, then onto new nodes of the
most preferred pool that can take it.

Demand is (1) pending pods the scheduler marked Unschedulable and (2) the movable pods of nodes
with a Preempt notice: that capacity is about to vanish, so its replacement is asked for now,
not after the pods turn Pending. Room that counts: free requests on schedulable Ready nodes,
then whole nodes already asked for and still booting (so a tick never asks twice for the same
demand). What is left is packed first-fit-decreasing onto fresh nodes of each pool in order
of preference, skipping backed-off pools, each pool capped by its max and the per-tick step.

Headroom (autoscale/headroom.py): node-sized placeholders are packed after the real
demand, onto room that exists first; the ones left over ask for nodes like pods do, but are
never reported as unplaced.

Return to spot: pods running on fallback nodes (a less preferred pool, while a preferred one
is available) are demand for the preferred pools only, after the pending pods. Once that room
is Ready they fit elsewhere and scale-down takes the fallback nodes away.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from nodepool.autoscale.fit import Bin, decreasing, first_fit, pack_new_nodes, pool_admits
from nodepool.autoscale.headroom import is_placeholder, placeholders
from nodepool.autoscale.model import PodView
from nodepool.autoscale.view import View, movable


@dataclass(frozen=True)
class ScaleUp:
    pool: str
    add: int  # nodes to add to the capacity read fresh at write time
    reason: str


@dataclass(frozen=True)
class Unplaced:
    pod: str
    reason: str


def demand(view: View) -> list[PodView]:
    pending = [p for p in view.obs.pods.items if p.node is None and p.unschedulable]
    vanishing = [p for name in sorted(view.preempting) for p in view.pods_on.get(name, []) if movable(p)]
    return pending + vanishing


def room(view: View) -> list[list[Bin]]:
    """Per pool, in preference order: free room on its schedulable nodes, then its booting nodes."""
    return [[view.node_bin(n) for n in view.nodes_of(pv.pool.name) if view.schedulable(n)] + view.flight_bins(pv)
            for pv in view.pools]


def scale_up(view: View) -> tuple[list[ScaleUp], list[Unplaced]]:
    existing = room(view)
    bins = [b for pool_bins in existing for b in pool_bins]
    left = first_fit(decreasing(demand(view)), bins)
    left += first_fit(placeholders(view), bins)
    added: dict[str, list[Bin]] = defaultdict(list)
    unplaced: list[Unplaced] = []
    for pod in _onto_new_nodes(view, left, added, range(len(view.pools))):
        if is_placeholder(pod):
            continue
        admitted = [pv.pool.name for pv in view.pools if pool_admits(pv.pool, pod)]
        why = (f"no pool takes it (requests {pod.requests}, selector {dict(pod.node_selector)})" if not admitted else
               f"pools {', '.join(admitted)} are at max, at this tick's step, or backed off")
        unplaced.append(Unplaced(pod.key, why))
    _return_to_preferred(view, existing, added)
    ups = [ScaleUp(pool, len(bins), _why(view, pool, bins)) for pool, bins in added.items() if bins]
    return ups, unplaced


def _why(view: View, pool: str, bins: list[Bin]) -> str:
    pods = [p for b in bins for p in b.pods]
    spare = sum(1 for p in pods if is_placeholder(p))
    return (f"{len(pods) - spare} pods{f' and {spare} nodes of headroom' if spare else ''} need {len(bins)} more "
            f"{view.known_pool(pool).pool.vm_size} nodes")


def _onto_new_nodes(view: View, pods: list[PodView], added: dict[str, list[Bin]], ranks: range) -> list[PodView]:
    for i in ranks:
        pv = view.pools[i]
        if not pods or view.backed_off(pv.pool.name):
            continue
        pods = first_fit(pods, added[pv.pool.name])  # room on nodes this tick already adds
        bins, pods = pack_new_nodes(pv.pool, pods, view.headroom(pv) - len(added[pv.pool.name]))
        added[pv.pool.name] += bins
    return pods


def _return_to_preferred(view: View, existing: list[list[Bin]], added: dict[str, list[Bin]]) -> None:
    for rank, pv in enumerate(view.pools):
        nodes = [n for n in view.nodes_of(pv.pool.name) if view.fallback(n) and n.name not in view.preempting]
        pods = decreasing(p for n in nodes for p in view.pods_on.get(n.name, []) if movable(p))
        if not pods:
            continue
        better = range(rank)
        bins = [b for i in better for b in existing[i] + added[view.pools[i].pool.name]]
        _onto_new_nodes(view, first_fit(pods, bins), added, better)
