"""Every reconcile action: (world change, now) → the actions planned, in order."""
from dataclasses import replace

import pytest

from nodepool.core.model import NodeState, Taint
from nodepool.drain.state import EventRecord
from nodepool.reconcile.plan import Baseline, PoisonMessage, TickState, UnjoinedVm
from tests.unit.reconcile_world import NOW, POLICY, World, ago, instance, kinds, name, node, row

TAINTED = replace(POLICY, taints=(Taint("kubernetes.azure.com/scalesetpriority", "spot", "NoSchedule"),))
UNREACHABLE = Taint("node.kubernetes.io/unreachable", "", "NoExecute")


def ghost_by_provider_id(w):
    del w.instances["3"]
    w.nodes[name(3)] = node(3, ready=None, since=ago(minutes=2))


def ghost_by_name_and_registry(w):
    del w.instances["3"]
    w.nodes[name(3)] = replace(node(3, ready=False, since=ago(minutes=2)), provider_id=f"k3s://{name(3)}", labels={})


def labels_missing(w):
    w.nodes[name(2)] = node(2, labels={"kubernetes.io/hostname": name(2)})


def spot_label_on_regular_vm(w):
    w.instances["2"] = instance(2, spot=False)


def rebooted_and_back(w):
    w.rows[name(4)] = row(4, NodeState.CORDONED, last_event_type="Reboot", last_event_id="e-1",
                          drained_at=ago(minutes=9))
    w.nodes[name(4)] = node(4, unschedulable=True, since=ago(minutes=3))


def joining(ready):
    def setup(w):
        w.rows[name(4)] = row(4, NodeState.JOINING)
        w.nodes[name(4)] = node(4, ready=ready, since=ago(minutes=1))
    return setup


def redeploy_not_back_yet(w):
    w.rows[name(4)] = row(4, NodeState.CORDONED, last_event_type="Redeploy", drained_at=ago(minutes=1))
    w.nodes[name(4)] = node(4, unschedulable=True, since=ago(days=1))


def cordoned_by_operator(w):
    w.nodes[name(4)] = node(4, unschedulable=True, since=ago(minutes=3))


def rebooted_but_not_ready(w):
    rebooted_and_back(w)
    w.nodes[name(4)] = node(4, ready=False, unschedulable=True, since=ago(minutes=3))


def never_joined(minutes, seen_before=True):
    def setup(w):
        del w.nodes[name(5)]
        w.instances["5"] = instance(5, created_at=ago(minutes=minutes))
        if seen_before:  # an earlier tick saw it without a Node
            w.state = replace(w.state, unjoined={"5": UnjoinedVm(name(5), ago(minutes=minutes))})
    return setup


def gone(updated_minutes_ago, state=NodeState.READY):
    def setup(w):
        del w.nodes[name(6)], w.instances["6"]
        w.rows[name(6)] = row(6, state, updated_at=ago(minutes=updated_minutes_ago))
    return setup


def event(days):
    def setup(w):
        w.events[(name(1), "ev-1")] = EventRecord(name(1), "ev-1", "Preempt", ago(days=days), ago(days=days))
    return setup


def poison(ids, reported=()):
    def setup(w):
        w.poison = [PoisonMessage(i, ago(minutes=5)) for i in ids]
        w.state = replace(w.state, reported_poison=frozenset(reported))
    return setup


CASES = [
    ("converged_cluster_needs_nothing", lambda w: None, POLICY, []),
    ("ghost_of_a_deleted_vm_is_deleted_by_provider_id", ghost_by_provider_id, POLICY,
     [("delete_node", name(3)), ("mark_stale", name(3))]),
    ("ghost_is_matched_by_name_and_registry_row", ghost_by_name_and_registry, POLICY,
     [("delete_node", name(3)), ("mark_stale", name(3))]),
    ("missing_agent_labels_are_added", labels_missing, POLICY, [("label_node", name(2))]),
    ("spot_label_is_removed_from_a_regular_vm", spot_label_on_regular_vm, POLICY, [("label_node", name(2))]),
    ("policy_taint_is_added", lambda w: None, TAINTED, [("label_node", name(i)) for i in range(10)]),
    ("rebooted_node_back_ready_is_uncordoned", rebooted_and_back, POLICY, [("uncordon_node", name(4))]),
    ("joining_row_of_a_ready_node_becomes_ready", joining(True), POLICY, [("mark_ready", name(4))]),
    ("joining_row_of_a_not_yet_ready_node_waits", joining(None), POLICY, []),
    ("redeploy_not_yet_back_stays_cordoned", redeploy_not_back_yet, POLICY, []),
    ("operator_cordon_is_left_alone", cordoned_by_operator, POLICY, []),
    ("rebooted_node_not_ready_stays_cordoned", rebooted_but_not_ready, POLICY, []),
    ("vm_without_node_after_provisioning_timeout_is_reimaged", never_joined(16), POLICY,
     [("reimage_instance", "5")]),
    ("young_vm_without_node_is_given_time", never_joined(14), POLICY, []),
    ("old_vm_that_just_lost_its_node_gets_the_full_timeout", never_joined(3 * 24 * 60, False), POLICY, []),
    ("row_of_gone_node_and_vm_is_marked_stale", gone(5), POLICY, [("mark_stale", name(6))]),
    ("long_stale_row_is_removed", gone(60 * 25, NodeState.DELETED), POLICY, [("remove_row", name(6))]),
    ("recently_stale_row_is_kept", gone(60, NodeState.DELETED), POLICY, []),
    ("old_event_row_expires", event(8), POLICY, [("expire_event", f"{name(1)}/ev-1")]),
    ("recent_event_row_is_kept", event(6), POLICY, []),
    ("poison_messages_are_reported", poison(["m1", "m2"]), POLICY, [("report_poison", "node-events-poison")]),
    ("reported_poison_is_not_reported_again", poison(["m1"], ["m1"]), POLICY, []),
    ("new_poison_is_reported", poison(["m1", "m2"], ["m1"]), POLICY, [("report_poison", "node-events-poison")]),
]


@pytest.mark.parametrize("setup, policy, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_planned_actions(setup, policy, expected):
    world = World.converged(10)
    setup(world)
    assert kinds(world.plan(NOW, policy)) == expected


def test_label_patch_sets_role_instance_id_and_spot_and_removes_nothing_else():
    world = World.converged(3)
    world.nodes[name(1)] = node(1, labels={"kubernetes.io/hostname": name(1), "team": "x"})
    (action,) = world.plan().actions
    assert action.patch() == {"node-role.kubernetes.io/worker": "true", "nodepool/instance-id": "1",
                              "kubernetes.azure.com/scalesetpriority": "spot"}
    assert action.taints is None and action.resource_version == "" and not action.destructive


@pytest.mark.parametrize("current, policy, expected", [
    ((UNREACHABLE,), TAINTED, (UNREACHABLE, *TAINTED.taints)),
    ((Taint("kubernetes.azure.com/scalesetpriority", "x", "NoExecute"),), TAINTED, TAINTED.taints),
    ((UNREACHABLE, Taint("old", "", "NoSchedule")), replace(POLICY, remove_taint_keys=("old",)), (UNREACHABLE,)),
], ids=["foreign_taints_are_kept", "wrong_value_of_owned_key_is_replaced", "removed_key_is_untainted"])
def test_taints_follow_policy_and_keep_foreign_ones(current, policy, expected):
    world = World.converged(1, policy)
    world.nodes[name(0)] = node(0, taints=current, policy=policy)
    (action,) = world.plan(NOW, policy).actions
    assert (action.kind, action.labels, action.taints) == ("label_node", (), expected)
    assert action.resource_version == "1"  # replacing the taint list is guarded


def test_ghost_deletion_names_the_k3s_node_password_secret():
    world = World.converged(5)
    ghost_by_provider_id(world)
    action, = [a for a in world.plan().actions if a.kind == "delete_node"]
    assert (action.node, action.instance_id, action.secret_name) == (name(3), "3", f"{name(3)}.node-password.k3s")
    assert action.destructive


def test_ready_node_without_vm_is_not_a_ghost():
    world = World.converged(5)
    del world.instances["3"]
    assert kinds(world.plan()) == []


def test_poison_report_carries_count_and_ids_and_state_remembers_them():
    world = World.converged(2)
    poison(["m2", "m1"], ["m1"])(world)
    result = world.plan()
    (report,) = result.actions
    assert (report.count, report.message_ids, report.new_ids) == (2, ("m1", "m2"), ("m2",))
    assert result.state.reported_poison == {"m1", "m2"}


def test_healthy_pool_leaves_an_empty_state():
    world = World.converged(4)
    world.state = TickState(instances=Baseline(4), nodes=Baseline(4))
    assert world.plan().state == world.state


def test_labels_and_taints_that_both_differ_go_in_one_patch():
    world = World.converged(2, TAINTED)
    world.nodes[name(1)] = node(1, labels={}, taints=(UNREACHABLE,), policy=TAINTED)
    (action,) = world.plan(NOW, TAINTED).actions
    assert len(action.labels) == 3 and action.taints == (UNREACHABLE, *TAINTED.taints)
    assert action.added_taints == TAINTED.taints and action.removed_taints == ()
