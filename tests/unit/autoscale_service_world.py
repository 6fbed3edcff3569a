"""A small cluster of fakes for the autoscale service: two pools, Kubernetes, notices, state."""
from __future__ import annotations

import logging
from datetime import timedelta

from nodepool.autoscale.model import NodeView, PodView, Policy, Pool
from nodepool.autoscale.ports import AutoscalePorts, PoolPort
from nodepool.autoscale.tick import Autoscaler
from nodepool.core.trail import AuditTrail
from nodepool.fakes.audit import FakeAuditLog
from nodepool.fakes.autoscale_cluster import FakeClusterView, FakeDrains, FakePreemptNotices
from nodepool.fakes.autoscale_scaleset import FakePoolScaleSet
from nodepool.fakes.autoscale_store import FakeAutoscaleStore
from tests.unit.autoscale_world import NOW, REGULAR, SPOT


class ServiceWorld:
    def __init__(self, pools: tuple[Pool, ...] = (SPOT, REGULAR), policy: Policy = Policy(headroom_nodes=0),
                 dry_run: bool = False):
        self.now = NOW
        self.sets = {p.name: FakePoolScaleSet(p.name, spot=p.priority == "spot", booting=True, clock=lambda: self.now)
                     for p in pools}
        self.pools = {p.name: p for p in pools}
        self.cluster, self.notices, self.store = FakeClusterView(), FakePreemptNotices(), FakeAutoscaleStore()
        self.drains = FakeDrains(self.cluster)
        self.audit = FakeAuditLog()
        self.ports = AutoscalePorts(tuple(PoolPort(p, self.sets[p.name]) for p in pools), self.cluster,
                                    self.notices, self.drains, self.store, AuditTrail(self.audit))
        self.autoscaler = Autoscaler(self.ports, policy, dry_run, logging.getLogger("test.autoscale"))

    def tick(self, after: timedelta = timedelta(seconds=30)):
        self.now += after
        return self.autoscaler.tick(self.now)

    def boot(self) -> list[str]:
        """Every booting instance becomes Running and registers a Ready Node; the scheduler runs."""
        joined = []
        for name, scaleset in self.sets.items():
            pool = self.pools[name]
            for vm in list(scaleset.vms.values()):
                if vm.provisioning_state == "Creating":
                    scaleset.mark_running(vm.instance_id)
                if vm.provisioning_state != "Failed" and vm.name not in self.cluster.node_map:
                    labels = tuple(pool.node_labels().items())
                    self.cluster.add_node(NodeView(vm.name, "", "", pool.shape, labels=labels,
                                                   taints=pool.taints))
                    joined.append(vm.name)
        self.cluster.bind_pending()
        return joined

    def add_pods(self, *pods: PodView) -> None:
        for pod in pods:
            self.cluster.add_pod(pod)
        self.cluster.bind_pending()

    def capacity(self, pool: str) -> int:
        return len(self.sets[pool].vms)

    def writes(self, pool: str) -> list:
        return self.sets[pool].writes

