"""The reconcile tick against the real adapters: simulator (ARM + Kubernetes) and Azurite.

`ReconcileStack` registers the simulated cluster, joins every agent through the k3s supervisor (so
each has its Node and node-password secret) and records them in the registry, as the join
path would. `tick()` runs the production wiring (wiring.Services.reconciler) in this
process; `after` moves the tick's `now` forward, so ladders are walked without waiting.
Also used by tests/bench/reconcile.py.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from nodepool.adapters.kube import KubeClient
from nodepool.core.labels import WORKER_LABEL, desired_labels
from nodepool.core.model import Instance, NodeState
from nodepool.core.records import ClusterInfo, NodeRecord
from nodepool.reconcile.tick import TickReport
from nodepool.settings import Settings
from nodepool.wiring import Services
from sim.cluster import Simulator

MASTER_LABELS = {"node-role.kubernetes.io/control-plane": "true", "node-role.kubernetes.io/master": "true"}
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class ReconcileStack:
    def __init__(self, sim: Simulator, storage_env: dict, **settings):
        self.sim, self.kube = sim, sim.kube
        self.env = {**storage_env, **sim.settings_env(), "NODEPOOL_CLUSTER": "test", **settings}
        self.services = Services(Settings.from_env(self.env))
        self.registry = self.services.registry
        credential = self.kube.registration()["credential"]
        self.registry.save_cluster(ClusterInfo(self.kube.url, self.kube.ca_hash, self.kube.ca_pem, "v1.31.4+k3s1",
                                               utcnow(), credential))
        self.app_kube = KubeClient(self.kube.url, credential, self.kube.ca_pem)
        self.kube.add_node("master0", labels=MASTER_LABELS)

    def join(self, vm, *, secret: bool = True) -> str:
        """The agent on `vm` joins k3s and is recorded `ready`; `secret=False` seeds the Node directly."""
        name = vm.computer_name
        labels = {k: v for k, v in desired_labels(Instance(vm.instance_id, name)).items() if v is not None}
        if secret:  # the kubelet may not give itself a role (NodeRestriction): the app labels it, as reconcile does
            own = {k: v for k, v in labels.items() if k != WORKER_LABEL}
            self.kube.k3s_agent_join(name, self.kube.agent_token, f"pw-{name}", own, provider_id=vm.provider_id)
            self.app_kube.patch_node(name, labels={WORKER_LABEL: labels[WORKER_LABEL]})
        else:
            self.kube.add_node(name, labels=labels, provider_id=vm.provider_id)
        self.registry.save_node(NodeRecord(name, NodeState.READY, instance_id=vm.instance_id, vm_id=vm.vm_id,
                                           joined_at=utcnow(), updated_at=utcnow()))
        return name

    def join_all(self, **kwargs) -> list[str]:
        return [self.join(vm, **kwargs) for vm in self.sim.vms]

    def tick(self, after: timedelta = timedelta(0)) -> TickReport:
        now = utcnow() + after
        return self.services.reconciler(now).tick(now)

    # -- what happened ----------------------------------------------------------------------------
    def node(self, name: str) -> dict | None:
        return self.kube.node(name)

    def ready(self, name: str) -> str:
        node = self.kube.node(name) or {"status": {"conditions": []}}
        return next((c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready"), "absent")

    def requests(self) -> Counter:
        """Every request the simulators saw so far: 'arm GET /path' and 'kube GET nodes' keys."""
        arm = Counter({f"arm {k}": v for k, v in self.sim.arm.server.hits.items()})
        return arm + Counter({f"kube {k}": v for k, v in self.kube.requests.items()})

    def storage_versions(self) -> dict[tuple[str, str, str], str]:
        """ETag of every row we keep (nodes, events, reconcile state): any write changes this map."""
        tables = self.services.tables
        return {(t, r["PartitionKey"], r["RowKey"]): r["etag"] for t in ("nodes", "events", "reconcile")
                for r in tables(t).query("PartitionKey ne ''")}


def writes(before: Counter, after: Counter) -> Counter:
    """Write requests between two `requests()` readings."""
    return Counter({k: v for k, v in (after - before).items() if k.split()[1] in WRITES})


def lists(before: Counter, after: Counter) -> Counter:
    """Listing requests between two readings: ARM VM list pages and Kubernetes node list pages."""
    return Counter({k: v for k, v in (after - before).items()
                    if k.startswith("kube GET nodes") or (k.startswith("arm GET") and k.endswith("/virtualMachines"))})
