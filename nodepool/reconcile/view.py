"""One pass over an observation: which Node is which VM, which Nodes are ours, which are ghosts.

A Node is one of ours when it is not a master and its providerID names our scale set, or it
matches a VM of the scale set (providerID instance id, our instance-id label, or its name), or
it carries our instance-id label, or the registry knows it. Anything else (the master, a VM
outside the scale set, another scale set) is never touched. Every lookup is a dict: O(n).
"""
from __future__ import annotations

from datetime import datetime

from nodepool.core.labels import is_master
from nodepool.core.model import Instance, Node, NodeState
from nodepool.reconcile.model import Observation, Policy

_POWERED = frozenset({"running", "starting"})  # anything else (stopped, deallocated, "unknown": no view) is no evidence


def not_ready(node: Node) -> bool:
    return node.ready is not True  # False, or Unknown (the kubelet stopped reporting)


def workable(instance: Instance) -> bool:
    """A VM we may repair: not being deleted, and ARM says it is powered on (a VM stopped or
    deallocated on purpose, or one whose instanceView/PowerState is missing, is left alone)."""
    return (instance.provisioning_state.lower() != "deleting"
            and instance.power_state.lower() in _POWERED)


class View:
    """Indexes of one observation; built once per tick."""

    def __init__(self, obs: Observation, policy: Policy):
        self.obs, self.state = obs, obs.state
        self.by_id = {i.instance_id: i for i in obs.instances.items}
        self.by_name = {i.name.lower(): i for i in obs.instances.items}
        self.nodes = {n.name: n for n in obs.nodes.items}
        self.rows = {r.name: r for r in obs.registry.items}
        self.draining = obs.pending_drains | {r.name for r in obs.registry.items if r.state is NodeState.DRAINING}
        self.agents: list[tuple[Node, Instance]] = []  # our Nodes with a live VM, by name
        self.ghosts: list[Node] = []  # our Nodes, not Ready, whose VM is gone
        self.claimed: set[str] = set()  # instance ids with a Node (ours or a master's)
        for node in sorted(obs.nodes.items, key=lambda n: n.name):
            self._classify(node, policy)

    def _classify(self, node: Node, policy: Policy) -> None:
        claim = self.obs.claim(node)  # what the providerID says, as the ScaleSet port reads it
        if claim.ours is False:
            return  # another scale set's VM
        label_id = node.labels.get(policy.instance_id_label)
        instance = ((self.by_id.get(claim.instance_id) if claim.ours else None)
                    or (self.by_id.get(label_id) if label_id else None)
                    or self.by_name.get(node.name.lower()))
        if instance is not None:
            self.claimed.add(instance.instance_id)
        if is_master(node):
            return
        if instance is not None:
            self.agents.append((node, instance))
            return
        row = self.rows.get(node.name)
        ours = bool(claim.ours or label_id or (row and row.instance_id))
        if ours and not_ready(node):
            self.ghosts.append(node)  # like the cloud node-lifecycle controller: only NotReady ones

    def instance_of_row(self, name: str, instance_id: str) -> Instance | None:
        return (self.by_id.get(instance_id) if instance_id else None) or self.by_name.get(name.lower())

    def unjoined(self) -> list[Instance]:
        return sorted((i for i in self.obs.instances.items if i.instance_id not in self.claimed),
                      key=lambda i: i.instance_id)

    def not_ready_count(self) -> tuple[int, int]:
        """(NotReady agents, agents) of this scale set."""
        return sum(1 for node, _ in self.agents if not_ready(node)), len(self.agents)


def outage(down: int, total: int, policy: Policy, where: str = "") -> str | None:
    """cluster-autoscaler's rule: too many NotReady agents is an outage, not a bad node. Both bounds
    must be passed, so a small pool's dead VMs are repaired (Karpenter's 20 % alone would hold 2 of 3)."""
    if down > policy.outage_min_not_ready and down > policy.outage_ratio * total:
        return f"outage: {down} of {total} agents{where} NotReady; destructive actions held"
    return None


def since_or(value: datetime | None, now: datetime) -> datetime:
    return min(value, now) if value else now


def first_observed(theirs: datetime | None, now: datetime) -> datetime:
    """When a state's clock starts: now, as we first observe it. The other side's timestamp of it
    (lastTransitionTime, timeCreated) can only start it later, never earlier (nodepool/core/skew.py):
    so neither a clock of ours that runs ahead nor one corrected forward makes a duration longer."""
    return max(theirs, now) if theirs else now
