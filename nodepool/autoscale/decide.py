"""The autoscale decision of one tick: observation + state + now → plan (pure).

Order: refuse a partial or inconsistent picture, and one whose clocks disagree (Kubernetes' or
ARM's timestamps ahead of ours: nodepool/core/skew.py); end the backoffs whose TTL passed (demand returns to the
preferred pool); back off pools whose instances failed to provision, and delete those
instances; scale up; scale down only in a tick that scales nothing up. The service calls
`decide` again in the same tick after a capacity error, with that pool backed off, so the
demand moves to the next pool at once (see autoscale/tick.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from nodepool.autoscale.backoff import back_off, backed_off, creating_since, expire, stuck
from nodepool.autoscale.down import Kept, ScaleDown, scale_down, unneeded
from nodepool.autoscale.model import AutoscaleState, Draining, Observation, Policy
from nodepool.autoscale.up import ScaleUp, Unplaced, scale_up
from nodepool.autoscale.view import View, movable
from nodepool.core.skew import behind


@dataclass(frozen=True)
class DeleteFailed:
    """Instances that will never become nodes: delete them so their capacity is not held."""
    pool: str
    instance_ids: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class FinishScaleDown:
    """A drained node's own instance is deleted (never "lower the capacity and let Azure choose")."""
    pool: str
    node: str
    instance_id: str
    reason: str


@dataclass(frozen=True)
class AbandonScaleDown:
    """A drain that did not finish in time: the node is uncordoned and kept."""
    node: str
    reason: str


@dataclass(frozen=True)
class Plan:
    state: AutoscaleState
    ups: tuple[ScaleUp, ...] = ()
    downs: tuple[ScaleDown, ...] = ()
    failed: tuple[DeleteFailed, ...] = ()
    finish: tuple[FinishScaleDown, ...] = ()
    abandon: tuple[AbandonScaleDown, ...] = ()
    unplaced: tuple[Unplaced, ...] = ()
    kept: tuple[Kept, ...] = ()
    notes: tuple[str, ...] = field(default=())  # backoffs started or ended this tick, with why
    blocked: str | None = None

    def counts(self) -> dict[str, int]:
        counts = {"scale_up_nodes": sum(u.add for u in self.ups), "scale_down": len(self.downs),
                  "delete_failed": sum(len(f.instance_ids) for f in self.failed), "unplaced": len(self.unplaced),
                  "finish_scale_down": len(self.finish), "abandon_scale_down": len(self.abandon)}
        return {k: v for k, v in counts.items() if v}


def decide(obs: Observation, state: AutoscaleState, now: datetime, policy: Policy) -> Plan:
    problems = obs.problems()
    if problems:
        return Plan(state, blocked="observation not trusted: " + "; ".join(problems))
    skew = (behind(now, (n.written_at for n in obs.nodes.items), "Kubernetes", policy.max_clock_skew)
            or behind(now, (i.created_at for p in obs.pools for i in p.instances.items), "ARM", policy.max_clock_skew))
    if skew:  # the unneeded times and backoffs we would start now would be off by as much
        return Plan(state, blocked=skew)
    state = replace(state, creating=creating_since(obs, state, now))
    state, ended = expire(state, now)
    notes = [f"pool {name}: backoff ended, demand returns to it" for name in ended]
    failed = []
    for pv in obs.pools:
        found = stuck(pv, now, policy, state.creating)
        if found is None:
            continue
        if found.instance_ids:
            failed.append(DeleteFailed(pv.pool.name, found.instance_ids, found.reason))
        if not backed_off(state, pv.pool.name, now):
            state = back_off(state, pv.pool.name, found.kind, now, policy, found.reason)
            notes.append(state.backoffs[pv.pool.name].reason)
    view = View(obs, state, now, policy)
    finish, abandon = _drains(view)
    ups, unplaced = scale_up(view)
    since = unneeded(view)
    downs, kept = scale_down(view, since, scaling_up=bool(ups))
    done = {f.node for f in finish} | {a.node for a in abandon}
    draining = {**{k: v for k, v in state.draining.items() if k not in done},
                **{d.node: Draining(d.pool, d.instance_id, now) for d in downs}}
    state = replace(state, unneeded_since=since, last_scale_up=now if ups else state.last_scale_up, draining=draining)
    return Plan(state, tuple(ups), tuple(downs), tuple(failed), tuple(finish), tuple(abandon), tuple(unplaced),
                tuple(kept), tuple(notes))


def _drains(view: View) -> tuple[list[FinishScaleDown], list[AbandonScaleDown]]:
    finish, abandon = [], []
    for node, d in sorted(view.state.draining.items()):
        left = [p for p in view.pods_on.get(node, []) if movable(p)]
        if not left:
            finish.append(FinishScaleDown(d.pool, node, d.instance_id, "drained for scale-down"))
        elif view.now - d.since > view.policy.drain_timeout:
            abandon.append(AbandonScaleDown(node, f"{len(left)} pods still on it after {view.policy.drain_timeout}"))
    return finish, abandon
