"""A plan applied and re-observed needs nothing more; planning stays linear in the pool size."""
from dataclasses import replace

import pytest

from nodepool.reconcile.plan import Baseline
from tests.unit.reconcile_world import NOW, POLICY, TAINTED, World, ago, instance, messy, name, node, simulate_apply


def test_applying_a_plan_and_re_observing_plans_nothing():
    world = messy()
    first = world.plan(NOW, TAINTED)
    assert {a.kind for a in first.actions} == {
        "delete_node", "label_node", "uncordon_node", "restart_instance", "delete_instance",
        "reimage_instance", "mark_ready", "mark_stale", "remove_row", "expire_event", "report_poison"}
    again = simulate_apply(world, first).plan(NOW, TAINTED)
    assert again.actions == () and again.held == ()


def test_with_the_per_tick_limit_nothing_is_repeated_and_the_world_converges():
    world, seen = messy(), []
    for _ in range(3):
        result = world.plan()
        keys = [(a.kind, a.target, getattr(a, "step", None)) for a in result.actions]
        assert not set(keys) & set(seen)
        seen += keys
        world = simulate_apply(world, result)
    assert world.plan().actions == ()


def test_a_converged_cluster_plans_zero_actions_tick_after_tick():
    world = World.converged(50, TAINTED)
    for minute in range(0, 120, 7):
        result = world.plan(ago(minutes=-minute), TAINTED)
        assert result.actions == ()
        world = simulate_apply(world, result)


def big(n: int) -> World:
    world = World.converged(n)
    for i in range(0, n, 50):
        world.nodes[name(i)] = node(i, ready=False, since=ago(minutes=30))
        world.nodes[name(i + 1)] = node(i + 1, labels={})
    for i in range(n, n + 20):
        world.instances[str(i)] = instance(i, created_at=ago(minutes=5))
    world.state = replace(world.state, instances=Baseline(n + 20))
    return world.watched()


@pytest.mark.parametrize("n", [1000])
def test_plan_for_1000_nodes_still_respects_guards(n):
    result = big(n).plan()
    assert sum(a.destructive for a in result.actions) == POLICY.max_destructive_per_tick
    assert len(result.held) == n // 50 - POLICY.max_destructive_per_tick
