"""Sanity guards on a listing's size, the same for ARM's instances and Kubernetes' Nodes.

A complete listing can still be wrong: a throttled or paged list that silently drops its last
pages, a lost `continue`. Its size is checked against what we know durably (the planner picks
the reference, see reconcile.py):
1. an authority (the scale set's own sku.capacity from ARM for the instances): a listing more
   than `sanity_drop_min` short of it is never believed (no time makes it true); one that
   matches it is believed at once, even after a big drop (a mass eviction lowers it too);
2. a reference (the registry's joined rows for the Nodes; the last trusted count; the
   registry's rows when the state was lost): more than `sanity_drop_min` and `sanity_drop_ratio`
   short of it is distrusted until consecutive observations agree on it for `sanity_confirm`;
3. with no reference at all, the listing is `unconfirmed`: housekeeping goes on, destructive
   actions wait until consecutive observations agree for `sanity_confirm`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nodepool.domain.reconcile_model import Baseline, Policy

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
    if dropped <= policy.sanity_drop_min or (not authority and dropped <= policy.sanity_drop_ratio * reference):
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
