"""Sanity guards on a listing's size, the same for ARM's instances and Kubernetes' Nodes.

A complete listing can still be wrong: a throttled or paged list that silently drops its last
pages, a lost `continue`. Its size is checked against what we know durably (`sizes` picks the
reference for each listing):
1. an authority (the scale set's own sku.capacity from ARM for the instances): a listing more
   than `sanity_drop_min` short of it, or more than `sanity_drop_ratio` of it (so a pool of 3
   must list all 3: 10 % of 3 is 0), is never believed (no time makes it true); one that
   matches it is believed at once, even after a big drop (a mass eviction lowers it too);
2. a reference (the registry's joined rows for the Nodes; the last trusted count; the
   registry's rows when the state was lost): more than `sanity_drop_min` and `sanity_drop_ratio`
   short of it is distrusted until consecutive observations agree on it for `sanity_confirm`;
3. with no reference at all, the listing is `unconfirmed`: housekeeping goes on, destructive
   actions wait until consecutive observations agree for `sanity_confirm`.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime

from nodepool.core.model import NodeState
from nodepool.reconcile.model import Baseline, Observation, Policy

TRUSTED, UNCONFIRMED, DISTRUSTED = "trusted", "unconfirmed", "distrusted"


@dataclass(frozen=True)
class Verdict:
    level: str  # trusted | unconfirmed | distrusted
    baseline: Baseline  # for the next tick's state
    reason: str | None = None


def check(what: str, count: int, last: Baseline, now: datetime, policy: Policy, *,
          reference: int | None, source: str, authority: bool = False) -> Verdict:
    """`count` listed against `reference` (None: nothing known). An authority is never overruled."""
    if reference is None:
        if _agreed(last, count, now, policy):
            return Verdict(TRUSTED, Baseline(count))
        return Verdict(UNCONFIRMED, _suspect(last, count, now),
                       f"{what}: no baseline; destructive actions wait until observations agree on {count}")
    dropped = reference - count
    share = dropped <= policy.sanity_drop_ratio * reference
    if (dropped <= policy.sanity_drop_min and (share or not authority)) or (share and not authority):
        return Verdict(TRUSTED, Baseline(count))
    if not authority and _agreed(last, count, now, policy):
        return Verdict(TRUSTED, Baseline(count))  # the drop persisted unchanged: believe it
    return Verdict(DISTRUSTED, last if authority else _suspect(last, count, now),
                   f"{what}: {count} listed, expected {reference} ({source}): listing not trusted")


def _agreed(last: Baseline, count: int, now: datetime, policy: Policy) -> bool:
    return (last.suspect == count and last.since is not None and policy.sanity_confirm is not None
            and now - last.since >= policy.sanity_confirm)


def _suspect(last: Baseline, count: int, now: datetime) -> Baseline:
    since = last.since if last.suspect == count and last.since is not None else now
    return Baseline(last.count, count, since)


def sizes(obs: Observation, listed_nodes: Collection[str], now: datetime, policy: Policy) -> tuple[Verdict, Verdict]:
    """Both listings through the same guards (`check`). Instances: the scale set's
    capacity is the authority; without it, the last trusted count, or the registry's rows.
    Nodes: the registry's joined rows (a drain or a ghost delete takes a row out of them as it
    deletes the Node, so our own deletions never look like a short list); without rows, the
    last trusted count."""
    state, rows = obs.state, _joined(obs)
    reference: int | None
    if obs.capacity is not None:
        reference, source = obs.capacity, "the scale set's capacity"
    elif state.instances.count is not None:
        reference, source = state.instances.count, "the last trusted listing"
    else:
        reference, source = sum(1 for r in rows if r.instance_id) or None, "the registry"
    instances = check("instances", len(obs.instances.items), state.instances, now, policy, reference=reference,
                      source=source, authority=obs.capacity is not None)
    if rows:
        present = sum(1 for r in rows if r.name in listed_nodes)
        nodes = check("nodes", present, state.nodes, now, policy,
                      reference=len(rows), source="the registry's joined rows")
    else:
        nodes = check("nodes", len(obs.nodes.items), state.nodes, now, policy, reference=state.nodes.count,
                      source="the last trusted listing")
    return instances, nodes


def after_deletes(verdict: Verdict, deleted: set[str]) -> Baseline:
    """The baseline for the next tick: what this tick deletes will be missing, and rightly so."""
    base = verdict.baseline
    if not deleted:
        return base
    return replace(base, count=_less(base.count, len(deleted)), suspect=_less(base.suspect, len(deleted)))


def _less(count: int | None, deleted: int) -> int | None:
    return None if count is None else max(0, count - deleted)


def _joined(obs: Observation) -> list:
    """Rows whose Node should exist (ready, cordoned, draining), compared by identity: an Enum's
    hash is Python code, and this runs over every row on every tick."""
    ready, cordoned, draining = NodeState.READY, NodeState.CORDONED, NodeState.DRAINING
    return [r for r in obs.registry.items if r.state is ready or r.state is cordoned or r.state is draining]
