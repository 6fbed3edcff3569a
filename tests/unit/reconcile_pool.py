"""A pool made of the in-memory fakes, for the reconcile service tests: build it, tick it, count writes."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from nodepool.core.k3s import node_password_secret
from nodepool.core.labels import desired_labels
from nodepool.core.model import NodeState
from nodepool.core.records import NodeRecord
from nodepool.fakes.kube import FakeKube
from nodepool.fakes.queues import FakeQueues
from nodepool.fakes.registry import FakeRegistry
from nodepool.fakes.scaleset import FakeScaleSet, computer_name
from nodepool.fakes.tickstate import FakeTickStore
from nodepool.reconcile.plan import Policy
from nodepool.reconcile.ports import ReconcilePorts
from nodepool.reconcile.tick import Reconciler, TickReport

MASTER_LABELS = {"node-role.kubernetes.io/control-plane": "true", "node-role.kubernetes.io/master": "true"}
POLICY = Policy(scale_set="agents", max_destructive_per_tick=10)


def provider_id(instance_id: str) -> str:
    return ("azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/"
            f"virtualMachineScaleSets/agents/virtualMachines/{instance_id}")


class FlakyKube(FakeKube):
    """FakeKube whose writes to chosen nodes fail: `failing[(method, node)] = error` (the fake's
    own `fail_next` would hit the listing first)."""

    def __init__(self):
        super().__init__()
        self.failing: dict[tuple[str, str], Exception] = {}

    def delete_node(self, name: str) -> bool:
        if error := self.failing.pop(("delete_node", name), None):
            raise error
        return super().delete_node(name)

    def patch_node(self, name: str, **change):
        if error := self.failing.pop(("patch_node", name), None):
            raise error
        return super().patch_node(name, **change)


@dataclass
class Pool:
    """n agents, each with a VM, a Ready labelled Node, a registry row and its node-password secret."""
    n: int = 5
    scaleset: FakeScaleSet = field(init=False)
    kube: FlakyKube = field(default_factory=FlakyKube)
    registry: FakeRegistry = field(default_factory=FakeRegistry)
    queues: FakeQueues = field(default_factory=FakeQueues)
    store: FakeTickStore = field(default_factory=FakeTickStore)
    kube_registered: bool = True

    def __post_init__(self):
        self.scaleset = FakeScaleSet("agents", self.n)
        self.kube.add_node("master0", labels=MASTER_LABELS)
        for vm in self.scaleset.vms.values():
            labels = {k: v for k, v in desired_labels(vm).items() if v is not None}
            self.kube.add_node(vm.name, labels=labels, provider_id=provider_id(vm.instance_id))
            self.kube.add_secret("kube-system", node_password_secret(vm.name), data={"hash": "x"})
            self.registry.save_node(NodeRecord(vm.name, NodeState.READY, instance_id=vm.instance_id,
                                               updated_at=datetime.now(timezone.utc)))
        self.scaleset.writes.clear()
        self.kube.writes.clear()
        self.registry.writes = 0

    def name(self, i: int) -> str:
        return self.scaleset.vms[str(i)].name

    @staticmethod
    def name_of(i: int) -> str:
        """The computer name of instance i, also after its VM is gone."""
        return computer_name("agents", i)

    def ports(self) -> ReconcilePorts:
        return ReconcilePorts(self.scaleset, self.kube if self.kube_registered else None, self.registry,
                              self.queues, self.store)

    def reconciler(self, policy: Policy = POLICY, dry_run: bool = False,
                   logger: logging.Logger = logging.getLogger("test.reconcile")) -> Reconciler:
        """A fresh one each time, as a new Function instance would be: only the store remembers."""
        return Reconciler(self.ports(), policy, dry_run, logger)

    def tick(self, after: timedelta = timedelta(0), **kwargs) -> TickReport:
        return self.reconciler(**kwargs).tick(datetime.now(timezone.utc) + after)

    def writes(self) -> dict[str, int]:
        return {"scaleset": len(self.scaleset.writes), "kube": len(self.kube.writes),
                "registry": self.registry.writes, "state": self.store.writes}

    def forget_writes(self) -> None:
        self.scaleset.writes.clear()
        self.kube.writes.clear()
        self.registry.writes = self.store.writes = 0
