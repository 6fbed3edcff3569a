"""The reconcile planner: observation + previous tick state + now → actions + next tick state.

Pure: no I/O, `now` passed in. This plans one scale set; reconcile/pools.py plans every managed
scale set with it, after the guards that concern them all (a stale Node list, clocks that
disagree), and holds every pool's destructive actions while any pool's observation is refused
(`Plan.refused`, then `Observation.hold`). The guards live here, in this order:
1. an observation with any failed or short listing, or one that names an instance or a Node
   twice (a page boundary moved while paging) → nothing, and the state does not advance;
2. an instance or Node listing whose size the durable baselines distrust (reconcile_guards:
   the scale set's capacity, the last trusted counts, the registry's rows) → nothing (only the
   suspicion is remembered); with no baseline at all → housekeeping only, until observations agree;
3. a per-instance GET that finds a VM the listing lacked → nothing (the listing is short);
4. an outage (more than 3 and more than 45 % of the scale set's agents NotReady; pools.py applies
   the same rule to the whole cluster), or a hold from another pool → housekeeping only;
5. at most `max_destructive_per_tick` destructive actions, oldest problem first.
A ghost is deleted, and a row marked deleted, only on evidence that the VM is gone (a 404 to a
GET of it, or absence from trusted listings for a hold time: reconcile_absence); the service
makes the GETs the plan asks for in `probe` and plans again. Likewise a VM is "never joined"
only once a GET of its Node answers 404 (`probe_nodes`, see reconcile_repair). The master and
anything outside the scale set are never touched (see reconcile_view); protected instances are
never reimaged or deleted, and VMs not known to be powered on are not repaired.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime
from operator import attrgetter

from nodepool.core.listing import listed_twice
from nodepool.reconcile import repair as ladders
from nodepool.reconcile import rules
from nodepool.reconcile.absence import absences
from nodepool.reconcile.actions import (
    Action,
    DeleteInstance,
    DeleteNode,
    DestructiveAction,
    ExpireEvent,
    InstanceAction,
    LabelNode,
    MarkReady,
    MarkStale,
    ReimageInstance,
    RemoveRow,
    ReportPoison,
    RestartInstance,
    UncordonNode,
)
from nodepool.reconcile.guards import DISTRUSTED, UNCONFIRMED, after_deletes, sizes
from nodepool.reconcile.model import Baseline, NodeRepair, Observation, PoisonMessage, Policy, TickState, UnjoinedVm
from nodepool.reconcile.view import View
from nodepool.reconcile.view import outage as view_outage

__all__ = [
    "Action", "Baseline", "DeleteInstance", "DeleteNode", "ExpireEvent", "LabelNode", "MarkReady", "MarkStale",
    "NodeRepair", "Observation", "Plan", "PoisonMessage", "Policy", "ReimageInstance", "RemoveRow", "ReportPoison",
    "RestartInstance", "TickState", "UncordonNode", "UnjoinedVm", "plan",
]


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]  # housekeeping first, then destructive actions oldest problem first
    state: TickState  # persist it for the next tick
    blocked: str | None = None  # why nothing, or nothing destructive, was planned
    held: tuple[DestructiveAction, ...] = ()  # destructive actions withheld this tick (outage, per-tick limit)
    probe: tuple[str, ...] = ()  # instance ids to GET from ARM, then plan again: evidence a VM is gone
    probe_nodes: tuple[str, ...] = ()  # Node names to GET from Kubernetes: evidence a VM never joined
    refused: bool = False  # the observation itself is not trusted: nothing planned, and no pool acts destructively
    not_ready: tuple[int, int] = (0, 0)  # (NotReady agents, agents) seen: the cluster's outage rule adds them up

    def counts(self) -> dict[str, int]:
        """Actions per kind, for the one log line per tick."""
        return dict(Counter(a.kind for a in self.actions))


def plan(obs: Observation, now: datetime, policy: Policy) -> Plan:
    failures = obs.failures()
    if failures:
        return Plan((), obs.state, blocked="incomplete observation: " + "; ".join(failures), refused=True)
    view = View(obs, policy)
    named_twice = len(view.by_id) < len(obs.instances.items) or len(view.nodes) < len(obs.nodes.items)
    twice = inconsistent(obs) if named_twice else None
    if twice:
        return Plan((), obs.state, blocked=twice + "; acting on nothing", refused=True)
    instances, nodes = sizes(obs, view.nodes, now, policy)
    if DISTRUSTED in (instances.level, nodes.level):
        reasons = [v.reason or v.level for v in (instances, nodes) if v.level == DISTRUSTED]
        return Plan((), replace(obs.state, instances=instances.baseline, nodes=nodes.baseline, lost=False),
                    blocked="; ".join(reasons), refused=True)
    unconfirmed = "; ".join(v.reason or v.level for v in (instances, nodes) if v.level == UNCONFIRMED) or None

    # evidence that a VM is gone needs the scale set's capacity read this tick (reconcile_absence)
    absence = absences(view, now, policy, vouched=obs.capacity is not None, trusted=unconfirmed is None)
    if absence.contradicted:
        return Plan((), obs.state, blocked=f"instance listing not trusted: ARM still has instance(s) "
                                           f"{', '.join(absence.contradicted)} it did not list", refused=True)
    repairs, repair_state = ladders.repairs(view, now, policy)
    never_joined = ladders.unjoined(view, now, policy)
    if never_joined.present:
        return Plan((), obs.state, blocked=f"node listing not trusted: Kubernetes still has Node(s) "
                                           f"{', '.join(never_joined.present)} it did not list", refused=True)
    unjoined_state = never_joined.tracked
    candidates = sorted([*rules.ghosts(view, absence), *repairs, *never_joined.actions], key=_oldest_first)
    # without a baseline, what rests on absence from that listing waits until observations agree
    waiting = [a for a in candidates
               if (nodes.level == UNCONFIRMED and isinstance(a, InstanceAction) and a.ladder == "unjoined")
               or (instances.level == UNCONFIRMED and isinstance(a, DeleteNode))]
    candidates = [a for a in candidates if a not in waiting]
    counted = view.not_ready_count()
    outage = obs.hold or view_outage(*counted, policy)
    limit = 0 if outage else policy.max_destructive_per_tick
    taken, held = candidates[:limit], sorted([*candidates[limit:], *waiting], key=_oldest_first)
    ladders.commit([a for a in taken if isinstance(a, InstanceAction)], now, repair_state, unjoined_state)

    deleted_nodes = {a.node for a in taken if isinstance(a, DeleteNode | DeleteInstance)}
    deleted_ids = {a.instance_id for a in taken if isinstance(a, DeleteInstance)}
    poison, reported = rules.poison(view, now)
    rows = [a for a in rules.registry(view, now, policy, deleted_nodes, deleted_ids, absence)
            if nodes.level != UNCONFIRMED or not stale_for_absence(a)]  # "no Node" needs a trusted list
    housekeeping = [
        *(a for a in rules.labels(view, policy) if a.target not in deleted_nodes),
        *rules.uncordons(view),
        *rules.joined(view),
        *(a for a in rows if not after_delete(a)),
        *rules.events(view, now, policy),
        *poison,
    ]
    after = [a for a in rows if after_delete(a)]  # once the deletes they rest on succeeded
    state = TickState(repairs=repair_state, unjoined=unjoined_state, instances=after_deletes(instances, deleted_ids),
                      nodes=after_deletes(nodes, deleted_nodes), missing=absence.missing, reported_poison=reported)
    over = len(held) - len(waiting)
    blocked = outage or "; ".join(filter(None, [
        unconfirmed, f"{over} destructive action(s) over the limit of {limit} per tick, held" if over else None]))
    return Plan((*housekeeping, *taken, *after), state, blocked=blocked or None, held=tuple(held),
                probe=absence.probe, probe_nodes=never_joined.ask, not_ready=counted)


def inconsistent(obs: Observation) -> str | None:
    """An instance or a Node listed twice: a page boundary moved while we paged (core/listing.py)."""
    return (listed_twice(obs.instances.items, attrgetter("instance_id"),
                         lambda i: f"{i.power_state}, {i.provisioning_state}", "instance")
            or listed_twice(obs.nodes.items, attrgetter("name"), lambda n: READINESS[n.ready], "Node"))


READINESS = {True: "Ready", False: "NotReady", None: "Unknown"}


def after_delete(action: Action) -> bool:
    """A row marked stale because this tick deletes its Node or VM: written only if that delete succeeds."""
    return isinstance(action, MarkStale) and action.after_delete


def stale_for_absence(action: Action) -> bool:
    """A row marked stale because its Node is not listed: that rests on a trusted Node listing."""
    return isinstance(action, MarkStale) and not action.after_delete


def _oldest_first(action: DestructiveAction) -> tuple:
    return (action.since, action.target, action.kind)
