"""A node's life around a scheduled event as k3s, Kubernetes and Azure define it, end to end: the
simulator (ARM, IMDS, KubeSim), the real app in the dev host and, where the agent's part is being
tested, the real `agent watch`.

Pods here take their whole grace period to stop once evicted (KubeSim's kubelet: deletionTimestamp
set, gone from the API when the grace period ends), as containers that ignore SIGTERM do. Outcomes are
read from what the stand-ins saw (tests/bench/_preempt_figures.py's Observer) and from GET /api/nodes.
"""
from __future__ import annotations

import time
from datetime import datetime

import pytest

from tests.agent.conftest import node_on  # noqa: F401  (a fixture)
from tests.agent.integration import Background, wait
from tests.bench._preempt_figures import Observer
from tests.functions.test_events import SIM, joined

WHOLE_GRACE = {"kube_options": {**SIM["kube_options"], "terminate_s": None}}
WATCH = ("watch", "--poll-interval", "0.2")


@pytest.fixture
def pool(make_stack):
    stack = make_stack(sim_options={"kube_options": {"terminate_s": None}})
    stack.register_master()
    return stack


@pytest.fixture
def cluster(pool):  # what node_on builds on
    return pool


@pytest.fixture
def observed(pool):
    observer = Observer(pool.sim, {vm.computer_name for vm in pool.sim.vms})
    yield observer
    observer.close()


def test_the_node_is_deleted_only_once_its_evicted_pods_are_gone(make_stack):
    """It used to be deleted as soon as every pod was Terminating: the pods orphaned, the VM acked mid-grace."""
    events = joined(make_stack({**SIM, **WHOLE_GRACE}))
    name = events.names()[0]
    pods = set(events.kube.add_pods(name, 4, owner="ReplicaSet/web"))
    observer = Observer(events.sim, {name})
    try:
        preempt = events.sim.preempt(name, notice=8)
        assert events.post(name).status_code == 202
        row = events.wait_row(name, state="deleted")
        deleted = observer.deleted[name]
        gone = [when for uid, (node, when) in observer.gone.items() if node == name]
        evicted = [when for node, when in observer.evictions.values() if node == name]
    finally:
        observer.close()
    assert len(evicted) == len(pods) == len(gone)
    assert max(gone) <= deleted < preempt.not_before  # gone first, the Node after, both before NotBefore
    assert min(gone) - max(evicted) >= 4  # they really were Terminating for seconds: the drain waited
    assert (row["pods_left"], row["pods_terminating"]) == (0, 0)
    assert datetime.fromisoformat(row["drained_at"]).timestamp() >= max(gone) - 1  # whole seconds in the row


def test_an_odd_event_beside_ours_and_a_whole_placement_groups_document_do_not_refuse_the_preempt(make_stack):
    """An EventType we do not know, and a document of more than 150 events, each used to get a 400."""
    events = joined(make_stack(SIM))
    name = events.names()[0]
    preempt = events.sim.preempt(name, notice=30)
    document = events.document(name)
    ours = document["Events"][0]
    strange = {**ours, "EventId": "new-type-1", "EventType": "LiveMigrationPlus"}
    others = [{**ours, "EventId": f"other-{i}", "Resources": [f"agents_{100 + i}"]} for i in range(199)]
    answer = events.post(name, {"DocumentIncarnation": document["DocumentIncarnation"],
                                "Events": [*others, strange, ours]})
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert [e["event_id"] for e in body["events"]] == [preempt.event_id]
    assert body["unknown"] == [{"event_id": "new-type-1", "type": "LiveMigrationPlus"}]
    assert events.unschedulable(name)
    events.wait_row(name, state="deleted", last_event_id=preempt.event_id)


def test_one_reboot_of_two_vms_is_acknowledged_only_once_both_are_drained(pool, observed, node_on):  # noqa: F811
    """Azure: "Acknowledging an event allows the event to proceed for all Resources in the event". The VM
    with nothing to drain used to acknowledge at once, and the other rebooted with its pods mid-grace."""
    quick, slow = node_on(0), node_on(1)
    quick.join()
    slow.join()
    pool.sim.kube.add_pods(slow.name, 3, owner="ReplicaSet/web")
    watchers = [Background(quick, *WATCH), Background(slow, *WATCH)]
    try:
        reboot = pool.sim.reboot([quick.vm.name, slow.vm.name], notice=20)
        wait(lambda: reboot.status == "Started", 30, what="the reboot acknowledged or due")
        started = time.time()
    finally:
        logs = [w.stop().log for w in watchers]
    gone = [when for uid, (node, when) in observed.gone.items() if node == slow.name]
    assert len(gone) == 3 and max(gone) < started, logs  # not before the slow node's pods were gone
    acked = observed.acked.get(reboot.event_id)
    assert acked is None or acked >= max(gone), logs  # its acknowledgement (if it came before NotBefore) too
    rows = [pool.node_row(n.name) for n in (quick, slow)]
    assert all(r["last_event_id"] == reboot.event_id and r["drained_at"] for r in rows), rows
    assert all(datetime.fromisoformat(r["drained_at"]).timestamp() <= started for r in rows), rows


def test_an_event_the_drain_could_not_finish_is_left_to_not_before(pool, observed, node_on):  # noqa: F811
    """A PDB keeps every pod: nothing is acknowledged (the old agent did, up to 5 s early), Azure goes at
    NotBefore, and the Node, with its pods, is deleted once the VM is verifiably gone, not before."""
    node = node_on(0)
    node.join()
    pool.sim.kube.add_pods(node.name, 2, owner="StatefulSet/db")
    pool.sim.kube.add_pdb("db", selector={"app": "db"}, min_available=2)
    watcher = Background(node, *WATCH)
    try:
        preempt = pool.sim.preempt(node.vm.name, notice=6)
        wait(lambda: node.name in observed.deleted, 20, what="the Node deleted")
    finally:
        log = watcher.stop().log
    assert observed.acked == {} and "acknowledged event" not in log, log
    assert observed.stopped[node.name] >= preempt.not_before - 0.05  # Azure's own time, not ours
    assert observed.deleted[node.name] >= observed.stopped[node.name]
    row = pool.node_row(node.name)
    assert (row["state"], row["pods_left"]) == ("deleted", 2), row


def test_a_withdrawn_preempt_stops_the_drain_and_puts_the_node_back_in_service(pool, observed, node_on):  # noqa: F811
    """Azure cancels an event by dropping it from the document before it starts; the node used to stay
    cordoned, and its Node was deleted when the drain ended, leaving the VM out of the cluster."""
    node = node_on(0)
    node.join()
    pool.sim.kube.add_pods(node.name, 3, owner="ReplicaSet/web")
    watcher = Background(node, *WATCH)
    deletes = (observed.node_deletes[node.name], sum(observed.secret_deletes.values()))  # the join's own
    try:
        preempt = pool.sim.preempt(node.vm.name, notice=20)
        wait(lambda: len(observed.evictions) == 3, 10, what="the drain evicting")
        assert pool.sim.withdraw(preempt)
        row = wait(lambda: (r := pool.node_row(node.name)) and r["state"] == "ready" and r, 10,
                   what="the row back to ready")
        wait(lambda: not pool.sim.kube.node(node.name)["spec"].get("unschedulable"), 5, what="the Node uncordoned")
        wait(lambda: time.time() > preempt.not_before + 1, 25, what="past what was NotBefore")
    finally:
        log = watcher.stop().log
    assert "%s (Preempt) withdrawn by Azure" % preempt.event_id in log, log
    assert pool.sim.kube.node(node.name) is not None
    assert (observed.node_deletes[node.name], sum(observed.secret_deletes.values())) == deletes
    assert pool.sim.vm(node.vm.name).power == "running" and observed.acked == {}
    assert row["last_event_id"] == preempt.event_id and "drained_at" not in row, row
