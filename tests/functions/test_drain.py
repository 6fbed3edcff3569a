"""The `node-events` queue worker end to end: dev host + Azurite + simulator.

Faults come from the simulator (KubeSim faults) and from the host itself (SIGKILL). Queue
knobs are shortened for the poison test through the app settings the real host also reads
(`AzureFunctionsJobHost__extensions__queues__*`), never by editing host.json. The fault tests
run with NODEPOOL_DRAIN_WORKERS=0: no drain starts in-process, so the queue message (the durable
record behind every in-process start) is what they put through its retries.
"""
from __future__ import annotations

import pytest

from localenv.waiting import wait_for
from nodepool.drain.state import LEASE_S
from tests.functions.test_events import ENV, SIM, joined, start

QUEUE_ONLY = {"NODEPOOL_DRAIN_WORKERS": "0"}
# A failed message is visible again after 1 s; an idle queue is polled at least every 0.5 s.
FAST_RETRIES = {**QUEUE_ONLY,
    "AzureFunctionsJobHost__extensions__queues__visibilityTimeout": "00:00:01",
    "AzureFunctionsJobHost__extensions__queues__maxPollingInterval": "00:00:00.5",
}


def test_reboot_drains_but_keeps_the_node_cordoned(make_stack):
    events = start(make_stack)
    name = events.names()[0]
    events.kube.add_pods(name, 8)
    reboot = events.sim.reboot(name, notice=20)

    assert events.post(name).status_code == 202

    row = events.wait_row(name, state="cordoned", last_event_id=reboot.event_id, pods_left=0)
    assert row["last_event_type"] == "Reboot" and row["drained_at"]
    assert events.unschedulable(name)
    assert events.workload(name) == []  # only the DaemonSet pod stays
    assert events.kube.secret("kube-system", f"{name}.node-password.k3s") is not None  # it comes back as itself
    assert events.kube.requests["DELETE nodes"] == 0
    assert len(events.running_elsewhere("web", name)) == 8


def test_kubernetes_api_down_during_the_drain_is_retried_and_nothing_is_lost(make_stack):
    events = start(make_stack)
    name = events.names()[0]
    events.kube.add_pods(name, 10)
    preempt = events.sim.preempt(name, notice=30)
    events.kube.faults.fail(503, seconds=3, path="/pods")  # pod listing and evictions fail; the cordon works

    assert events.post(name).status_code == 202
    assert events.unschedulable(name)

    row = events.wait_row(name, state="deleted")
    assert events.kube.faults.counts["503"] > 1  # the outage was met, and met again on retry
    assert row["pods_left"] == 0 and events.kube.node(name) is None
    assert len(events.running_elsewhere("web", name)) == 10
    assert events.kube.requests["DELETE pods"] == 0
    assert events.drains_run(name, preempt.event_id) == 1  # retried inside the drain, not started again


@pytest.mark.slow  # the lease outlives the longest call a drain makes under it: LEASE_S (84 s)
@pytest.mark.timeout(240)
def test_a_worker_killed_mid_drain_is_taken_over_from_the_queue_and_the_drain_finished_once(make_stack):
    """The drain started in-process dies with its host; the queue message, visible after its delay,
    finds the lease run out and the new worker takes the drain over, with time left before NotBefore."""
    env = {**ENV, "DEVHOST_QUEUE_LEASE": "2"}  # a dead host's message is back in 2 s
    events = joined(make_stack(SIM, env, timers=True))
    name = events.names()[0]
    events.kube.add_pods(name, 10)
    preempt = events.sim.preempt(name, notice=LEASE_S + 60)
    events.kube.faults.fail(503, times=1_000_000, path="/eviction")  # the drain is stuck evicting

    assert events.post(name).status_code == 202
    first = events.wait_row(name, state="draining")
    wait_for(lambda: events.kube.faults.counts["503"] >= 2, what="the drain retrying its evictions")
    crashed_logs = events.host.logs()
    events.host.kill()
    events.kube.faults.clear()
    events.stack = events.stack.with_another_host()  # a new worker on the same storage

    row = events.wait_row(name, timeout=LEASE_S + 30, state="deleted")
    assert events.drain_attempts(name, preempt.event_id, crashed_logs) == []  # it ran in-process, not from the queue
    deliveries = events.drain_attempts(name, preempt.event_id)
    assert deliveries and set(deliveries) == {1}  # each message read once: put back while the lease lived
    assert events.drains_run(name, preempt.event_id) == 2  # the dead one, and the one that took its lease over
    assert row["drain_started_at"] == first["drain_started_at"]  # the same drain, continued
    assert row["pods_left"] == 0 and events.kube.node(name) is None
    assert len(events.running_elsewhere("web", name)) == 10
    served = events.kube.requests
    assert (served["PATCH nodes"], served["DELETE nodes"], served["DELETE pods"]) == (1, 1, 0)


def test_a_drain_that_always_fails_ends_in_the_poison_queue_and_the_node_shows_it(make_stack):
    events = start(make_stack, env=FAST_RETRIES)
    name = events.names()[0]
    events.kube.add_pods(name, 3)
    preempt = events.sim.preempt(name, notice=6)  # NotBefore - margin (5 s) comes at once: attempts fail fast
    events.kube.faults.fail(503, times=1_000_000, path="/pods")  # the Kubernetes API never lists or evicts

    assert events.post(name).status_code == 202

    row = events.wait_row(name, timeout=40, note=f"drain for {preempt.event_id} failed; message in node-events-poison")
    assert events.drain_attempts(name, preempt.event_id) == [1, 2, 3, 4, 5]
    assert "to queue 'node-events-poison' (reached maxDequeueCount 5)" in events.host.logs()
    assert row["state"] == "draining" and "drained_at" not in row
    listed = events.stack.call("GET", "nodes", who=None).json()["nodes"]
    assert [n["note"] for n in listed if n["name"] == name] == [row["note"]]
    assert events.kube.node(name) is not None  # nothing was deleted by a drain that never ran
