"""Every scale set the app manages, planned in one tick (pure, `now` passed in).

First what concerns them all, on the shared Node list: it must not be older than one already seen
(reconcile/versions.py), and the clocks must agree (core/skew.py: Kubernetes' Node timestamps and
every pool's VM timeCreated against our `now`). Otherwise nothing is planned in any pool, and no
pool's state advances. Then each pool is planned on its own (reconcile/plan.py: its own listing,
capacity, baselines, ladders and per-tick limit), with the same evidence rules. A pool whose own
observation is refused (failed, short or inconsistent listing) holds every other pool's
destructive actions this tick; their housekeeping goes on.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from nodepool.core.model import Node
from nodepool.core.skew import behind
from nodepool.reconcile.model import Observation, Policy, ReconcileState, TickState, pool_key
from nodepool.reconcile.plan import Plan, plan
from nodepool.reconcile.versions import freshness
from nodepool.reconcile.view import outage

EMPTY = TickState()  # a pool with nothing to remember is not written


@dataclass(frozen=True)
class Plans:
    pools: dict[str, Plan]  # by scale set, in the order observed (the main one first)
    state: ReconcileState  # persist it for the next tick
    blocked: str | None = None  # why nothing at all was planned, in any pool
    notes: tuple[str, ...] = ()  # what the operator should know although nothing was refused

    def counts(self) -> dict[str, int]:
        return dict(sum((Counter(p.counts()) for p in self.pools.values()), Counter()))

    @property
    def held(self) -> int:
        return sum(len(p.held) for p in self.pools.values())

    @property
    def probing(self) -> bool:
        return any(p.probe or p.probe_nodes for p in self.pools.values())

    def why(self) -> str | None:
        """Why nothing, or nothing destructive, was planned: per pool when there are several."""
        if self.blocked or len(self.pools) < 2:
            return self.blocked or next((p.blocked for p in self.pools.values()), None)
        return "; ".join(f"{name}: {p.blocked}" for name, p in self.pools.items() if p.blocked) or None


def plan_pools(pools: Mapping[str, Observation], state: ReconcileState, now: datetime, policy: Policy) -> Plans:
    """`pools`: each managed scale set's observation (sharing one Node listing), the main one first;
    `state`: as loaded (returned as it is when nothing in it changes, so nothing is written)."""
    nodes = next(iter(pools.values())).nodes
    fresh = None  # a failed Node list is refused by every pool's own plan
    if nodes.complete and not nodes.error:
        fresh = freshness(nodes, state.marks, now, policy.rebase_after)
        if fresh.stale:
            return Plans({}, replace(state, marks=fresh.marks), blocked=fresh.stale)
        skew = behind(now, _kube_stamps(nodes.items), "Kubernetes", policy.max_clock_skew) or next(
            (why for name, obs in pools.items()
             if (why := behind(now, _arm_stamps(obs), f"ARM (scale set {name})", policy.max_clock_skew))), None)
        if skew:
            return Plans({}, state, blocked=skew)
    plans = {name: plan(obs, now, policy) for name, obs in pools.items()}
    hold = _hold(plans, policy) if len(pools) > 1 else None
    if hold:
        plans = {name: p if p.refused else plan(replace(pools[name], hold=hold), now, policy)
                 for name, p in plans.items()}
    marks = fresh.marks if fresh else state.marks
    if marks != state.marks or any(p.state is not pools[name].state for name, p in plans.items()):
        state = ReconcileState({pool_key(name): p.state for name, p in plans.items() if p.state != EMPTY}, marks)
    return Plans(plans, state, notes=(fresh.note,) if fresh and fresh.note else ())


def _hold(plans: Mapping[str, Plan], policy: Policy) -> str | None:
    """Why no pool may act destructively: another pool's observation refused, or the whole cluster
    in an outage (each pool's own outage is its plan's)."""
    refused = {name: p.blocked for name, p in plans.items() if p.refused}
    if refused:
        return "destructive actions held: " + "; ".join(f"scale set {n} not trusted ({why})"
                                                        for n, why in refused.items())
    down, total = (sum(counts) for counts in zip(*(p.not_ready for p in plans.values())))
    return outage(down, total, policy, " in the cluster")


def _kube_stamps(nodes: tuple[Node, ...]) -> Iterator[datetime | None]:
    return (node.ready_since or node.created_at for node in nodes)  # a Node turns Ready after it is created


def _arm_stamps(obs: Observation) -> Iterator[datetime | None]:
    return (i.created_at for i in obs.instances.items)
