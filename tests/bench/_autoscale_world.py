"""A simulated cluster for the autoscale benchmark, in simulated time (no sleeps, no servers).

Pools are the port fakes (FakePoolScaleSet): a new instance boots for BOOT_S, then registers a
Ready Node; in a spot capacity outage a new spot instance ends in provisioning state Failed
FAIL_S after it was asked for (AllocationFailed, as Azure reports it). A tiny scheduler binds
pending pods to Ready nodes with room (requests, selectors, taints). Removing an instance takes
its Node and pods with it; the pods' controllers recreate them Pending. The workload (one seeded
`Workload`, identical for both runs) is a web Deployment on a diurnal curve, bursts of batch
jobs, and spot preemptions with a 30 s notice (the instance is then deleted, eviction policy Delete).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from nodepool.autoscale.model import NodeView, PodView, Pool, Priority, Resources
from nodepool.fakes.autoscale_cluster import FakeClusterView, FakeDrains, FakePreemptNotices
from nodepool.fakes.autoscale_scaleset import FakePoolScaleSet

START = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)
GI = 1024 ** 3
STEP_S, BOOT_S, FAIL_S, NOTICE_S = 10, 150, 15, 30
HOURS = 24.0
OUTAGE = (10.0 * 3600, 10.5 * 3600)  # spot capacity gone for 30 simulated minutes
SHAPE = Resources(3860, 14 * GI)  # Standard_D4s_v5 allocatable (4 vCPU, 16 GiB)
VM_CPU_M = 4000
SYSTEM_CPU_M = 150  # kubelet, containerd, flannel: what a node burns with no pods
WEB, BATCH = Resources(500, 1 * GI), Resources(1000, 2 * GI)


def diurnal(t: float) -> float:
    """0 at 00:00, 1 at the 12:00 peak."""
    return 0.5 - 0.5 * math.cos(2 * math.pi * t / (HOURS * 3600))


@dataclass(frozen=True)
class Workload:
    bursts: tuple[tuple[float, int, float], ...]  # (start s, pods, seconds each pod runs)
    preempts: tuple[tuple[float, float], ...]  # (time of the notice, which spot node: a fraction)
    web_min: int = 6
    web_peak: int = 40

    @classmethod
    def generate(cls, seed: int) -> Workload:
        rng = random.Random(seed)
        bursts, t = [], 600.0
        while t < HOURS * 3600 - 1800:
            bursts.append((t, rng.randint(16, 40), rng.uniform(900, 2700)))
            t += rng.uniform(2400, 7200)
        bursts.append((OUTAGE[0] + 120, 32, 1200))  # demand that must land during the outage
        preempts = [(rng.uniform(600, HOURS * 3600 - 600), rng.random()) for _ in range(16)]
        preempts += [(OUTAGE[0] + 60 + 20 * i, rng.random()) for i in range(3)]  # evictions as capacity goes
        return cls(tuple(sorted(bursts)), tuple(sorted(preempts)))

    def web_replicas(self, t: float) -> int:
        return round(self.web_min + (self.web_peak - self.web_min) * diurnal(t))


@dataclass
class Figures:
    pending_pod_s: float = 0.0
    node_s: float = 0.0
    lost: int = 0  # pods on nodes removed with pods still on them (not preemptions)
    preempted: int = 0  # pods on spot nodes that were taken away
    first_failed_at: float | None = None
    fallback_ready_at: float | None = None


class SimCluster:
    def __init__(self, workload: Workload, pools: tuple[Pool, ...]):
        self.t, self.workload, self.pools = 0.0, workload, {p.name: p for p in pools}
        self.sets = {p.name: FakePoolScaleSet(p.name, spot=p.priority is Priority.SPOT, booting=True, clock=self.now)
                     for p in pools}
        self.cluster, self.notices = FakeClusterView(), FakePreemptNotices()
        self.drains = FakeDrains(self.cluster)
        self.figures = Figures()
        self._due: dict[tuple[str, str], tuple[float, str]] = {}  # instance -> (when, "ready" | "fail")
        self._started: dict[str, float] = {}  # batch pod -> when it began running
        self._ends: dict[str, float] = {}  # batch pod -> how long it runs
        self._notices: dict[str, float] = {}  # node -> when its preemption happens
        self._web = self._burst = self._preempt = 0

    def now(self) -> datetime:
        return START + timedelta(seconds=self.t)

    def step(self) -> None:
        self._instances()
        self._workload()
        self._preemptions()
        self.cluster.bind_pending()
        for pod in self.cluster.pod_map.values():
            if pod.node and pod.key in self._ends and pod.key not in self._started:
                self._started[pod.key] = self.t
        self._account()
        self.t += STEP_S

    def cpu_percent(self) -> dict[str, float]:
        """Percentage CPU of every running VM (what Azure Monitor reports per instance).

        Web pods use 0.4x to 1.2x their request with the diurnal load; batch pods are CPU-bound
        with a limit of twice their request, so they take what the VM has left, up to that limit.
        """
        web = {name: SYSTEM_CPU_M for name in self.cluster.node_map}
        batch = {name: 0.0 for name in self.cluster.node_map}
        for pod in self.cluster.pod_map.values():
            if pod.node in web and pod.key in self._ends:
                batch[pod.node] += 2 * pod.requests.cpu_m
            elif pod.node in web:
                web[pod.node] += pod.requests.cpu_m * (0.4 + 0.8 * diurnal(self.t))
        return {name: 100 * min(VM_CPU_M, web[name] + batch[name]) / VM_CPU_M for name in web}

    # -- internals ----------------------------------------------------------------------------------
    def _instances(self) -> None:
        live = set()
        for pool, scaleset in self.sets.items():
            for vm in list(scaleset.vms.values()):
                key = (pool, vm.instance_id)
                live.add(vm.name)
                if key not in self._due:
                    asked = (vm.created_at - START).total_seconds()  # when the capacity write made it
                    doomed = self.pools[pool].priority is Priority.SPOT and OUTAGE[0] <= asked < OUTAGE[1]
                    self._due[key] = (asked + (FAIL_S if doomed else BOOT_S), "fail" if doomed else "ready")
                when, what = self._due[key]
                if self.t < when or vm.provisioning_state != "Creating":
                    continue
                if what == "fail":
                    scaleset.vms[vm.instance_id] = replace(vm, provisioning_state="Failed", power_state="stopped")
                    if self.figures.first_failed_at is None:
                        self.figures.first_failed_at = when - FAIL_S
                    continue
                scaleset.mark_running(vm.instance_id)
                p = self.pools[pool]
                self.cluster.add_node(NodeView(vm.name, "", "", p.shape, labels=tuple(p.node_labels().items()),
                                               taints=p.taints))
                if (p.priority is Priority.REGULAR and self.figures.first_failed_at is not None
                        and self.figures.fallback_ready_at is None):
                    self.figures.fallback_ready_at = self.t
        for name in [n for n in self.cluster.node_map if n not in live]:
            self._lose(name, preempted=False)

    def _lose(self, name: str, preempted: bool) -> None:
        self.notices.nodes.discard(name)
        self._notices.pop(name, None)
        lost = self.cluster.remove_node(name)
        if preempted:
            self.figures.preempted += len(lost)
        else:
            self.figures.lost += len(lost)
        for pod in lost:  # the controller recreates it; a batch pod starts over
            self._started.pop(pod.key, None)
            self.cluster.add_pod(replace(pod, node=None, unschedulable=False))

    def _workload(self) -> None:
        want = self.workload.web_replicas(self.t)
        web = sorted((k for k in self.cluster.pod_map if k.startswith("default/web-")), key=lambda k: int(k[12:]))
        for key in web[want:]:
            self.cluster.delete_pod(key)
        for _ in range(want - len(web)):
            self._web += 1
            self.cluster.add_pod(PodView(f"web-{self._web}", "default", None, WEB, owner_kind="ReplicaSet"))
        while self._burst < len(self.workload.bursts) and self.workload.bursts[self._burst][0] <= self.t:
            _, n, seconds = self.workload.bursts[self._burst]
            for i in range(n):
                pod = PodView(f"batch-{self._burst}-{i}", "default", None, BATCH, owner_kind="Job")
                self.cluster.add_pod(pod)
                self._ends[pod.key] = seconds
            self._burst += 1
        for key, began in list(self._started.items()):
            if self.t - began >= self._ends[key]:
                self.cluster.delete_pod(key)
                del self._started[key], self._ends[key]

    def _preemptions(self) -> None:
        plan = self.workload.preempts
        while self._preempt < len(plan) and plan[self._preempt][0] <= self.t:
            spot = sorted(n for n in self.cluster.node_map
                          if self.pools[self._pool_of(n)].priority is Priority.SPOT and n not in self._notices)
            if spot:
                victim = spot[int(plan[self._preempt][1] * len(spot))]
                self._notices[victim] = self.t + NOTICE_S
                self.notices.nodes.add(victim)
            self._preempt += 1
        for name, when in list(self._notices.items()):
            if self.t >= when:
                scaleset = self.sets[self._pool_of(name)]
                iid = next((vm.instance_id for vm in scaleset.vms.values() if vm.name == name), None)
                if iid is None:  # the autoscaler scaled the noticed node down first: nothing left to take
                    self._notices.pop(name)
                    self.notices.nodes.discard(name)
                    continue
                del scaleset.vms[iid]
                scaleset.etag_n += 1
                self._lose(name, preempted=True)

    def _pool_of(self, node: str) -> str:
        return next(p for p in self.sets if node.startswith(p))

    def _account(self) -> None:
        self.figures.pending_pod_s += STEP_S * sum(1 for p in self.cluster.pod_map.values() if p.node is None)
        self.figures.node_s += STEP_S * sum(1 for s in self.sets.values() for vm in s.vms.values()
                                            if vm.provisioning_state != "Failed")
