"""The table of observations that once led to destruction, on a pool of 200 VMs of which
10 are NotReady on live VMs, 5 partitioned (Ready Unknown, VM running) and 5 deallocated on
purpose. Each row is replayed tick by tick, a minute apart, through the planner (with the
GETs of single instances and Nodes the service makes, answering or failing) for 30 minutes:
twice "about 15 min", past the confirmation window and the provisioning timeout together.
None of them may plan a destructive action, or mark a row deleted."""
from dataclasses import replace
from datetime import timedelta

import pytest

from nodepool.reconcile.plan import Baseline, TickState
from tests.unit.reconcile_world import NOW, POLICY, World, ago, instance, name, node, simulate_apply

POOL = 200
SICK, PARTITIONED, DEALLOCATED = range(180, 190), range(190, 195), range(195, 200)  # on the last page


def pool200() -> World:
    world = World.converged(POOL)
    world.capacity = POOL
    for i in SICK:
        world.nodes[name(i)] = node(i, ready=False, since=ago(hours=1))
    for i in PARTITIONED:
        world.nodes[name(i)] = node(i, ready=None, since=ago(hours=1))
    for i in DEALLOCATED:
        world.instances[str(i)] = instance(i, power_state="deallocated")
        world.nodes[name(i)] = node(i, ready=False, since=ago(hours=1))
    return world.watched()  # NotReady for an hour, as this tick store saw: their ladders are due


def last_page_missing(world: World, minute: int) -> None:
    world.listed = 150  # no error, no nextLink: the last 50 are simply not there


def staircase(world: World, minute: int) -> None:
    world.listed = [101, 51, 26, 13, 7, 4, 3][min(minute, 6)]


def three_of_200(world: World, minute: int) -> None:
    world.listed = 3


def nodes_short(keep: int):
    def short(world: World, minute: int) -> None:
        world.nodes_listed = keep  # master0 first, then a few agents
    return short


def no_instance_view(world: World, minute: int) -> None:
    world.instances = {i: replace(vm, power_state="unknown") for i, vm in world.instances.items()}


def no_capacity(world: World) -> None:
    world.capacity = None  # ARM would not say: the last trusted count is the baseline


def lost_state(world: World) -> None:
    world.capacity, world.state = None, TickState(lost=True)  # the registry's 200 rows are the baseline


def first_tick(world: World) -> None:
    world.capacity, world.state = None, TickState()


def no_baseline_at_all(world: World) -> None:
    world.capacity, world.state, world.rows = None, TickState(), {}


ROWS = [
    ("last_page_missing_150_of_200", last_page_missing, None),
    ("last_page_missing_without_capacity", last_page_missing, no_capacity),
    ("staircase_101_51_26_to_3", staircase, None),
    ("staircase_without_capacity", staircase, no_capacity),
    ("3_of_200_with_unreadable_state", three_of_200, lost_state),
    ("3_of_200_on_the_first_tick_after_deploy", three_of_200, first_tick),
    ("3_of_200_with_no_baseline_anywhere", three_of_200, no_baseline_at_all),
    ("3_of_200_with_capacity_and_lost_state", three_of_200, lambda w: setattr(w, "state", TickState(lost=True))),
    ("kube_nodes_3_of_201", nodes_short(3), None),
    ("kube_nodes_3_of_201_with_unreadable_state", nodes_short(3), lost_state),
    ("kube_continue_lost_after_100", nodes_short(100), None),
    ("kube_continue_lost_on_the_first_tick", nodes_short(100), first_tick),
    ("no_instance_view_or_power_state", no_instance_view, None),
]


@pytest.mark.parametrize("bad, setup", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
@pytest.mark.parametrize("probes", [True, False], ids=["gets_answer", "gets_fail"])
def test_a_bad_observation_for_30_minutes_destroys_nothing(bad, setup, probes):
    world = pool200()
    if setup:
        setup(world)
    world.probes = probes
    for minute in range(31):
        bad(world, minute)
        result = world.plan(NOW + timedelta(minutes=minute))
        destructive = [(a.kind, a.target, a.reason) for a in result.actions if a.destructive]
        assert destructive == [], f"minute {minute}: {destructive}"
        assert not [a for a in result.actions if a.kind == "mark_stale"]  # no row says a live VM is gone
        world = simulate_apply(world, result)


def test_the_same_pool_observed_truly_repairs_only_live_vms_that_are_powered_on():
    world = pool200()
    result = world.plan()
    taken = [(a.kind, a.target) for a in result.actions if a.destructive]
    held = {a.target for a in result.held}
    assert [k for k, _ in taken] == ["restart_instance"] * POLICY.max_destructive_per_tick
    assert {t for _, t in taken} | held == {str(i) for i in [*SICK, *PARTITIONED]}  # never the deallocated ones


def test_deallocated_vms_are_never_restarted_whatever_the_view_says_over_hours():
    world = World.converged(10)
    world.capacity = 10
    for i in range(3):
        world.instances[str(i)] = instance(i, power_state="deallocated" if i else "unknown")
        world.nodes[name(i)] = node(i, ready=False, since=ago(hours=1))
    del world.nodes[name(5)]  # and a VM without a Node whose view is missing
    world.instances["5"] = instance(5, power_state="unknown")
    for minute in range(0, 180, 5):
        result = world.plan(NOW + timedelta(minutes=minute))
        assert not [a for a in result.actions if a.destructive]
        world = simulate_apply(world, result)


def test_after_the_bad_observation_the_true_one_is_acted_on_at_once():
    world = pool200()
    world.state = replace(world.state, instances=Baseline(POOL))
    world.listed = 150
    world = simulate_apply(world, world.plan())
    world.listed = None
    result = world.plan(NOW + timedelta(minutes=1))
    assert [a.kind for a in result.actions if a.destructive] == ["restart_instance"] * 3
