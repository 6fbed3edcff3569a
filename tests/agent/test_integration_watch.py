"""watch: scheduled events from the simulator's IMDS, forwarded to the real app, acknowledged once drained.

"Acknowledged" is read off the simulator: the event is Started (StartRequests) and the spot VM is
gone while NotBefore is still ahead, which only an acknowledgement can cause.
"""
from __future__ import annotations

import time

import pytest

from tests.agent.integration import Background, wait

NOTICE = 20.0  # preemptions give >= 30 s in Azure; long enough here that "before NotBefore" means the ack
WATCH = ("watch", "--poll-interval", "0.2")


@pytest.fixture
def registered(cluster):
    cluster.register_master()
    return cluster


def gone(sim, vm) -> bool:
    return all(v.instance_id != vm.instance_id for v in sim.vms)


def acked_before_not_before(sim, vm, event, timeout: float = 15.0) -> float:
    """Wait for the ack's effect (event Started, VM deleted); returns the seconds left to NotBefore."""
    wait(lambda: event.status == "Started" and gone(sim, vm), timeout, what="event %s acknowledged" % event.event_id)
    left = event.not_before - time.time()
    assert left > 0, "the VM went at NotBefore, not on our acknowledgement"
    return left


def test_preempt_is_forwarded_drained_and_acknowledged_before_not_before(registered, node_on):
    sim, kube = registered.sim, registered.sim.kube
    ours, other = node_on(0), node_on(1)
    ours.join()
    other.join()
    pods = kube.add_pods(ours.name, 3, owner="ReplicaSet/web")
    watcher = Background(ours, *WATCH)
    try:
        theirs = sim.preempt(other.vm.name, notice=NOTICE)
        event = sim.preempt(ours.vm.name, notice=NOTICE)
        acked_before_not_before(sim, ours.vm, event)
    finally:
        result = watcher.stop()
    log = result.log
    assert "forwarded event %s (Preempt); control plane deadline 20" % event.event_id in log, log
    assert "acknowledged event %s (Preempt): every node it names is drained" % event.event_id in log, log

    row = registered.node_row(ours.name)
    assert row["state"] == "deleted" and row["last_event_id"] == event.event_id, row
    assert row["drained_at"] and row.get("pods_left", 0) == 0, row
    assert kube.node(ours.name) is None
    assert not [p for p in kube.pods(ours.name) if p["metadata"]["name"] in pods]

    # The other VM's event was in the same document: ignored, never forwarded, never acknowledged.
    assert "event %s (Preempt) is for %s, not us: ignored" % (theirs.event_id, other.vm.name) in log, log
    assert theirs.status == "Scheduled" and not gone(sim, other.vm)
    assert not kube.node(other.name)["spec"].get("unschedulable")
    assert registered.node_row(other.name)["state"] == "joining"


def test_with_the_app_down_nothing_is_acknowledged_and_the_vm_goes_at_not_before(cluster, node_on):
    sim, ours = cluster.sim, node_on(0)
    cluster.host.kill()
    watcher = Background(ours, *WATCH)
    try:
        event = sim.preempt(ours.vm.name, notice=4)
        wait(lambda: gone(sim, ours.vm), 10, what="the VM preempted at NotBefore")
        assert time.time() >= event.not_before - 0.1  # Azure's own approval, not ours
    finally:
        result = watcher.stop()
    assert "acknowledged event %s" % event.event_id not in result.log, result.log


def test_new_incarnations_bring_new_events_and_each_drain_counts_only_for_its_own_event(registered, node_on):
    """Freeze (recorded, never acknowledged by us), then a Reboot (drained, acknowledged; the VM comes
    back and the event leaves the document), then a Preempt: a fresh drain, not the Reboot's."""
    sim, kube = registered.sim, registered.sim.kube
    ours = node_on(0)
    ours.join()
    kube.add_pods(ours.name, 2, owner="ReplicaSet/web")
    watcher = Background(ours, *WATCH)
    try:
        freeze = sim.world.freeze(ours.vm.name, 30, duration_s=5)
        reboot = sim.reboot(ours.vm.name, notice=NOTICE)
        wait(lambda: reboot.status == "Started", what="reboot acknowledged")
        assert reboot.not_before > time.time()
        wait(lambda: sim.vm(ours.vm.name).power == "running" and reboot.event_id not in str(
            sim.world.document(sim.vm(ours.vm.name))), what="VM back from its reboot")
        row = registered.node_row(ours.name)
        assert row["last_event_id"] == reboot.event_id and row["drained_at"], row
        assert kube.node(ours.name)["spec"].get("unschedulable")  # cordoned; back in service is not ours to say

        late_pods = kube.add_pods(ours.name, 2, owner="ReplicaSet/late")
        preempt = sim.preempt(ours.vm.name, notice=NOTICE)
        acked_before_not_before(sim, ours.vm, preempt)
    finally:
        result = watcher.stop()
    log = result.log
    for event in (freeze, reboot, preempt):
        assert "forwarded event %s" % event.event_id in log, log
    assert "acknowledged event %s (Reboot): every node it names is drained" % reboot.event_id in log, log
    assert "event %s is no longer listed" % reboot.event_id in log, log
    assert "acknowledged event %s (Preempt): every node it names is drained" % preempt.event_id in log, log
    assert "acknowledged event %s" % freeze.event_id not in log and freeze.status == "Scheduled"

    row = registered.node_row(ours.name)
    assert row["state"] == "deleted" and row["last_event_id"] == preempt.event_id, row
    assert not [p for p in kube.pods(ours.name) if p["metadata"]["name"] in late_pods]
