"""The autoscale tick against the real adapters: the simulator (ARM with two pools + Kubernetes) and Azurite.

Two pools: `spot` is the simulator's own scale set (`agents`, Spot, preferred) and `regular` a
Regular-priority fallback (min 0). Agents join k3s as soon as their VM boots (auto_join), as
the cloud-init join would; the master is tainted so workloads land on agents only. Pool shapes
are the sim node's allocatable (4 CPU, 16284 MiB) minus the svclb DaemonSet pod every node runs
(10m, 20Mi): what an operator configures. Headroom is 0 unless a test asks for it, so node
counts are exact.

`tick(after=...)` runs the production wiring (wiring.Services.autoscaler) in this process at
now + after, so unneeded times pass without waiting. Drain messages go to an in-memory queue;
`drain_queued()` hands each to the drain service, as the queue trigger would.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import requests

from nodepool.autoscale.tick import AutoscaleReport
from nodepool.core.records import ClusterInfo
from nodepool.drain.events import record_events
from nodepool.drain.report import EventReport
from nodepool.drain.state import DrainRequest
from nodepool.fakes.event_queue import FakeEventQueue
from nodepool.settings import Settings
from nodepool.wiring import Services
from sim.cluster import Pool, Simulator

SHAPE = {"vm_size": "Standard_D4s_v5", "cpu": "3990m", "memory": "16264Mi", "min": 0, "max": 20}
POOLS = [{"name": "spot", "scale_set": "agents", "priority": "spot", "preference": 0, **SHAPE},
         {"name": "regular", "scale_set": "regular", "priority": "regular", "preference": 1, **SHAPE}]
KUBE = {"grace_s": 0.5, "tick_s": 0.02, "scrypt_log_n": 10, "auto_join": True}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def make_stack(make_sim, storage_env, spot: int = 1, boot_seconds: float = 0.3, **settings) -> AutoscaleStack:
    sim = make_sim(agents=spot, boot_seconds=boot_seconds, page_size=10, kube_options=KUBE,
                   pools=(Pool("regular", "Regular"),))
    return AutoscaleStack(sim, storage_env, **settings)


class AutoscaleStack:
    def __init__(self, sim: Simulator, storage_env: dict, **settings):
        self.sim, self.kube = sim, sim.kube
        self.env = {**storage_env, **sim.settings_env(), "NODEPOOL_CLUSTER": "test",
                    "NODEPOOL_AUTOSCALE_ENABLED": "true", "NODEPOOL_AUTOSCALE_POOLS": json.dumps(POOLS),
                    "NODEPOOL_AUTOSCALE_HEADROOM_NODES": "0", **settings}
        self.queue = FakeEventQueue()
        self.services = Services(Settings.from_env(self.env).complete(), queue=self.queue)
        self.registry = self.services.registry
        self.registry.save_cluster(ClusterInfo(self.kube.url, self.kube.ca_hash, self.kube.ca_pem, "v1.31.4+k3s1",
                                               utcnow(), self.kube.token))
        master = {"spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]}}
        self.kube.cluster.patch_node("master0", master, "application/merge-patch+json")  # workloads on agents only

    def tick(self, after: timedelta = timedelta(0)) -> AutoscaleReport:
        now = utcnow() + after
        return self.services.autoscaler(now).tick(now)

    def drain_queued(self) -> list[dict]:
        sent, self.queue.messages = list(self.queue.messages), []
        return [self.services.drains.drain(DrainRequest.from_message(m)) for m in sent]

    def report_events(self, vm) -> dict:
        """What POST /api/events does with `vm`'s scheduled events once the node's credential is
        checked (these nodes joined through auto_join, not an attested join: identity is tested in
        test_node_identity; here only what the events service records matters)."""
        url = self.sim.imds_for(vm.instance_id) + "/metadata/scheduledevents?api-version=2020-07-01"
        document = requests.get(url, headers={"Metadata": "true"}, timeout=5).json()
        report = EventReport.from_json({"hostname": vm.computer_name, "incarnation": 1, "document": document})
        s, now = self.services, utcnow()
        return record_events(s.registry, s.cluster.kube(now), self.queue, report, s.scaleset.vm_name(vm.instance_id),
                             now)

    # -- what the cluster looks like ---------------------------------------------------------------
    def capacity(self, scale_set: str) -> int:
        return self.sim.pool(scale_set).capacity

    def names(self, scale_set: str) -> list[str]:
        return [vm.computer_name for vm in self.sim.pool(scale_set).listing() if not vm.gone]

    def pods(self, owner: str) -> list[dict]:
        return [p for p in self.kube.pods(namespace="default") if p["metadata"]["name"].startswith(owner)]

    def pending(self, owner: str) -> list[dict]:
        return [p for p in self.pods(owner) if not p["spec"].get("nodeName")]

    def unschedulable(self, owner: str) -> bool:
        pods = self.pending(owner)
        return bool(pods) and all((p["status"].get("conditions") or [{}])[0].get("reason") == "Unschedulable"
                                  for p in pods)

    def running(self, owner: str) -> bool:
        pods = self.pods(owner)
        return bool(pods) and all(p["status"].get("phase") == "Running" for p in pods)
