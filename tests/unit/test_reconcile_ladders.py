"""Repair (restart → reimage → delete) and never-joined (reimage → delete): each step only after its time."""
from dataclasses import replace
from datetime import timedelta

import pytest

from nodepool.core.model import NodeState
from nodepool.reconcile.plan import NodeRepair, UnjoinedVm
from tests.unit.reconcile_world import NOW, World, ago, instance, kinds, name, node, row, simulate_apply

REPAIR_CASES = [
    ("notready_9_min_waits", 9, None, []),
    ("notready_11_min_is_restarted", 11, None, [("restart_instance", 1)]),
    ("restarted_5_min_ago_waits", 30, (1, 5), []),
    ("restarted_11_min_ago_is_reimaged", 30, (1, 11), [("reimage_instance", 2)]),
    ("reimaged_9_min_ago_waits", 30, (2, 9), []),
    ("reimaged_11_min_ago_is_deleted", 30, (2, 11), [("delete_instance", 3)]),
    ("delete_that_did_not_happen_is_repeated", 60, (3, 11), [("delete_instance", 3)]),
]


@pytest.mark.parametrize("down_min, taken, expected", [c[1:] for c in REPAIR_CASES], ids=[c[0] for c in REPAIR_CASES])
def test_repair_ladder(down_min, taken, expected):
    world = World.converged(10)
    world.nodes[name(1)] = node(1, ready=False, since=ago(minutes=down_min))
    step, at = (taken[0], ago(minutes=taken[1])) if taken else (0, None)
    world.state = replace(world.state, repairs={name(1): NodeRepair("1", ago(minutes=down_min), step, at)})
    result = world.plan()
    assert [(a.kind, a.step) for a in result.actions if a.destructive] == expected
    entry = result.state.repairs[name(1)]
    assert entry.not_ready_since == ago(minutes=down_min)
    if expected:
        assert (entry.step, entry.step_at) == (expected[0][1], NOW)  # the step taken is recorded
    else:
        assert entry.step == (taken[0] if taken else 0)


def test_repair_walks_the_ladder_minute_by_minute():
    world = World.converged(10)
    world.nodes[name(1)] = node(1, ready=False, since=NOW)
    taken = []
    for minute in range(0, 41):
        now = NOW + timedelta(minutes=minute)
        result = world.plan(now)
        taken += [(minute, a.kind) for a in result.actions if a.destructive]
        world = simulate_apply(world, result)  # restart and reimage do not help this node
    assert taken == [(10, "restart_instance"), (20, "reimage_instance"), (30, "delete_instance")]
    assert name(1) not in world.nodes and "1" not in world.instances


def test_repair_clock_starts_when_we_first_see_the_node_not_ready():
    """Not at Kubernetes' lastTransitionTime: a NotReady Node seen for the first time waits its full
    time on our clock (nodepool/core/skew.py), whatever the other side's timestamp says."""
    world = World.converged(3)
    world.nodes[name(1)] = node(1, ready=False, since=ago(hours=3))
    result = world.plan()
    assert result.actions == () and result.state.repairs[name(1)] == NodeRepair("1", NOW)
    world.state = result.state
    assert kinds(world.plan(NOW + timedelta(minutes=9))) == []
    assert kinds(world.plan(NOW + timedelta(minutes=10))) == [("restart_instance", "1")]


def test_repair_clock_restarts_for_a_new_vm_and_clears_when_ready():
    world = World.converged(3)
    world.nodes[name(1)] = node(1, ready=False, since=ago(minutes=5))
    world.state = replace(world.state, repairs={name(1): NodeRepair("old", ago(hours=5), 2, ago(hours=1))})
    result = world.plan()
    assert result.actions == () and result.state.repairs[name(1)] == NodeRepair("1", NOW)
    world.nodes[name(1)] = node(1, ready=True, since=ago(minutes=1))
    assert world.plan().state.repairs == {}


UNJOINED_CASES = [
    ("young_vm_waits", 14, None, []),
    ("timed_out_vm_is_reimaged", 16, None, [("reimage_instance", 1)]),
    ("reimaged_10_min_ago_waits", 40, (1, 10), []),
    ("reimaged_16_min_ago_is_deleted", 40, (1, 16), [("delete_instance", 2)]),
]


@pytest.mark.parametrize("age_min, taken, expected", [c[1:] for c in UNJOINED_CASES],
                         ids=[c[0] for c in UNJOINED_CASES])
def test_never_joined_ladder(age_min, taken, expected):
    world = World.converged(10)
    del world.nodes[name(5)]
    world.instances["5"] = instance(5, created_at=ago(minutes=age_min))
    step, at = (taken[0], ago(minutes=taken[1])) if taken else (0, None)
    world.state = replace(world.state, unjoined={"5": UnjoinedVm(name(5), ago(minutes=age_min), step, at)})
    result = world.plan()
    assert [(a.kind, a.step) for a in result.actions if a.destructive] == expected
    assert [a.secret_name for a in result.actions if a.destructive] == [f"{name(5)}.node-password.k3s"] * len(expected)


def test_new_vm_clock_starts_when_first_seen_without_a_node_and_clears_when_it_joins():
    world = World.converged(3)
    del world.nodes[name(2)]
    world.instances["2"] = instance(2, created_at=ago(minutes=4))
    world.state = world.plan().state
    assert world.state.unjoined == {"2": UnjoinedVm(name(2), NOW)}
    assert kinds(world.plan(NOW + timedelta(minutes=14))) == []
    assert kinds(world.plan(NOW + timedelta(minutes=15))) == [("reimage_instance", "2")]
    world.nodes[name(2)] = node(2)
    assert world.plan().state.unjoined == {}


SURVIVOR_CASES = [
    # (id, the row's event type, its instance id, minutes past its deadline, step taken (step, min ago), ARM's
    #  provisioning state, expected)
    ("preempt_withdrawn_2_min_ago_waits", "Preempt", "5", 2, None, "Succeeded", []),
    ("preempt_withdrawn_4_min_ago_is_restarted", "Preempt", "5", 4, None, "Succeeded", [("restart_instance", 1)]),
    ("leave_that_never_shut_down_is_restarted", "Leave", "5", 4, None, "Succeeded", [("restart_instance", 1)]),
    ("restarted_and_still_no_node_is_reimaged", "Terminate", "5", 10, (1, 4), "Succeeded", [("reimage_instance", 2)]),
    ("restarted_2_min_ago_waits", "Preempt", "5", 10, (1, 2), "Succeeded", []),
    ("vm_being_deleted_is_left_alone", "Preempt", "5", 4, None, "Deleting", []),
    ("a_reboot_never_deletes_the_node_so_no_survivor", "Reboot", "5", 4, None, "Succeeded", []),
    ("another_vm_under_the_name_waits_the_provisioning_timeout", "Preempt", "99", 4, None, "Succeeded", []),
]


@pytest.mark.parametrize("kind, row_instance, past_min, taken, provisioning, expected",
                         [c[1:] for c in SURVIVOR_CASES], ids=[c[0] for c in SURVIVOR_CASES])
def test_a_vm_that_outlived_the_event_its_node_was_deleted_for_is_restarted(
        kind, row_instance, past_min, taken, provisioning, expected):
    """Azure withdrew the event (or the shutdown never came) after the drain deleted the Node: ARM still
    runs the VM and Kubernetes answers 404 for its Node, so a restart makes it join again."""
    world = World.converged(10)
    del world.nodes[name(5)]
    deadline = ago(minutes=past_min)
    world.instances["5"] = instance(5, provisioning_state=provisioning)
    world.rows[name(5)] = replace(row(5, NodeState.DELETED, last_event_id="E5", last_event_type=kind,
                                      deadline=deadline, drained_at=deadline - timedelta(seconds=3)),
                                  instance_id=row_instance)
    step, at = (taken[0], ago(minutes=taken[1])) if taken else (0, None)
    world.state = replace(world.state, unjoined={"5": UnjoinedVm(name(5), deadline - timedelta(seconds=3), step, at)})
    result = world.plan()
    assert [(a.kind, a.step) for a in result.actions if a.destructive] == expected
    if expected:
        assert f"{kind} E5" in next(a for a in result.actions if a.destructive).reason
