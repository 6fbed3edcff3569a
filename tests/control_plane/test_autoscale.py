"""The autoscaler reads what the real scheduler wrote: a pod that fits nowhere is Pending with
PodScheduled=False, reason Unschedulable, and that demand brings a node in one tick. Kubernetes is
real (read through the app's credential); the scale set is the in-memory fake."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from localenv.waiting import wait_for
from nodepool.adapters.autoscale_kube import KubeClusterView
from nodepool.autoscale.model import Policy
from nodepool.autoscale.ports import AutoscalePorts, PoolPort
from nodepool.autoscale.tick import Autoscaler
from nodepool.fakes.autoscale_cluster import FakeDrains, FakePreemptNotices
from nodepool.fakes.autoscale_scaleset import FakePoolScaleSet
from nodepool.fakes.autoscale_store import FakeAutoscaleStore
from tests.unit.autoscale_world import REGULAR


def test_pods_the_scheduler_cannot_place_bring_a_node(seed, app_kube):
    scaleset = FakePoolScaleSet("regular", capacity=1, spot=False)
    (vm,) = scaleset.vms.values()
    seed.add_node(vm.name, cpu="4", memory="16Gi")
    seed.add_pods(None, 3, owner="ReplicaSet/batch", requests={"cpu": "1500m", "memory": "1Gi"})
    view = KubeClusterView(app_kube)

    def pending() -> list:
        return [p.name for p in view.pods().items if p.unschedulable]
    (waiting,) = wait_for(pending, 60, interval=0.2, what="the scheduler marking one pod Unschedulable")
    assert len([p for p in view.pods().items if p.node == vm.name]) == 2

    ports = AutoscalePorts((PoolPort(REGULAR, scaleset),), view, FakePreemptNotices(), FakeDrains(None),
                           FakeAutoscaleStore())
    report = Autoscaler(ports, Policy(headroom_nodes=0), False, logging.getLogger("test")).tick(
        datetime.now(timezone.utc))

    assert report.planned == {"scale_up_nodes": 1} and len(scaleset.vms) == 2
