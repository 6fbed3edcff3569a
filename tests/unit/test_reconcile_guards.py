"""The planner's guards: bad observations, outages, the per-tick limit, the master, protection."""
from dataclasses import replace
from datetime import timedelta

import pytest

from nodepool.core.model import Instance, Node, NodeState, Snapshot
from nodepool.reconcile.plan import Baseline, Policy, plan
from tests.unit.reconcile_world import (
    MASTER,
    NOW,
    POLICY,
    World,
    ago,
    instance,
    kinds,
    name,
    node,
    provider_id,
    simulate_apply,
)


def with_trouble(world: World) -> World:
    """A world that would otherwise get a ghost deletion, a repair and a label patch."""
    del world.instances["1"]
    world.nodes[name(1)] = node(1, ready=False, since=ago(hours=1))
    world.nodes[name(2)] = node(2, ready=False, since=ago(hours=1))
    world.nodes[name(3)] = node(3, labels={})
    return world


@pytest.mark.parametrize("field", ["instances", "nodes", "registry", "events", "poison"])
@pytest.mark.parametrize("broken", [Snapshot((), complete=False), Snapshot((), complete=True, error="HTTP 429")],
                         ids=["paged_short", "errored"])
def test_incomplete_observation_plans_nothing_and_keeps_the_state(field, broken):
    world = with_trouble(World.converged(10))
    obs = world.observe()
    snap = getattr(obs, field)
    obs = replace(obs, **{field: replace(snap, complete=broken.complete, error=broken.error)})
    result = plan(obs, NOW, POLICY)
    assert result.actions == () and result.state is obs.state
    assert field in result.blocked


def throttled(world: World, listed: int) -> World:
    world.capacity = None  # ARM's capacity unreadable too: the last trusted count is the baseline
    world.instances = dict(list(world.instances.items())[:listed])
    return world


def test_throttled_arm_list_with_3_of_200_instances_plans_nothing():
    world = throttled(with_trouble(World.converged(200)), 3)
    result = world.plan()
    assert result.actions == ()
    assert "3 listed, expected 200 (the last trusted listing)" in result.blocked
    assert result.state == replace(world.state, instances=Baseline(200, 3, NOW))  # only the suspicion is remembered


@pytest.mark.parametrize("last, listed, acts", [
    (200, 180, True),
    (5, 3, True),
    (200, 179, False),
    (200, 150, False),
    (4, 1, False),
], ids=["a_tenth_lost_is_believed", "two_lost_is_believed", "over_a_tenth_lost_is_distrusted",
        "last_page_missing_is_distrusted", "three_of_four_lost_is_distrusted"])
def test_instance_count_sanity_limit_is_more_than_a_tenth_and_more_than_two(last, listed, acts):
    world = World.converged(last)
    world.nodes[name(0)] = node(0, labels={})  # instance 0 stays listed: a label patch is due
    throttled(world, listed)
    assert bool(world.plan().actions) is acts


@pytest.mark.parametrize("capacity, listed, trusted", [
    (200, 198, True), (200, 197, False), (20, 18, True), (10, 9, True), (10, 8, False), (3, 3, True),
    (3, 2, False), (3, 1, False),
])
def test_a_listing_short_of_the_capacity_is_believed_within_two_and_a_tenth_of_it(capacity, listed, trusted):
    """The capacity is exact, so its tolerance covers only VMs in flight: at most 2, and at most 10 %,
    so a pool of 3 must list all 3 (10 % of 3 is 0)."""
    world = World.converged(capacity)
    world.nodes[name(0)] = node(0, labels={})  # instance 0 stays listed: a label patch is due
    world.listed = listed
    result = world.plan()
    assert bool(result.actions) is trusted and result.refused is not trusted


def test_a_pool_of_3_listing_1_never_deletes_the_nodes_of_the_2_it_lacks():
    """Their Nodes NotReady, the GETs that would prove the VMs alive throttled, for an hour: a listing
    two short of a capacity of 3 is never trusted, so the absence never counts toward the ghost hold."""
    world = World.converged(3)
    for i in (1, 2):
        world.nodes[name(i)] = node(i, ready=None, since=ago(minutes=1))
    world.listed, world.probes = 1, False
    for minute in range(0, 61, 5):
        result = world.plan(NOW + timedelta(minutes=minute))
        assert not [a for a in result.actions if a.destructive or a.kind == "mark_stale"], minute
        assert "1 listed, expected 3 (the scale set's capacity)" in result.blocked
        world = simulate_apply(world, result)


def test_a_drop_that_persists_past_the_confirmation_window_is_believed():
    world = throttled(with_trouble(World.converged(10)), 3)
    first = world.plan(ago(minutes=10))
    world.state = first.state
    assert first.actions == () and world.plan(ago(minutes=1)).actions == ()
    result = world.plan(NOW)
    assert result.actions and result.state.instances == Baseline(3)
    assert plan(world.observe(), NOW, replace(POLICY, sanity_confirm=None)).actions == ()


def test_a_recovered_listing_clears_the_suspicion():
    world = World.converged(10)
    world.state = replace(world.state, instances=Baseline(10, 3, ago(minutes=3)))
    assert world.plan().state.instances == Baseline(10)


def test_outage_holds_everything_destructive_but_keeps_housekeeping():
    world = World.converged(10)
    for i in range(5):  # half the pool NotReady for an hour
        world.nodes[name(i)] = node(i, ready=False, since=ago(hours=1))
    world.nodes[name(7)] = node(7, labels={})
    result = world.watched().plan()
    assert kinds(result) == [("label_node", name(7))]
    assert [a.kind for a in result.held] == ["restart_instance"] * 5 and "outage" in result.blocked
    assert all(r.step == 0 for r in result.state.repairs.values())  # a held step is not taken


@pytest.mark.parametrize("pool, down, outage", [(10, 5, True), (4, 3, False), (10, 4, False), (8, 4, True)],
                         ids=["half_of_ten", "three_is_not_more_than_3", "40_percent", "half_of_eight"])
def test_outage_needs_more_than_3_and_more_than_45_percent(pool, down, outage):
    world = World.converged(pool)
    for i in range(down):
        world.nodes[name(i)] = node(i, ready=False, since=ago(hours=1))
    result = world.watched().plan(NOW, replace(POLICY, max_destructive_per_tick=10))
    assert (len(result.actions) == 0) is outage


def test_at_most_n_destructive_actions_per_tick_oldest_problem_first():
    world = World.converged(20)
    for i, minutes in zip(range(5), [30, 50, 20, 40, 60]):
        world.nodes[name(i)] = node(i, ready=False, since=ago(minutes=minutes))
    result = world.watched().plan()
    assert kinds(result) == [("restart_instance", "4"), ("restart_instance", "1"), ("restart_instance", "3")]
    assert [a.target for a in result.held] == ["0", "2"]
    assert {n: r.step for n, r in result.state.repairs.items()} == {name(i): s for i, s in enumerate([0, 1, 0, 1, 1])}


def test_master_is_never_touched():
    world = World.converged(5)
    sick_master = replace(MASTER, ready=False, ready_since=ago(days=3), labels={**MASTER.labels, "x": "y"})
    world.nodes[MASTER.name] = sick_master
    assert world.plan().actions == ()
    world.instances["9"] = Instance("9", "master0")  # even if a scale-set VM bore its name
    world.state = replace(world.state, instances=Baseline(6))
    assert world.plan().actions == ()


@pytest.mark.parametrize("stranger", [
    Node("other-1", provider_id=provider_id(1, vmss="gpu"), ready=False, ready_since=ago(days=1)),
    Node("laptop", provider_id="k3s://laptop", ready=False, ready_since=ago(days=1)),
], ids=["another_scale_sets_vm", "a_node_outside_the_scale_set"])
def test_nodes_outside_our_scale_set_are_never_touched(stranger):
    world = World.converged(3)
    world.nodes[stranger.name] = stranger
    assert world.plan().actions == ()


def test_protected_instance_is_restarted_but_never_reimaged_or_deleted():
    world = World.converged(5)
    world.instances["1"] = instance(1, protected=True)
    world.nodes[name(1)] = node(1, ready=False, since=ago(hours=2))
    assert kinds(world.watched().plan()) == [("restart_instance", "1")]
    world.state = world.plan(ago(minutes=30)).state  # restarted half an hour ago
    assert world.plan().actions == ()
    del world.nodes[name(1)]  # and without a Node: no reimage either
    world.state = world.plan(NOW).state
    assert set(world.state.unjoined) == {"1"}
    assert world.plan(NOW + 2 * POLICY.provisioning_timeout).actions == ()


@pytest.mark.parametrize("state_kw", [{"power_state": "deallocated"}, {"power_state": "stopped"},
                                      {"provisioning_state": "Deleting"}], ids=lambda kw: next(iter(kw.values())))
def test_stopped_or_deleting_vms_are_not_repaired(state_kw):
    world = World.converged(5)
    world.instances["1"] = instance(1, **state_kw)
    world.nodes[name(1)] = node(1, ready=False, since=ago(hours=2))
    assert world.plan().actions == ()


@pytest.mark.parametrize("how", ["pending_drain", "row_draining"])
def test_a_node_with_a_drain_in_flight_is_left_to_the_drain(how):
    world = World.converged(5)
    world.nodes[name(1)] = node(1, ready=False, since=ago(hours=2))
    del world.instances["2"]
    world.nodes[name(2)] = node(2, ready=False, since=ago(hours=2))
    for i in (1, 2):
        if how == "pending_drain":
            world.drains.add(name(i))
        else:
            world.rows[name(i)] = replace(world.rows[name(i)], state=NodeState.DRAINING)
    assert world.plan().actions == ()


def test_policy_from_settings():
    from nodepool.settings import Settings
    settings = Settings(storage_connection="UseDevelopmentStorage=true", scale_set="pool", repair_after_s=60,
                        max_destructive_per_tick=5, node_labels=("team=a",), node_taints=("spot=true:NoSchedule",))
    policy = Policy.from_settings(settings, outage_ratio=0.5)
    assert (policy.scale_set, policy.repair_after.total_seconds(), policy.max_destructive_per_tick) == ("pool", 60, 5)
    assert policy.labels == (("team", "a"),) and policy.taints[0].key == "spot" and policy.outage_ratio == 0.5
    with pytest.raises(ValueError):
        Policy.from_settings(replace(settings, node_taints=("spot=true:Sometimes",)))


@pytest.mark.parametrize("capacity", ["truth", None], ids=["capacity_read", "capacity_unreadable"])
def test_mass_eviction_ghosts_go_a_few_per_tick_oldest_first_once_arm_vouches(capacity):
    world = World.converged(10)
    world.capacity = capacity
    for i in range(6):  # 60 % of the pool preempted: VMs gone, Nodes NotReady
        del world.instances[str(i)]
        world.nodes[name(i)] = node(i, ready=None, since=ago(minutes=20 - i))
    first = world.plan(ago(minutes=10))
    world.state = first.state
    result = world.plan()
    if capacity is None:  # the drop is believed after agreement, but no GET may vouch that a VM is gone
        assert first.actions == () and not [a for a in result.actions if a.destructive]
        return
    assert [a.kind for a in first.actions if a.destructive] == ["delete_node"] * 3  # at once: capacity agrees
    assert [a.kind for a in result.actions if a.destructive] == ["delete_node"] * 3
    assert [a.node for a in result.held] == [name(3), name(4), name(5)]  # oldest first
