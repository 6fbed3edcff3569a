"""Drain-time budgeting (nodepool/drain/budget.py), as tables."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from nodepool.drain.budget import DrainPod, budget, plan_pass, reserve_s

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


@pytest.mark.parametrize("left, reserve", [
    (30.0, 3.0), (60.0, 5.0), (300.0, 5.0),   # a tenth, at most 5 s
    (8.0, 0.8), (5.4, 0.75), (3.0, 0.75),     # at least what the Node and secret deletes need
    (0.0, 0.75), (-4.0, 0.75),
])
def test_the_reserve_is_a_tenth_of_the_time_left_bounded(left, reserve):
    assert reserve_s(left) == pytest.approx(reserve)


@pytest.mark.parametrize("now_s, deadline_s, cutoff_s, expired", [
    (0, 30, 27, False),      # Azure's promised notice
    (0, 8, 7.2, False),      # an 8 s notice keeps 7.2 s for evictions, not 3
    (0, 3, 2.25, False),
    (0, 0.5, -0.25, True),   # less than the reserve left: finish at once
    (5, 3, 2.25, True),      # the deadline has passed
])
def test_cutoff_from_the_notice_actually_left(now_s, deadline_s, cutoff_s, expired):
    plan = budget(at(now_s), at(deadline_s))
    assert plan.deadline == at(deadline_s)
    assert plan.cutoff == at(cutoff_s)
    assert plan.expired is expired


def test_times_without_a_zone_are_refused():
    with pytest.raises(ValueError):
        budget(NOW.replace(tzinfo=None), at(8))
    with pytest.raises(ValueError):
        budget(NOW, at(8).replace(tzinfo=None))


@pytest.mark.parametrize("now_s, own, grace", [
    (0, None, 7),     # the default 30 s shortened to the whole seconds left until the cutoff (7.2 s)
    (0, 5, 5),        # a pod's own shorter grace is kept
    (0, 0, 1),        # never 0: that would skip SIGTERM
    (0.5, 30, 6),     # 7.5 s left, cutoff 0.75 s before the deadline: 6.75 s, whole seconds
    (6.6, 30, 1),     # under a second to the cutoff, still SIGTERM first
    (-22, None, 27),  # 30 s left: gone by the cutoff, 3 s before the deadline
])
def test_grace_period_is_the_pods_own_cut_so_that_it_is_gone_by_the_cutoff(now_s, own, grace):
    plan = budget(at(now_s), at(8))
    assert plan.grace_for(DrainPod("default", "p", grace_s=own)) == grace


def _pods(*specs):
    """("name", grace, "pdb,pdb") -> DrainPod in namespace default."""
    return [DrainPod("default", name, grace, tuple(p for p in pdbs.split(",") if p)) for name, grace, pdbs in specs]


@pytest.mark.parametrize("pods, room, evicted, held", [
    # no PDB: every pod at once
    (_pods(("a", 30, ""), ("b", 30, ""), ("c", 30, "")), {}, ["a", "b", "c"], []),
    # a StatefulSet behind maxUnavailable 1 (room 1): one now, the others on later passes
    (_pods(("db-0", 30, "default/db"), ("db-1", 30, "default/db"), ("db-2", 30, "default/db"), ("web", 30, "")),
     {"default/db": 1}, ["db-0", "web"], ["db-1", "db-2"]),
    # a PDB with room for 2
    (_pods(("x-0", 30, "default/x"), ("x-1", 30, "default/x"), ("x-2", 30, "default/x")),
     {"default/x": 2}, ["x-0", "x-1"], ["x-2"]),
    # a PDB with no room: held, and the pods outside it still go
    (_pods(("x-0", 30, "default/x"), ("w", 30, "")), {"default/x": 0}, ["w"], ["x-0"]),
    # unknown room: one at a time, the API server has the last word
    (_pods(("u-0", 30, "default/u"), ("u-1", 30, "default/u")), {}, ["u-0"], ["u-1"]),
    # two PDBs: only when both have room, and it uses room in both
    (_pods(("m", 30, "default/a,default/b"), ("n", 30, "default/b")), {"default/a": 1, "default/b": 1}, ["m"], ["n"]),
    (_pods(("m", 30, "default/a,default/b")), {"default/a": 0, "default/b": 5}, [], ["m"]),
    # the longest grace first, so it competes for a PDB's room first
    (_pods(("quick", 2, "default/s"), ("slow", 60, "default/s")), {"default/s": 1}, ["slow"], ["quick"]),
])
def test_pods_are_evicted_in_parallel_where_pdbs_allow(pods, room, evicted, held):
    step = plan_pass(budget(NOW, at(30)), pods, room)
    assert sorted(pod.name for pod, _ in step.evict) == sorted(evicted)
    assert sorted(pod.name for pod in step.held) == sorted(held)
    assert not step.finish_now


def test_each_eviction_carries_its_grace_period():
    step = plan_pass(budget(NOW, at(8)), _pods(("a", None, ""), ("b", 3, "")), {})
    assert {pod.name: grace for pod, grace in step.evict} == {"a": 7, "b": 3}


@pytest.mark.parametrize("now_s, pods, terminating", [
    (8.5, _pods(("a", 30, ""), ("b", 30, "default/db")), 0),  # the deadline has passed
    (7.5, _pods(("a", 30, "")), 0),                           # inside the reserve: no time to evict
    (7.5, [], 3),                                             # nor to wait for the evicted ones
    (0, [], 0),                                               # nothing left on the Node at all
])
def test_out_of_time_or_empty_finishes_at_once_without_evicting(now_s, pods, terminating):
    step = plan_pass(budget(at(now_s), at(8)), pods, {"default/db": 1}, terminating=terminating)
    assert step.finish_now and step.evict == ()
    assert [pod.name for pod in step.held] == [pod.name for pod in pods]  # reported as left, never dropped


def test_evicted_pods_still_terminating_keep_the_drain_going():
    """Done means gone: a pass with only Terminating pods left waits for them (kubectl drain does too)."""
    step = plan_pass(budget(NOW, at(30)), [], {}, terminating=2)
    assert not step.finish_now and step.evict == ()
