"""The two ladders: repair a NotReady agent (restart → reimage → delete) and a VM that never
joined (reimage → delete). Each step waits its time after the previous one; the clock starts
when this tick store first observed the Node NotReady, or the VM without a Node, on our own clock
(view.first_observed): Kubernetes' lastTransitionTime and ARM's timeCreated can only start it later.

A VM that outlived the event its Node was deleted for (a drain deleted it for a Preempt, Terminate
or Leave, and ARM still shows the VM running `survivor_hold` past that event's deadline: Azure
withdrew the event, or the shutdown never came) climbs the same ladder from a restart, after
`survivor_hold` instead of the provisioning timeout: the agent joins again at every boot.

A VM is "never joined" only on Kubernetes' word: a due step of that ladder waits for a GET of
the Node by name answering 404 (the service makes the GETs in the plan's `probe_nodes`); a GET
that finds the Node proves the Node listing short, and the planner then does nothing.

The planner proposes the next due step; the step is recorded in the state only if the action
survives the guards (`commit`), so a held step is proposed again next tick. A taken step
counts even if its execution then fails: the ladder escalates rather than repeats.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from nodepool.core.k3s import node_password_secret
from nodepool.core.model import Instance, NodeState
from nodepool.core.records import NodeRecord
from nodepool.drain.report import NODE_REMOVING_TYPES
from nodepool.reconcile.actions import DeleteInstance, InstanceAction, ReimageInstance, RestartInstance
from nodepool.reconcile.model import NodeRepair, Policy, UnjoinedVm
from nodepool.reconcile.view import View, first_observed, not_ready, workable

REPAIR: tuple[type[InstanceAction], ...] = (RestartInstance, ReimageInstance, DeleteInstance)
UNJOINED: tuple[type[InstanceAction], ...] = (ReimageInstance, DeleteInstance)
SURVIVOR: tuple[type[InstanceAction], ...] = (RestartInstance, ReimageInstance, DeleteInstance)


def outlived(row: NodeRecord | None, instance: Instance) -> NodeRecord | None:
    """`row`, when it says a drain deleted this very VM's Node for an event that takes the VM away."""
    if (row is None or row.state is not NodeState.DELETED or row.drained_at is None or row.deadline is None
            or row.last_event_type not in NODE_REMOVING_TYPES or row.instance_id != instance.instance_id):
        return None
    return row


def _step(steps, step: int, clock: datetime, wait: timedelta, now: datetime, instance: Instance,
          **fields) -> InstanceAction | None:
    if now - clock < wait:
        return None
    kind = steps[min(step, len(steps) - 1)]  # past the last step: repeat it (a delete that did not happen)
    if instance.protected and kind is not RestartInstance:
        return None  # instance protection: restart only
    extra = {} if kind is RestartInstance else {"secret_name": node_password_secret(instance.name.lower())}
    number = min(step + 1, len(steps))
    fields["reason"] = f"{fields['reason']}: {kind.kind.split('_')[0]} (step {number}/{len(steps)})"
    return kind(instance_id=instance.instance_id, step=number, **extra, **fields)


def repairs(view: View, now: datetime, policy: Policy) -> tuple[list[InstanceAction], dict[str, NodeRepair]]:
    actions, tracked = [], {}
    for node, instance in view.agents:
        if not not_ready(node):
            continue
        entry = view.state.repairs.get(node.name)
        if entry is None or entry.instance_id != instance.instance_id:
            entry = NodeRepair(instance.instance_id, first_observed(node.ready_since, now))
        tracked[node.name] = entry
        if node.name in view.draining or not workable(instance):
            continue
        clock = entry.step_at or entry.not_ready_since
        minutes = int((now - entry.not_ready_since).total_seconds() // 60)
        action = _step(REPAIR, entry.step, clock, policy.repair_after, now, instance, node=node.name,
                       ladder="repair", since=entry.not_ready_since,
                       reason=f"NotReady for {minutes} min" + (f", step {entry.step} taken" if entry.step else ""))
        if action:
            actions.append(action)
    return actions, tracked


@dataclass(frozen=True)
class Unjoined:
    actions: list[InstanceAction]  # due steps whose Node Kubernetes says does not exist
    tracked: dict[str, UnjoinedVm]
    ask: tuple[str, ...] = ()  # Node names to GET before their step can be taken
    present: tuple[str, ...] = ()  # Nodes a GET found although the listing lacked them


def unjoined(view: View, now: datetime, policy: Policy) -> Unjoined:
    due, tracked = _unjoined(view, now, policy)
    answers = view.obs.nodes_probed
    ask = tuple(a.node for a in due if a.node not in answers)[: policy.max_probes_per_tick]
    present = tuple(a.node for a in due if answers.get(a.node) is True)
    actions = [replace(a, reason=f"{a.reason}; Kubernetes answers 404 for Node {a.node}")
               for a in due if answers.get(a.node) is False]
    return Unjoined(actions, tracked, ask, present)


def _unjoined(view: View, now: datetime, policy: Policy) -> tuple[list[InstanceAction], dict[str, UnjoinedVm]]:
    actions, tracked = [], {}
    for instance in view.unjoined():
        entry = view.state.unjoined.get(instance.instance_id)
        if entry is None:
            entry = UnjoinedVm(instance.name.lower(), first_observed(instance.created_at, now))
        tracked[instance.instance_id] = entry
        if entry.name in view.draining or not workable(instance):
            continue
        minutes = int((now - entry.since).total_seconds() // 60)
        why = f"no Node for {minutes} min" + (f", step {entry.step} taken" if entry.step else "")
        steps, wait, clock = UNJOINED, policy.provisioning_timeout, entry.step_at or entry.since
        gone_for = outlived(view.rows.get(entry.name), instance)
        if gone_for is not None and gone_for.deadline is not None:
            steps, wait = SURVIVOR, policy.survivor_hold
            clock = entry.step_at or max(entry.since, gone_for.deadline)
            why = f"running past its {gone_for.last_event_type} {gone_for.last_event_id}, whose drain deleted its " \
                  f"Node; {why}"
        action = _step(steps, entry.step, clock, wait, now, instance, node=entry.name, ladder="unjoined",
                       since=entry.since, reason=why)
        if action:
            actions.append(action)
    return actions, tracked


def commit(taken: list[InstanceAction], now: datetime, repairs_: dict[str, NodeRepair],
           unjoined_: dict[str, UnjoinedVm]) -> None:
    """Record the steps that survived the guards (mutates the fresh maps of the new state)."""
    for action in taken:
        if action.ladder == "repair":
            repairs_[action.node] = replace(repairs_[action.node], step=action.step, step_at=now)
        else:
            unjoined_[action.instance_id] = replace(unjoined_[action.instance_id], step=action.step, step_at=now)
