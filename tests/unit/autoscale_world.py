"""Builders for autoscale policy tests: pools, nodes, pods and observations in a few words."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from nodepool.autoscale.decide import decide
from nodepool.autoscale.model import (
    AutoscaleState,
    Budget,
    InstanceView,
    NodeView,
    Observation,
    PodView,
    Policy,
    Pool,
    PoolView,
    Priority,
    Resources,
    Toleration,
)
from nodepool.core.model import Snapshot, Taint

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
GI = 1024 ** 3
POLICY = Policy(headroom_nodes=0)  # exact node counts; headroom has its own tests
SPOT = Pool("spot", Priority.SPOT, "Standard_D4s_v5", Resources(4000, 16 * GI), min=0, max=10, preference=0,
            taints=(Taint("kubernetes.azure.com/scalesetpriority", "spot", "NoSchedule"),))
REGULAR = Pool("regular", Priority.REGULAR, "Standard_D4s_v5", Resources(4000, 16 * GI), min=0, max=10, preference=1)
GPU = Pool("gpu", Priority.REGULAR, "Standard_NC4as_T4_v3", Resources(4000, 28 * GI, 1), max=4, preference=2,
           labels=(("accelerator", "nvidia"),), taints=(Taint("nvidia.com/gpu", "present", "NoSchedule"),))
TOLERATE_SPOT = (Toleration("kubernetes.azure.com/scalesetpriority", "Equal", "spot", "NoSchedule"),)


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def res(cpu: float = 0, mem_gi: float = 0, gpu: int = 0) -> Resources:
    return Resources(round(cpu * 1000), round(mem_gi * GI), gpu)


def pending(name: str, cpu: float = 1, mem_gi: float = 1, gpu: int = 0, **kw) -> PodView:
    kw.setdefault("tolerations", TOLERATE_SPOT)
    kw.setdefault("owner_kind", "ReplicaSet")
    return PodView(name, kw.pop("namespace", "default"), None, res(cpu, mem_gi, gpu), unschedulable=True, **kw)


def running(name: str, node: str, cpu: float = 1, mem_gi: float = 1, **kw) -> PodView:
    return replace(pending(name, cpu, mem_gi, **kw), node=node, unschedulable=False)


def node(name: str, pool: Pool = SPOT, **kw) -> NodeView:
    labels = tuple(pool.node_labels().items())
    return NodeView(name, pool.name, kw.pop("instance_id", name.rsplit("-", 1)[-1]), pool.shape, labels=labels,
                    taints=pool.taints, **kw)


def pool_view(pool: Pool, nodes: list[NodeView] = (), capacity: int | None = None,
              instances: list[InstanceView] | None = None) -> PoolView:
    if instances is None:
        instances = [InstanceView(n.instance_id, n.name, created_at=ago(60)) for n in nodes]
    return PoolView(pool, len(instances) if capacity is None else capacity, Snapshot(tuple(instances)))


def observe(pools: list[PoolView], nodes: list[NodeView] = (), pods: list[PodView] = (), budgets: list[Budget] = (),
            preempting: list[str] = ()) -> Observation:
    return Observation(tuple(pools), Snapshot(tuple(nodes)), Snapshot(tuple(pods)), Snapshot(tuple(budgets)),
                       Snapshot(tuple(preempting)))


def cluster(nodes_by_pool: dict[Pool, list[NodeView]], pods: list[PodView] = (), **kw) -> Observation:
    views = [pool_view(p, ns) for p, ns in nodes_by_pool.items()]
    return observe(views, [n for ns in nodes_by_pool.values() for n in ns], pods, **kw)


def plan(obs: Observation, state: AutoscaleState = AutoscaleState(), now: datetime = NOW, policy: Policy = POLICY):
    return decide(obs, state, now, policy)


def ups(p) -> dict[str, int]:
    return {u.pool: u.add for u in p.ups}
