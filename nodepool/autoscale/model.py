"""Autoscale values: pools, what one tick observes, the state kept across ticks, the policy.

Plain frozen values. Resources are integers (millicores, bytes, GPUs) so packing is exact.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from operator import attrgetter

from nodepool.core.listing import listed_twice
from nodepool.core.model import Snapshot, Taint
from nodepool.core.skew import MAX_SKEW

SCALE_DOWN_DISABLED = "cluster-autoscaler.kubernetes.io/scale-down-disabled"
SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict"
POOL_LABEL = "nodepool/pool"


class Priority(StrEnum):
    SPOT = "spot"
    REGULAR = "regular"


@dataclass(frozen=True, order=True)
class Resources:
    cpu_m: int = 0
    memory_b: int = 0
    gpu: int = 0

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu_m + other.cpu_m, self.memory_b + other.memory_b, self.gpu + other.gpu)

    def __sub__(self, other: Resources) -> Resources:
        return Resources(self.cpu_m - other.cpu_m, self.memory_b - other.memory_b, self.gpu - other.gpu)

    def fits_in(self, room: Resources) -> bool:
        return self.cpu_m <= room.cpu_m and self.memory_b <= room.memory_b and self.gpu <= room.gpu

    def share_of(self, whole: Resources) -> float:
        """max(cpu, memory[, gpu]) requested / allocatable, as cluster-autoscaler measures a node."""
        parts = [self.cpu_m / whole.cpu_m if whole.cpu_m else 0.0,
                 self.memory_b / whole.memory_b if whole.memory_b else 0.0]
        if whole.gpu:
            return self.gpu / whole.gpu  # a GPU node is as used as its GPUs are (CA does the same)
        return max(parts)


@dataclass(frozen=True)
class Pool:
    """One agent scale set. Lower `preference` is tried first."""
    name: str
    priority: Priority
    vm_size: str
    shape: Resources  # allocatable of one node of this size
    min: int = 0
    max: int = 10
    preference: int = 0
    labels: tuple[tuple[str, str], ...] = ()
    taints: tuple[Taint, ...] = ()

    def node_labels(self) -> dict[str, str]:
        return {POOL_LABEL: self.name, "node.kubernetes.io/instance-type": self.vm_size,
                "kubernetes.azure.com/scalesetpriority": self.priority.value, **dict(self.labels)}


@dataclass(frozen=True)
class Toleration:
    key: str = ""  # empty with operator Exists: tolerates everything
    operator: str = "Equal"  # Equal | Exists
    value: str = ""
    effect: str = ""  # empty: every effect


@dataclass(frozen=True)
class PodView:
    name: str
    namespace: str
    node: str | None
    requests: Resources = Resources()
    unschedulable: bool = False  # Pending with PodScheduled=False, reason Unschedulable
    node_selector: tuple[tuple[str, str], ...] = ()
    tolerations: tuple[Toleration, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    owner_kind: str | None = None  # None: no controller would recreate it
    mirror: bool = False
    local_storage: bool = False  # an emptyDir / hostPath volume
    safe_to_evict: str | None = None  # the annotation's value, if any

    @property
    def daemonset(self) -> bool:
        return self.owner_kind == "DaemonSet"

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class NodeView:
    name: str
    pool: str
    instance_id: str
    allocatable: Resources
    ready: bool = True
    unschedulable: bool = False
    labels: tuple[tuple[str, str], ...] = ()
    taints: tuple[Taint, ...] = ()
    scale_down_disabled: bool = False
    protected: bool = False  # the instance is protected from scale-in
    written_at: datetime | None = None  # its newest Kubernetes timestamp: Kubernetes' clock read at least this


@dataclass(frozen=True)
class Budget:
    """A PodDisruptionBudget reduced to its selector and status.disruptionsAllowed."""
    namespace: str
    selector: tuple[tuple[str, str], ...]
    disruptions_allowed: int


@dataclass(frozen=True)
class InstanceView:
    instance_id: str
    name: str
    provisioning_state: str = "Succeeded"  # Creating | Succeeded | Failed | Deleting
    created_at: datetime | None = None
    protected: bool = False  # protectFromScaleIn: the autoscaler never deletes it


@dataclass(frozen=True)
class PoolView:
    """A pool as ARM shows it this tick: the capacity asked for and the instances that exist."""
    pool: Pool
    capacity: int
    instances: Snapshot[InstanceView]


@dataclass(frozen=True)
class Observation:
    pools: tuple[PoolView, ...]
    nodes: Snapshot[NodeView]
    pods: Snapshot[PodView]
    budgets: Snapshot[Budget]
    preempting: Snapshot[str] = Snapshot(())  # nodes with a Preempt notice: capacity about to vanish

    def problems(self) -> list[str]:
        listings: dict[str, Snapshot] = {"nodes": self.nodes, "pods": self.pods, "budgets": self.budgets,
                                         "preempt notices": self.preempting,
                    **{f"pool {p.pool.name}": p.instances for p in self.pools}}
        failed = [f"{name}: {s.error or 'incomplete'}" for name, s in listings.items() if not s.complete]
        twice = (listed_twice(p.instances.items, attrgetter("instance_id"), attrgetter("provisioning_state"),
                              f"pool {p.pool.name} instance") for p in self.pools)
        return failed + [why for why in twice if why]


@dataclass(frozen=True)
class Backoff:
    kind: str
    until: datetime
    reason: str


@dataclass(frozen=True)
class Draining:
    """A node chosen for scale-down: cordoned, its drain asked for; its instance goes once it is empty."""
    pool: str
    instance_id: str
    since: datetime


@dataclass(frozen=True)
class AutoscaleState:
    backoffs: dict[str, Backoff] = field(default_factory=dict)  # pool -> backoff
    unneeded_since: dict[str, datetime] = field(default_factory=dict)  # node -> first tick seen unneeded
    last_scale_up: datetime | None = None
    draining: dict[str, Draining] = field(default_factory=dict)  # node -> its scale-down in progress
    creating: dict[str, datetime] = field(default_factory=dict)  # "pool/instance id" -> first tick seen Creating


@dataclass(frozen=True)
class Policy:
    utilization_threshold: float = 0.5
    unneeded_time: timedelta = timedelta(minutes=10)
    fallback_unneeded_time: timedelta = timedelta(minutes=1)  # a fallback node once its preferred pool is back
    delay_after_scale_up: timedelta = timedelta(minutes=10)
    max_step: int = 20  # nodes added per pool per tick
    max_empty_bulk: int = 10  # empty nodes removed per tick
    provisioning_timeout: timedelta = timedelta(minutes=15)  # an instance Creating longer than this failed
    backoff_sku_not_available: timedelta = timedelta(hours=1)
    backoff_allocation_failed: timedelta = timedelta(hours=1)
    backoff_low_quota: timedelta = timedelta(minutes=10)
    backoff_other: timedelta = timedelta(minutes=10)
    drain_timeout: timedelta = timedelta(minutes=10)  # a scale-down drain not done by then is given up
    max_clock_skew: timedelta = MAX_SKEW  # Kubernetes' or ARM's timestamps further ahead of ours: act on nothing
    headroom_nodes: int = 1  # whole nodes of free room kept ready (autoscale/headroom.py)
