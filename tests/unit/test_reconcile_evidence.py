"""The fixes behind the bad-observations table (test_reconcile_bad_observations.py): evidence
before destruction, baselines that cannot be lost, the same guards for both listings,
and rows that say only what happened."""
from dataclasses import replace
from datetime import timedelta

import pytest

from nodepool.adapters.tickstate import decode
from nodepool.core.errors import Throttled
from nodepool.core.model import NodeState
from nodepool.fakes.scaleset import FakeScaleSet
from nodepool.reconcile.model import ReconcileState
from nodepool.reconcile.plan import Baseline, TickState, UnjoinedVm, plan
from tests.unit.reconcile_pool import Pool
from tests.unit.reconcile_world import NOW, POLICY, World, ago, kinds, name, node, simulate_apply


def ghosts(world: World, *ids: int) -> World:
    for i in ids:
        del world.instances[str(i)]
        world.nodes[name(i)] = node(i, ready=None, since=ago(minutes=30 - i))
    return world


def test_a_ghost_is_deleted_when_arm_answers_404_for_its_instance():
    world = ghosts(World.converged(10), 3)
    first = plan(world.observe(), NOW, POLICY)
    assert first.probe == ("3",) and not [a for a in first.actions if a.destructive]
    result = world.plan()
    assert kinds(result) == [("delete_node", name(3)), ("mark_stale", name(3))]
    assert "ARM answers 404 for instance 3" in result.actions[0].reason


def test_without_an_answer_a_ghost_waits_for_the_hold_time_of_trusted_listings():
    world = ghosts(World.converged(10), 3)
    world.probes, world.capacity = False, 9  # ARM throttles the GETs
    world.state = world.plan(NOW).state
    assert world.state.missing == {name(3): NOW}
    assert world.plan(NOW + POLICY.ghost_hold - timedelta(seconds=1)).actions == ()
    result = world.plan(NOW + POLICY.ghost_hold)
    assert [a.kind for a in result.actions] == ["delete_node", "mark_stale"]
    assert "absent from every listing since" in result.actions[0].reason


def test_without_arms_capacity_no_get_is_asked_and_no_ghost_is_deleted():
    world = ghosts(World.converged(10), 3)
    world.capacity = None  # ARM answers NotFound for VMs of a scale set that is not there: a 404 proves nothing
    for minutes in (0, 20, 120):
        result = world.plan(NOW + timedelta(minutes=minutes))
        assert result.probe == () and not [a for a in result.actions if a.destructive or a.kind == "mark_stale"]
        world.state = result.state


def test_a_get_that_finds_an_unlisted_instance_proves_the_listing_short():
    world = ghosts(World.converged(30), 3)
    world.listed = 27  # instances 28 and 29 exist but are not listed (2 short: within the tolerance)
    world.nodes[name(29)] = node(29, ready=False, since=ago(hours=1))
    result = world.plan()
    assert result.actions == () and "ARM still has instance(s) 29" in result.blocked


def test_gets_are_bounded_per_tick_oldest_absence_first():
    world = ghosts(World.converged(40), *range(5, 35))  # 30 ghosts: a mass eviction, capacity 10
    world.state = replace(world.state, missing={name(i): ago(seconds=i) for i in range(5, 35)})
    probe = plan(world.observe(), NOW, POLICY).probe
    assert len(probe) == POLICY.max_probes_per_tick and probe[0] == "34"


def test_ghosts_held_back_by_the_per_tick_limit_keep_their_rows():
    world = ghosts(World.converged(10), 1, 2, 3, 4, 5)
    world.capacity = 5
    result = world.plan()
    deleted = [a.node for a in result.actions if a.kind == "delete_node"]
    stale = [a for a in result.actions if a.kind == "mark_stale"]
    assert len(deleted) == 3 and len(result.held) == 2
    assert [a.node for a in stale] == deleted and all(a.after_delete for a in stale)
    assert result.actions[-3:] == tuple(stale)  # written only after the deletes they rest on


def test_a_row_without_node_or_listed_vm_is_marked_deleted_only_on_evidence():
    world = World.converged(10)
    del world.nodes[name(9)]
    world.listed = 9  # VM 9 exists, the listing lacks it: 9 of capacity 10 is within the tolerance
    world.capacity = 10
    assert "mark_stale" not in [a.kind for a in world.plan().actions]
    del world.instances["9"]
    assert kinds(world.plan()) == [("mark_stale", name(9))]


def test_a_drop_the_scale_sets_capacity_confirms_is_believed_at_once():
    world = ghosts(World.converged(10), *range(6))  # a mass eviction: capacity went down with it
    world.capacity = 4
    assert [a.kind for a in world.plan().actions if a.destructive] == ["delete_node"] * 3


def test_a_listing_short_of_the_capacity_is_never_believed():
    world = World.converged(10)
    world.capacity, world.listed = 10, 3
    for minutes in (0, 30, 600):
        result = world.plan(NOW + timedelta(minutes=minutes))
        assert result.actions == () and "expected 10 (the scale set's capacity)" in result.blocked
        world.state = result.state
    assert world.state.instances.count == 10  # the baseline did not follow


def test_without_a_node_baseline_what_rests_on_a_missing_node_waits_for_agreement():
    world = ghosts(World.converged(10), 3)
    del world.nodes[name(6)]  # a VM without a Node: the never-joined ladder is due
    world.state = TickState(unjoined={"6": UnjoinedVm(name(6), ago(minutes=20))})
    world.rows = {}  # no Node count anywhere (the instances have ARM's capacity)
    world.nodes[name(5)] = node(5, labels={})
    result = world.plan()
    assert kinds(result) == [("label_node", name(5)), ("delete_node", name(3))]  # the ghost rests on ARM's 404
    assert [a.kind for a in result.held] == ["reimage_instance"] and "nodes: no baseline" in result.blocked
    world = simulate_apply(world, result)
    assert not [a for a in world.plan(NOW + timedelta(minutes=5)).actions if a.destructive]
    later = world.plan(NOW + POLICY.sanity_confirm)
    assert [a.kind for a in later.actions if a.destructive] == ["reimage_instance"]
    assert later.state.nodes == Baseline(9)


@pytest.mark.parametrize("listing", ["instances", "nodes"])
def test_both_listings_get_the_same_count_guard(listing):
    world = World.converged(200)
    if listing == "nodes":
        world.nodes_listed = 150
    else:
        world.listed = 150
    result = world.plan()
    assert result.actions == () and result.blocked.startswith(f"{listing}: ") and "not trusted" in result.blocked


def test_an_unreadable_state_row_is_lost_not_empty():
    state = decode(["{not json"])
    assert state.lost and state != ReconcileState() and state.pool("agents").instances.count is None


def test_an_unreadable_state_and_a_short_list_write_nothing_in_the_service():
    pool = Pool(20)
    pool.tick()
    pool.store.corrupt()
    pool.scaleset.short_list = 3
    for n in list(pool.kube.nodes().items)[4:]:
        pool.kube.set_ready(n.name, None)
    pool.forget_writes()
    report = pool.tick(timedelta(minutes=20))
    assert report.planned == {} and "expected 20 (the scale set's capacity)" in report.blocked
    assert {k: v for k, v in pool.writes().items() if k != "state"} == {"scaleset": 0, "kube": 0, "registry": 0}


class ThrottledGets(FakeScaleSet):
    gets = 0

    def get_instance(self, instance_id):
        ThrottledGets.gets += 1
        raise Throttled("get instance: ARM throttled")


def test_the_service_asks_arm_per_instance_and_a_failed_get_is_no_evidence():
    pool = Pool(5)
    pool.scaleset.__class__ = ThrottledGets
    ghosts = [pool.name(1), pool.name(2)]
    for i, ghost in zip((1, 2), ghosts):
        del pool.scaleset.vms[str(i)]
        pool.kube.set_ready(ghost, None)
    report = pool.tick()
    assert "delete_node" not in report.planned and all(pool.kube.node(g) is not None for g in ghosts)
    assert ThrottledGets.gets == 1  # throttled: the round of GETs ends there
    assert all(pool.registry.node(g).state is NodeState.READY for g in ghosts)
    pool.scaleset.__class__ = FakeScaleSet
    assert pool.tick(timedelta(minutes=1)).planned == {"delete_node": 2, "mark_stale": 2}


def never_joined(world: World) -> World:
    del world.nodes[name(5)]
    world.state = replace(world.state, unjoined={"5": UnjoinedVm(name(5), ago(minutes=20))})
    return world


def test_a_vm_is_never_joined_only_when_kubernetes_answers_404_for_its_node():
    world = never_joined(World.converged(10))
    first = plan(world.observe(), NOW, POLICY)
    assert first.probe_nodes == (name(5),) and not [a for a in first.actions if a.destructive]
    (action,) = world.plan().actions
    assert action.kind == "reimage_instance" and "Kubernetes answers 404 for Node" in action.reason


def test_a_node_get_that_finds_an_unlisted_node_proves_the_node_listing_short():
    world = never_joined(World.converged(10))
    world.nodes[name(5)] = node(5)
    world.nodes = {k: world.nodes[k] for k in [*(k for k in world.nodes if k != name(5)), name(5)]}
    world.nodes_listed = len(world.nodes) - 1  # the listing lost its last Node
    result = world.plan()
    assert result.actions == () and "Kubernetes still has Node(s) agent000005" in result.blocked


def test_without_an_answer_from_kubernetes_a_never_joined_vm_waits():
    world = never_joined(World.converged(10))
    world.probes = False
    for minutes in (0, 30, 120):
        assert not [a for a in world.plan(NOW + timedelta(minutes=minutes)).actions if a.destructive]
