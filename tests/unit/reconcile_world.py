"""A tiny in-memory world for the reconcile planner tests: build, observe, apply a plan."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from nodepool.core.k3s import node_password_secret
from nodepool.core.labels import desired_labels
from nodepool.core.model import Instance, Node, NodeState, Snapshot, Taint
from nodepool.core.records import NodeRecord
from nodepool.drain.state import EventRecord
from nodepool.fakes.scaleset import FakeScaleSet
from nodepool.reconcile.plan import (
    Baseline,
    DeleteInstance,
    DeleteNode,
    ExpireEvent,
    LabelNode,
    MarkReady,
    MarkStale,
    NodeRepair,
    Observation,
    Plan,
    PoisonMessage,
    Policy,
    ReimageInstance,
    RemoveRow,
    TickState,
    UncordonNode,
    UnjoinedVm,
    plan,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
POLICY = Policy(scale_set="agents")
SCALE_SET = FakeScaleSet(POLICY.scale_set)  # reads providerIDs as the ScaleSet port does
TAINTED = replace(POLICY, taints=(Taint("dedicated", "spot", "NoSchedule"),), max_destructive_per_tick=100)
MASTER_LABELS = {"node-role.kubernetes.io/control-plane": "true", "node-role.kubernetes.io/master": "true"}


def ago(**kw) -> datetime:
    return NOW - timedelta(**kw)


def name(i: int) -> str:
    return f"agent{i:06d}"


def provider_id(i: int | str, vmss: str = "agents") -> str:
    return (f"azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/"
            f"virtualMachineScaleSets/{vmss}/virtualMachines/{i}")


def instance(i: int, **kw) -> Instance:
    return Instance(str(i), name(i), vm_id=f"vm-{i}", created_at=kw.pop("created_at", ago(days=1)), **kw)


def node(i: int, ready: bool | None = True, since: datetime | None = None, policy: Policy = POLICY, **kw) -> Node:
    labels = {k: v for k, v in desired_labels(instance(i, spot=kw.pop("spot", True)), policy.labels,
                                              policy.instance_id_label).items() if v is not None}
    return Node(name(i), provider_id=provider_id(i), ready=ready, ready_since=since or ago(days=1),
                labels=kw.pop("labels", labels), taints=kw.pop("taints", policy.taints), resource_version="1", **kw)


def row(i: int, state: NodeState = NodeState.READY, **kw) -> NodeRecord:
    return NodeRecord(name(i), state, instance_id=str(i), vm_id=f"vm-{i}", joined_at=ago(days=1),
                      updated_at=kw.pop("updated_at", ago(days=1)), etag=f"e{i}", **kw)


MASTER = Node("master0", provider_id="azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/"
              "virtualMachines/master0", ready=True, ready_since=ago(days=9), labels=dict(MASTER_LABELS))


@dataclass
class World:
    instances: dict[str, Instance] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    rows: dict[str, NodeRecord] = field(default_factory=dict)
    events: dict[tuple[str, str], EventRecord] = field(default_factory=dict)
    poison: list[PoisonMessage] = field(default_factory=list)
    drains: set[str] = field(default_factory=set)
    secrets: set[str] = field(default_factory=set)
    state: TickState = field(default_factory=TickState)
    capacity: int | None | str = "truth"  # ARM's sku.capacity: "truth" is len(instances); None: unreadable
    listed: int | None = None  # the ARM listing silently shows only the first `listed` instances
    nodes_listed: int | None = None  # the Node listing silently shows only the first `nodes_listed` Nodes
    probes: bool = True  # GETs of one instance or Node answer (the truth: `instances`, `nodes`); False: they fail

    @classmethod
    def converged(cls, n: int = 10, policy: Policy = POLICY) -> World:
        world = cls(nodes={MASTER.name: MASTER})
        for i in range(n):
            world.add(i, policy=policy)
        world.state = TickState(instances=Baseline(n), nodes=Baseline(n))
        return world

    def add(self, i: int, *, vm: Instance | None = None, kube: Node | None = None, policy: Policy = POLICY) -> None:
        self.instances[str(i)] = vm or instance(i)
        self.nodes[name(i)] = kube or node(i, policy=policy)
        self.rows[name(i)] = row(i)
        self.secrets.add(node_password_secret(name(i)))

    def watched(self) -> World:
        """As if this tick store had watched every NotReady agent since its lastTransitionTime: the
        ladders' clocks start when we first observe a Node NotReady, not at Kubernetes' timestamp."""
        by_name = {vm.name: vm for vm in self.instances.values()}
        seen = {n.name: NodeRepair(by_name[n.name].instance_id, n.ready_since or NOW) for n in self.nodes.values()
                if n.ready is not True and n.name in by_name}
        self.state = replace(self.state, repairs={**seen, **self.state.repairs})
        return self

    def observe(self) -> Observation:
        listed = tuple(self.instances.values())[: self.listed]
        nodes = tuple(self.nodes.values())[: self.nodes_listed]
        return Observation(Snapshot(listed), Snapshot(nodes),
                           Snapshot(tuple(self.rows.values())), Snapshot(tuple(self.events.values())),
                           Snapshot(tuple(self.poison)), frozenset(self.drains), self.state,
                           {n.provider_id: SCALE_SET.claim(n.provider_id) for n in self.nodes.values()},
                           capacity=len(self.instances) if self.capacity == "truth" else self.capacity)

    def plan(self, now: datetime = NOW, policy: Policy = POLICY) -> Plan:
        """As the service does it: plan, GET the instances the plan asks about, plan again."""
        obs = self.observe()
        result = plan(obs, now, policy)
        if (result.probe or result.probe_nodes) and self.probes:
            return plan(replace(obs, probed={i: i in self.instances for i in result.probe},
                                nodes_probed={n: n in self.nodes for n in result.probe_nodes}), now, policy)
        return result


def simulate_apply(world: World, result: Plan) -> World:
    """What the executor would do, in memory; the plan's state becomes the world's."""
    w = replace(world, instances=dict(world.instances), nodes=dict(world.nodes), rows=dict(world.rows),
                events=dict(world.events), secrets=set(world.secrets), state=result.state)
    for a in result.actions:
        if isinstance(a, DeleteNode | DeleteInstance):
            w.nodes.pop(a.node, None)
            w.secrets.discard(a.secret_name)
            if isinstance(a, DeleteInstance):
                w.instances.pop(a.instance_id, None)
        elif isinstance(a, ReimageInstance):
            w.secrets.discard(a.secret_name)
        elif isinstance(a, LabelNode):
            labels = {**w.nodes[a.node].labels, **a.patch()}
            w.nodes[a.node] = replace(w.nodes[a.node], labels={k: v for k, v in labels.items() if v is not None},
                                      taints=w.nodes[a.node].taints if a.taints is None else a.taints)
        elif isinstance(a, UncordonNode):
            w.nodes[a.node] = replace(w.nodes[a.node], unschedulable=False)
            w.rows[a.node] = replace(w.rows[a.node], state=NodeState.READY)
        elif isinstance(a, MarkReady):
            w.rows[a.node] = replace(w.rows[a.node], state=NodeState.READY)
        elif isinstance(a, MarkStale):
            w.rows[a.node] = replace(w.rows[a.node], state=NodeState.DELETED, updated_at=a.at)
        elif isinstance(a, RemoveRow):
            w.rows.pop(a.node)
        elif isinstance(a, ExpireEvent):
            w.events.pop((a.node, a.event_id))
    return w


def messy(n: int = 30) -> World:
    """One of everything the planner fixes."""
    world = World.converged(n)
    world.rows[name(2)] = replace(world.rows[name(2)], state=NodeState.JOINING)  # joined, row not yet ready
    del world.instances["1"]  # ghost
    world.nodes[name(1)] = node(1, ready=None, since=ago(minutes=3))
    world.nodes[name(2)] = node(2, labels={})  # unlabelled
    world.rows[name(3)] = row(3, NodeState.CORDONED, last_event_type="Reboot", drained_at=ago(minutes=8))
    world.nodes[name(3)] = node(3, unschedulable=True, since=ago(minutes=2))  # back after reboot
    world.nodes[name(4)] = node(4, ready=False, since=ago(minutes=25))  # needs repair
    world.nodes[name(5)] = node(5, ready=False, since=ago(hours=1))  # reimaged 11 min ago: due for deletion
    del world.nodes[name(6)]  # never joined
    world.state = replace(world.state, repairs={name(5): NodeRepair("5", ago(hours=1), 2, ago(minutes=11))},
                          unjoined={"6": UnjoinedVm(name(6), ago(minutes=20))})
    world.rows["agent999999"] = replace(row(999999), updated_at=ago(days=2))  # stale row
    world.rows["agent888888"] = replace(row(888888), state=NodeState.DELETED, updated_at=ago(days=2))  # long stale
    world.events[(name(7), "old")] = EventRecord(name(7), "old", "Reboot", ago(days=30), ago(days=30))
    world.poison = [PoisonMessage("m1", ago(hours=1))]
    return world.watched()


def kinds(result: Plan) -> list[tuple[str, str]]:
    return [(a.kind, a.target) for a in result.actions]
