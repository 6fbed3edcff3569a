"""What the executor does for each kind of action, seen in the fakes; a plan applied for real and
re-observed plans nothing."""
import logging
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from nodepool.core.k3s import node_password_secret
from nodepool.core.model import Instance, NodeState, Taint
from nodepool.core.records import NodeRecord
from nodepool.drain.state import EventRecord
from nodepool.reconcile.apply import apply
from nodepool.reconcile.plan import MarkReady, MarkStale, RemoveRow
from tests.unit.reconcile_pool import POLICY, Pool

TAINTED = replace(POLICY, taints=(Taint("dedicated", "spot", "NoSchedule"),))


def ago(**kw) -> datetime:
    return datetime.now(timezone.utc) - timedelta(**kw)


def messy() -> Pool:
    pool = Pool(6)
    del pool.scaleset.vms["0"]  # a ghost
    pool.kube.set_ready(pool.name_of(0), None)
    pool.kube.patch_node(pool.name(1), labels={"node-role.kubernetes.io/worker": None})  # unlabelled
    back = pool.name(2)  # cordoned for a Reboot, Ready again since
    pool.kube.patch_node(back, unschedulable=True)
    pool.registry.save_node(replace(pool.registry.node(back), state=NodeState.CORDONED, last_event_type="Reboot",
                                    last_event_id="E-reboot", drained_at=ago(minutes=8)))
    pool.scaleset.vms["9"] = Instance("9", "agents000009", created_at=ago(minutes=14))  # no Node yet
    pool.kube.add_secret("kube-system", node_password_secret("agents000009"))
    pool.registry.save_node(NodeRecord("agents0000zz", NodeState.READY, instance_id="1259", updated_at=ago(days=2)))
    pool.registry.save_node(NodeRecord("agents0000zy", NodeState.DELETED, updated_at=ago(days=2)))
    pool.registry.add_event(EventRecord(pool.name(3), "old", "Reboot", ago(days=30), ago(days=30)))
    pool.forget_writes()
    return pool


def test_every_kind_of_action_is_applied_and_the_pool_converges():
    pool = messy()
    ghost = pool.name_of(0)
    report = pool.tick(policy=TAINTED)
    assert report.planned == {"delete_node": 1, "label_node": 5, "uncordon_node": 1, "mark_stale": 2,
                              "remove_row": 1, "expire_event": 1}
    assert (report.applied, report.failed, report.retry) == (11, 0, 0)
    assert pool.kube.node(ghost) is None and pool.kube.secret("kube-system", node_password_secret(ghost)) is None
    assert pool.registry.node(ghost).state is NodeState.DELETED
    labelled = pool.kube.node(pool.name(1))
    assert labelled.labels["node-role.kubernetes.io/worker"] == "true"
    assert Taint("dedicated", "spot", "NoSchedule") in labelled.taints
    assert not pool.kube.node(pool.name(2)).unschedulable
    assert pool.registry.node(pool.name(2)).state is NodeState.READY
    assert pool.registry.node("agents0000zz").state is NodeState.DELETED
    assert pool.registry.node("agents0000zy") is None
    assert pool.registry.event(pool.name(3), "old") is None
    assert pool.tick(timedelta(minutes=14), policy=TAINTED).planned == {}  # seen without a Node 14 min
    assert pool.tick(timedelta(minutes=15), policy=TAINTED).planned == {"reimage_instance": 1}  # 15 min
    assert pool.scaleset.writes == [("reimage instances", ("9",))]
    assert pool.kube.secret("kube-system", node_password_secret("agents000009")) is None
    assert pool.tick(timedelta(minutes=16), policy=TAINTED).planned == {}


def test_rows_changed_since_they_were_observed_are_neither_marked_stale_nor_removed():
    pool = Pool(2)
    seen = pool.registry.save_node(NodeRecord("agents0000zz", NodeState.READY, updated_at=ago(days=2)))
    gone = pool.registry.save_node(NodeRecord("agents0000zy", NodeState.DELETED, updated_at=ago(days=2)))
    pool.registry.save_node(replace(seen, state=NodeState.JOINING, note="rejoined meanwhile"))
    pool.registry.save_node(replace(gone, state=NodeState.JOINING, note="rejoined meanwhile"))
    actions = (MarkStale(node=seen.name, at=ago(), etag=seen.etag, reason="stale"),
               RemoveRow(node=gone.name, etag=gone.etag, reason="long gone"))
    done = apply(actions, pool.ports(), ago(), False, logging.getLogger("test.reconcile"))
    assert (done.applied, done.failed) == (0, 2)
    assert pool.registry.node(seen.name).state is pool.registry.node(gone.name).state is NodeState.JOINING


def test_uncordon_after_our_own_label_patch_uses_our_resource_version():
    pool = Pool(2)
    back = pool.name(1)
    pool.kube.patch_node(back, unschedulable=True, labels={"node-role.kubernetes.io/worker": None})
    pool.registry.save_node(replace(pool.registry.node(back), state=NodeState.CORDONED, last_event_type="Redeploy",
                                    drained_at=ago(minutes=5)))
    report = pool.tick(policy=TAINTED)
    assert report.planned == {"label_node": 2, "uncordon_node": 1} and report.applied == 3
    assert not pool.kube.node(back).unschedulable


def test_a_joining_row_becomes_ready_once_but_not_over_a_newer_event():
    pool = Pool(2)
    joined, evicted = pool.name(0), pool.name(1)
    for name in (joined, evicted):
        pool.registry.save_node(replace(pool.registry.node(name), state=NodeState.JOINING))
    actions = tuple(MarkReady(node=n, etag=pool.registry.node(n).etag, reason="Node Ready") for n in (joined, evicted))
    pool.registry.save_node(replace(pool.registry.node(evicted), state=NodeState.CORDONED, last_event_id="E-1"))
    done = apply(actions, pool.ports(), ago(), False, logging.getLogger("test.reconcile"))
    assert (done.applied, done.failed) == (2, 0)  # the second finds an event took the row: nothing to do
    assert pool.registry.node(joined).state is NodeState.READY
    assert pool.registry.node(evicted).state is NodeState.CORDONED
