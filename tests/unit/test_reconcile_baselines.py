"""Baselines follow what we did ourselves: Nodes deleted by reconcile or by drains never make
the next listing look short, with or without the registry, with or without ARM's capacity."""
from dataclasses import replace
from datetime import timedelta

import pytest

from nodepool.core.model import NodeState
from nodepool.reconcile.plan import Baseline, TickState
from tests.unit.reconcile_world import NOW, World, ago, name, node, simulate_apply


@pytest.mark.parametrize("rows", [True, False], ids=["with_registry", "without_registry"])
def test_ghosts_deleted_by_reconcile_do_not_make_the_next_node_list_look_short(rows):
    world = World.converged(10)
    world.capacity = 7  # ARM's capacity went down with the VMs
    for i in range(3):
        del world.instances[str(i)]
        world.nodes[name(i)] = node(i, ready=None, since=ago(minutes=30))
    if not rows:
        world.rows = {}
        world.state = replace(world.state, nodes=Baseline(11))  # master0 and 10 agents, counted
    first = world.plan()
    assert [a.kind for a in first.actions if a.destructive] == ["delete_node"] * 3
    world = simulate_apply(world, first)
    assert len(world.nodes) == 8
    result = world.plan(NOW + timedelta(minutes=1))
    assert result.blocked is None and result.state.nodes.suspect is None


def test_nodes_deleted_by_drains_after_a_mass_eviction_are_not_a_short_list():
    world = World.converged(10)
    world.capacity = 4
    for i in range(6):  # preempted: drained, Node deleted, row `deleted`, VM gone
        del world.instances[str(i)]
        del world.nodes[name(i)]
        world.rows[name(i)] = replace(world.rows[name(i)], state=NodeState.DELETED, updated_at=ago(minutes=1))
    result = world.plan()
    assert result.blocked is None and result.state.nodes == Baseline(4) and result.state.instances == Baseline(4)


def test_nodes_deleted_behind_our_back_are_believed_only_once_observations_agree():
    world = World.converged(10)
    for i in range(5):
        del world.nodes[name(i)]  # someone ran kubectl delete node; the rows still say ready
    first = world.plan()
    assert first.actions == () and "nodes: 5 listed, expected 10" in first.blocked
    world.state = first.state
    assert world.plan(NOW + timedelta(minutes=5)).actions == ()
    later = world.plan(NOW + timedelta(minutes=10))
    assert later.blocked is None and later.state.nodes == Baseline(5)


def test_a_lost_state_leans_on_the_registry_for_both_listings():
    world = World.converged(10)
    world.state, world.listed, world.nodes_listed = TickState(lost=True), 4, 5
    world.capacity = None  # and ARM would not say
    result = world.plan()
    assert "instances: 4 listed, expected 10 (the registry)" in result.blocked
    assert "nodes: 4 listed, expected 10 (the registry's joined rows)" in result.blocked
