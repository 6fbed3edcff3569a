"""Where a pod may run, and first-fit-decreasing packing of pods onto bins (nodes or node shapes).

The scheduler's predicates we model: resource requests (cpu, memory, nvidia.com/gpu), the
pod's nodeSelector against the node's labels, and its tolerations against the node's
NoSchedule/NoExecute taints (PreferNoSchedule never blocks). Affinity and topology spread are
not modelled: such a pod packs as if it had none (the scheduler may then need one more node).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from nodepool.autoscale.model import PodView, Pool, Resources, Toleration
from nodepool.core.model import Taint

BLOCKING_EFFECTS = ("NoSchedule", "NoExecute")


def tolerates(tolerations: Iterable[Toleration], taint: Taint) -> bool:
    for t in tolerations:
        if t.effect and t.effect != taint.effect:
            continue
        if t.operator == "Exists" and (not t.key or t.key == taint.key):
            return True
        if t.operator != "Exists" and t.key == taint.key and t.value == taint.value:
            return True
    return False


def admits(pod: PodView, labels: Mapping[str, str], taints: Iterable[Taint]) -> bool:
    """nodeSelector and taints allow this pod on a node with these labels and taints."""
    if any(labels.get(k) != v for k, v in pod.node_selector):
        return False
    return all(tolerates(pod.tolerations, t) for t in taints if t.effect in BLOCKING_EFFECTS)


def pool_admits(pool: Pool, pod: PodView) -> bool:
    return admits(pod, pool.node_labels(), pool.taints) and pod.requests.fits_in(pool.shape)


@dataclass
class Bin:
    """A node (real, booting, or yet to be asked for) with the room left on it."""
    name: str
    room: Resources
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    pods: list[PodView] = field(default_factory=list)

    def take(self, pod: PodView) -> bool:
        if pod.requests.fits_in(self.room) and admits(pod, self.labels, self.taints):
            self.room = self.room - pod.requests
            self.pods.append(pod)
            return True
        return False

    def clone(self) -> Bin:
        return Bin(self.name, self.room, self.labels, self.taints, list(self.pods))


def decreasing(pods: Iterable[PodView]) -> list[PodView]:
    """Largest first: GPUs, then cpu, then memory (the name breaks ties, so the order is stable)."""
    return sorted(pods, key=lambda p: (-p.requests.gpu, -p.requests.cpu_m, -p.requests.memory_b, p.key))


def first_fit(pods: Sequence[PodView], bins: list[Bin]) -> list[PodView]:
    """Place each pod (in the given order) on the first bin with room; returns the pods placed nowhere."""
    left = []
    for pod in pods:
        if not any(b.take(pod) for b in bins):
            left.append(pod)
    return left


def pack_new_nodes(pool: Pool, pods: Sequence[PodView], limit: int) -> tuple[list[Bin], list[PodView]]:
    """FFD onto fresh nodes of `pool`'s shape, at most `limit` of them: (new bins used, pods not placed)."""
    bins: list[Bin] = []
    left = []
    for pod in decreasing(pods):
        if any(b.take(pod) for b in bins):
            continue
        if len(bins) < limit and pool_admits(pool, pod):
            fresh = Bin(f"{pool.name}-new-{len(bins)}", pool.shape, pool.node_labels(), pool.taints)
            fresh.take(pod)
            bins.append(fresh)
        else:
            left.append(pod)
    return bins, left
