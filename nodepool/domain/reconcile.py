"""The reconcile planner: observation + previous tick state + now → actions + next tick state.

Pure: no I/O, `now` passed in. The guards live here, in this order:
1. an observation with any failed or short listing → nothing, and the state does not advance;
2. an instance count that dropped by more than the sanity limit since the last trusted tick →
   nothing (only the time the drop was first seen is remembered; a drop that persists for
   `policy.sanity_confirm` is believed);
3. an outage (more than 3 and more than 45 % of agents NotReady) → housekeeping only;
4. at most `max_destructive_per_tick` destructive actions, oldest problem first.
The master and anything outside the scale set are never touched (see reconcile_view), and
protected instances are never reimaged or deleted (see reconcile_repair).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime

from nodepool.domain import reconcile_repair as ladders
from nodepool.domain import reconcile_rules as rules
from nodepool.domain.reconcile_actions import (
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
from nodepool.domain.reconcile_model import NodeRepair, Observation, PoisonMessage, Policy, TickState, UnjoinedVm
from nodepool.domain.reconcile_view import View

__all__ = [
    "Action", "DeleteInstance", "DeleteNode", "ExpireEvent", "LabelNode", "MarkReady", "MarkStale", "NodeRepair",
    "Observation", "Plan", "PoisonMessage", "Policy", "ReimageInstance", "RemoveRow", "ReportPoison", "RestartInstance",
    "TickState", "UncordonNode", "UnjoinedVm", "plan",
]


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]  # housekeeping first, then destructive actions oldest problem first
    state: TickState  # persist it for the next tick
    blocked: str | None = None  # why nothing, or nothing destructive, was planned
    held: tuple[DestructiveAction, ...] = ()  # destructive actions withheld this tick (outage, per-tick limit)

    def counts(self) -> dict[str, int]:
        """Actions per kind, for the one log line per tick."""
        return dict(Counter(a.kind for a in self.actions))


def plan(obs: Observation, now: datetime, policy: Policy) -> Plan:
    failures = obs.failures()
    if failures:
        return Plan((), obs.state, blocked="incomplete observation: " + "; ".join(failures))
    drop = _count_drop(obs, now, policy)
    if drop:
        return Plan((), replace(obs.state, count_drop_since=obs.state.count_drop_since or now), blocked=drop)

    view = View(obs, policy)
    repairs, repair_state = ladders.repairs(view, now, policy)
    unjoined, unjoined_state = ladders.unjoined(view, now, policy)
    candidates = sorted([*rules.ghosts(view), *repairs, *unjoined], key=_oldest_first)
    outage = view.outage(policy)
    limit = 0 if outage else policy.max_destructive_per_tick
    taken, held = candidates[:limit], candidates[limit:]
    ladders.commit([a for a in taken if isinstance(a, InstanceAction)], now, repair_state, unjoined_state)

    deleted_nodes = {a.node for a in taken if isinstance(a, DeleteNode | DeleteInstance)}
    deleted_ids = {a.instance_id for a in taken if isinstance(a, DeleteInstance)}
    poison, reported = rules.poison(view, now)
    housekeeping = [
        *(a for a in rules.labels(view, policy) if a.target not in deleted_nodes),
        *rules.uncordons(view),
        *rules.joined(view),
        *rules.registry(view, now, policy, deleted_nodes, deleted_ids),
        *rules.events(view, now, policy),
        *poison,
    ]
    state = TickState(repairs=repair_state, unjoined=unjoined_state, instance_count=len(obs.instances.items),
                      reported_poison=reported)
    if not outage and held:
        outage = f"{len(held)} destructive action(s) over the limit of {limit} per tick, held"
    return Plan((*housekeeping, *taken), state, blocked=outage, held=tuple(held))


def _oldest_first(action: DestructiveAction) -> tuple:
    return (action.since, action.target, action.kind)


def _count_drop(obs: Observation, now: datetime, policy: Policy) -> str | None:
    last, count = obs.state.instance_count, len(obs.instances.items)
    if last is None:
        return None
    dropped = last - count
    if dropped <= policy.sanity_drop_min or dropped <= policy.sanity_drop_ratio * last:
        return None
    first_seen = obs.state.count_drop_since
    if first_seen is not None and policy.sanity_confirm is not None and now - first_seen >= policy.sanity_confirm:
        return None  # the drop persisted: believe it
    return f"instance count dropped from {last} to {count}: listing not trusted"
