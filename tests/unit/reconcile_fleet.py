"""Two pools as the app wires them (nodepool/wiring.py) over the in-memory fakes: the main scale set
`agents` (NODEPOOL_SCALE_SET, the spot pool) with 200 agents and the Regular fallback `regular`
(NODEPOOL_AUTOSCALE_POOLS) with 3. Every agent has its VM, a Ready labelled Node, its
node-password secret and a registry row naming its scale set, as a join leaves them.

Ticks run on the wall clock (the fakes stamp their objects with it): `tick(after)` moves the
app's clock only, as a clock running fast or slow does. `destroyed()` counts every destructive
write since the last `forget()`: VM restarts, reimages, deletes, and Node deletions.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from nodepool import wiring
from nodepool.core.k3s import node_password_secret
from nodepool.core.labels import desired_labels
from nodepool.core.model import NodeState
from nodepool.core.records import ClusterInfo, NodeRecord
from nodepool.fakes.audit import FakeAuditLog
from nodepool.fakes.decisions import FakeDecisionLog
from nodepool.fakes.event_queue import FakeEventQueue
from nodepool.fakes.kube import FakeKube
from nodepool.fakes.queues import FakeQueues
from nodepool.fakes.registry import FakeRegistry
from nodepool.fakes.scaleset import FakeScaleSet
from nodepool.fakes.tickstate import FakeTickStore
from nodepool.reconcile.tick import TickReport
from nodepool.settings import Settings

MAIN, FALLBACK = "agents", "regular"
POOLS = [{"name": "spot", "scale_set": MAIN, "priority": "spot", "vm_size": "D4", "cpu": "4", "memory": "16Gi"},
         {"name": "fallback", "scale_set": FALLBACK, "priority": "regular", "vm_size": "D4", "cpu": "4",
          "memory": "16Gi", "preference": 1}]
ENV = {"AzureWebJobsStorage": "UseDevelopmentStorage=true", "NODEPOOL_TENANT_ID": "t",
       "AZURE_SUBSCRIPTION_ID": "s", "NODEPOOL_RESOURCE_GROUP": "rg", "NODEPOOL_SCALE_SET": MAIN,
       "NODEPOOL_AUTOSCALE_POOLS": json.dumps(POOLS)}
MASTER_LABELS = {"node-role.kubernetes.io/control-plane": "true", "node-role.kubernetes.io/master": "true"}
DESTRUCTIVE = ("restart", "reimage", "delete")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def provider_id(scale_set: str, instance_id: str) -> str:
    return ("azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/"
            f"virtualMachineScaleSets/{scale_set}/virtualMachines/{instance_id}")


class Fleet:
    def __init__(self, main: int = 200, fallback: int = 3):
        self.kube, self.registry, self.store = FakeKube(), FakeRegistry(), FakeTickStore()
        self.queues, self.decisions = FakeQueues(), FakeDecisionLog()
        self.sets = {MAIN: FakeScaleSet(MAIN, main), FALLBACK: FakeScaleSet(FALLBACK, fallback)}
        self.services = wiring.Services(
            Settings.from_env(ENV), registry=self.registry, scaleset=self.sets[MAIN],
            pool_scaleset=self.sets.__getitem__, kube_for=lambda cluster: self.kube, queue=FakeEventQueue(),
            peek=self.queues, tick_store=self.store, decisions=self.decisions, audit=FakeAuditLog())
        self.registry.save_cluster(ClusterInfo("https://10.0.0.4:6443", "c" * 64, "PEM", "v1.31.4+k3s1", utcnow(),
                                               credential="sa-token"))
        self.kube.add_node("master0", labels=MASTER_LABELS)
        for scale_set, vms in self.sets.items():
            for vm in vms.vms.values():
                labels = {k: v for k, v in desired_labels(vm).items() if v is not None}
                self.kube.add_node(vm.name, labels=labels, provider_id=provider_id(scale_set, vm.instance_id))
                self.kube.add_secret("kube-system", node_password_secret(vm.name), data={"hash": "x"})
                self.registry.save_node(NodeRecord(vm.name, NodeState.READY, instance_id=vm.instance_id,
                                                   scale_set=scale_set, updated_at=utcnow()))
        self.forget()

    def name(self, scale_set: str, instance_id: int) -> str:
        return self.sets[scale_set].vms[str(instance_id)].name

    def kill(self, scale_set: str, instance_id: int) -> str:
        """The VM is gone without a word; its Node turns NotReady (Unknown): a ghost. Its name."""
        name = self.name(scale_set, instance_id)
        del self.sets[scale_set].vms[str(instance_id)]
        self.kube.set_ready(name, None, since=utcnow())
        return name

    def tick(self, after: timedelta = timedelta(0)) -> TickReport:
        now = utcnow() + after
        return self.services.reconciler(now).tick(now)

    def walk(self, minutes, start: timedelta = timedelta(0)) -> list[TickReport]:
        """One tick at each of `minutes` past `start` on the app's clock."""
        return [self.tick(start + timedelta(minutes=m)) for m in minutes]

    def destroyed(self) -> list[tuple[str, str]]:
        """(what, target) of every destructive write since forget()."""
        arm = [(f"{scale_set} {kind}", ",".join(ids)) for scale_set, s in self.sets.items()
               for kind, ids in s.writes if kind.split()[0] in DESTRUCTIVE]
        return arm + [(kind, node) for kind, node, *_ in self.kube.writes if kind == "delete_node"]

    def forget(self) -> None:
        for s in self.sets.values():
            s.writes.clear()
        self.kube.writes.clear()

    def last_decision(self) -> dict:
        return self.decisions.recent("reconcile", 1)[0]
