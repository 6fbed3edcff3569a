"""Short spot notices end to end: the simulator's IMDS, the real `agent watch`, the real app.

Each case preempts one joined VM running 20 pods (3 behind a PDB with maxUnavailable 1, pods
taking 0.5 s to stop) and checks what must hold whatever the machine's load: the app heard of
the event, the VM was acknowledged (only once drained) or went at NotBefore, the Node was deleted
(once its pods were gone, or its VM was), exactly one drain ran (the event row's lease: one
attempt, done), and the registry's pods_left is what really stayed on the Node. How many pods
made it out in time is the benchmark's to measure (tests/bench/preempt.py), not a pass/fail
condition here.
"""
from __future__ import annotations

import time

import pytest

from nodepool.settings import Settings
from nodepool.wiring import Services
from tests.agent.conftest import node_on  # noqa: F401  (a fixture)
from tests.agent.integration import Background, wait
from tests.bench._preempt_figures import Observer

WATCH = ("watch", "--poll-interval", "0.5")


@pytest.fixture
def pool(make_stack):
    stack = make_stack(sim_options={"kube_options": {"terminate_s": 0.5}})
    stack.register_master()
    return stack


@pytest.fixture
def cluster(pool):  # what node_on builds on
    return pool


def seeded(stack, node) -> set[str]:
    kube = stack.sim.kube
    node.join()
    names = kube.add_pods(node.name, 3, owner="StatefulSet/db", requests={"cpu": "50m"})
    kube.add_pdb("db", selector={"app": "db"}, max_unavailable=1)
    return set(names) | set(kube.add_pods(node.name, 17, owner="ReplicaSet/web", requests={"cpu": "50m"}))


def settled(stack, node, event) -> dict:
    """Wait until the registry row says this event's drain finished; the row."""
    def done():
        row = stack.node_row(node.name) or {}
        return row if row.get("last_event_id") == event.event_id and row.get("drained_at") else None
    return wait(done, 30, what="drain of %s recorded" % event.event_id)


@pytest.fixture
def observe(pool):
    """observe(): from now on, what KubeSim serves (the preempt benchmark's observer: evictions per
    node, Node deletes), so that the join's own requests are not counted."""
    observers = []

    def start() -> Observer:
        observers.append(Observer(pool.sim, {vm.computer_name for vm in pool.sim.vms}))
        return observers[-1]
    yield start
    for observer in observers:
        observer.close()


def assert_one_consistent_drain(stack, observer, node, event, pods: set[str]) -> None:
    row = settled(stack, node, event)
    assert row["state"] == "deleted" and stack.sim.kube.node(node.name) is None, row
    assert row.get("pods_left", 0) == len(pods) - observer.evicted_on(node.name), row
    assert observer.extra_drains(node.name) == 0 and observer.duplicates() == 0
    lease = Services(Settings.from_env(stack.app_env)).registry.event(node.name, event.event_id)
    assert (lease.status, lease.attempt, lease.pods_left) == ("done", 1, row.get("pods_left", 0)), lease


def watched(stack, node, notice: float):
    watcher = Background(node, *WATCH)
    try:
        event = stack.sim.preempt(node.vm.name, notice=notice)
        wait(lambda: event.status == "Started" or time.time() > event.not_before + 1, notice + 10,
             what="event %s acknowledged or due" % event.event_id)
    finally:
        result = watcher.stop()
    return event, result.log


@pytest.mark.parametrize("notice", [3.0, 8.0])
def test_a_short_notice_is_forwarded_then_drained_once_and_recorded_truthfully(pool, observe, node_on, notice):  # noqa: F811 (the fixture)
    node = node_on(0)
    pods, observed = seeded(pool, node), observe()
    event, log = watched(pool, node, notice)
    assert "forwarded event %s (Preempt)" % event.event_id in log, log
    assert_one_consistent_drain(pool, observed, node, event, pods)


def test_app_down_nothing_is_acknowledged_and_azure_proceeds_at_not_before(pool, node_on):  # noqa: F811 (the fixture)
    """The old agent acknowledged an undrained event up to 5 s before NotBefore: time given away."""
    node = node_on(0)
    node.join()
    pool.host.kill()
    event, log = watched(pool, node, 3.0)
    assert event.status == "Started" and time.time() >= event.not_before, log
    assert "acknowledged event %s" % event.event_id not in log and "unreachable" in log, log


def test_app_hung_until_after_not_before_drains_once_with_the_real_outcome(pool, observe, node_on):  # noqa: F811 (the fixture)
    """The agent's retries queue up in the hung host's backlog; when it resumes they all arrive,
    past NotBefore: one drain deletes the Node at once, the others return its status."""
    node = node_on(0)
    pods, observed = seeded(pool, node), observe()
    pool.host.pause()
    try:
        event, log = watched(pool, node, 8.0)
        wait(lambda: time.time() > event.not_before + 1, 15, what="NotBefore passed")
    finally:
        pool.host.resume()
    assert_one_consistent_drain(pool, observed, node, event, pods)
    row = pool.node_row(node.name)
    assert row["pods_left"] == len(pods), row  # nothing could be evicted: the VM had gone
