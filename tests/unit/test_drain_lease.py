"""Exactly one drain per event: the event row as the lease, over fakes with a manual clock."""
from datetime import timedelta

import pytest

from nodepool.core.model import NodeState
from nodepool.drain import state as L
from nodepool.drain.events import QUEUE_DELAY_MAX_S, record_events
from nodepool.drain.evict import DrainPolicy
from nodepool.drain.service import DrainService, Lease, LeaseLost
from nodepool.drain.state import DrainRequest, EventRecord
from nodepool.fakes.kube import FakeKube
from tests.unit.fakes_world import NOW, ManualClock, Plane
from tests.unit.test_events_service import event, report

NODE = "agents000000"


class Recorder:
    """A Starter that only remembers what it was asked to start."""
    starts = True

    def __init__(self):
        self.started: list[DrainRequest] = []

    def start(self, request: DrainRequest) -> None:
        self.started.append(request)


@pytest.fixture
def plane():
    plane = Plane()
    plane.register_master()
    plane.kube.add_node(NODE)
    plane.kube.add_pods(NODE, 20)
    return plane


def reported(plane: Plane, starter=None, at=NOW) -> dict:
    return record_events(plane.registry, plane.kube, plane.queue, report(NODE, event("E1")), "agents_0", at, starter)


def service(plane: Plane, clock: ManualClock) -> DrainService:
    return DrainService(plane.registry, plane.cluster, DrainPolicy(), clock)


def test_decide_by_status_and_lease():
    row = EventRecord(NODE, "E1", "Preempt", NOW, NOW + timedelta(seconds=30))
    assert L.decide(row, NOW) == L.TAKE
    held = L.claim(L.enqueued(row), "a", NOW)
    assert (held.status, held.owner, held.attempt) == (L.DRAINING, "a", 1)
    assert L.decide(held, NOW + timedelta(seconds=L.LEASE_S - 1)) == L.WAIT
    assert L.decide(held, NOW + timedelta(seconds=L.LEASE_S)) == L.TAKE
    assert L.decide(L.finished(held, NOW, pods_left=0, removed=True), NOW) == L.COMPLETE


def test_report_starts_the_drain_once_and_a_retry_returns_its_status(plane):
    starter = Recorder()
    first = reported(plane, starter)["events"][0]
    assert first["status"] == "enqueued" and [r.event_id for r in starter.started] == ["E1"]
    assert 0 < plane.queue.delays[0] <= QUEUE_DELAY_MAX_S  # the message is the fallback, not the start
    service(plane, ManualClock()).drain(starter.started[0], wait=False)
    again = reported(plane, starter, at=NOW + timedelta(seconds=5))["events"][0]
    assert (again["status"], again["pods_left"], again["duplicate"]) == ("done", 0, True)
    assert len(plane.queue.messages) == 1 and len(starter.started) == 1


def test_a_second_drain_of_one_event_keeps_the_first_ones_outcome(plane):
    """The app hung until after NotBefore: the real drain finds no time and leaves the Node, with its
    20 pods, cordoned (no word that its VM is gone); the later deliveries must not report 0 pods left."""
    reported(plane)
    request = DrainRequest.from_message(plane.queue.messages[0])
    late = ManualClock(NOW + timedelta(seconds=31))
    outcome = service(plane, late).drain(request)
    assert outcome["pods_left"] == 20 and plane.kube.node(NODE) is not None
    assert not [w for w in plane.kube.writes if w[0] in ("evict", "delete_node")]
    again = service(plane, late).drain(request)
    assert (again["status"], again["pods_left"]) == ("already drained", 20)
    row = plane.registry.node(NODE)
    assert (row.state, row.pods_left) == (NodeState.CORDONED, 20)
    assert plane.registry.event(NODE, "E1").attempt == 1


def test_the_queue_waits_for_a_live_lease_and_takes_over_a_dead_one(plane):
    reported(plane)
    row = plane.registry.event(NODE, "E1")
    plane.registry.save_event(L.claim(row, "crashed", NOW))  # a drain that died holding the lease
    clock = ManualClock()
    queued = DrainRequest.from_message(plane.queue.messages[0])  # a notice longer than the lease: time to take over
    request = DrainRequest(queued.node, queued.event_id, queued.type, NOW + timedelta(minutes=10))
    assert service(plane, clock).drain(request, wait=False)["status"] == "draining elsewhere"
    outcome = service(plane, clock).drain(request)
    assert clock.current >= NOW + timedelta(seconds=L.LEASE_S) and outcome["pods_left"] == 0
    taken = plane.registry.event(NODE, "E1")
    assert (taken.status, taken.attempt, taken.pods_left) == (L.DONE, 2, 0) and taken.owner != "crashed"


def test_a_drain_that_lost_its_lease_writes_no_outcome(plane):
    reported(plane)
    mine = Lease(plane.registry, plane.registry.save_event(L.claim(plane.registry.event(NODE, "E1"), "me", NOW)))
    later = NOW + timedelta(seconds=L.LEASE_S + 1)
    plane.registry.save_event(L.claim(plane.registry.event(NODE, "E1"), "other", later))
    with pytest.raises(LeaseLost):
        mine.finish(later, pods_left=7, removed=True)
    assert plane.registry.event(NODE, "E1").owner == "other" and plane.registry.event(NODE, "E1").pods_left is None


def test_a_crash_between_the_event_and_the_registry_row_is_completed_from_the_event(plane):
    reported(plane)
    row = L.claim(plane.registry.event(NODE, "E1"), "gone", NOW)
    plane.registry.save_event(L.finished(row, NOW + timedelta(seconds=4), pods_left=3, removed=True))
    answer = service(plane, ManualClock()).drain(DrainRequest.from_message(plane.queue.messages[0]))
    assert answer["status"] == "already drained"
    node = plane.registry.node(NODE)
    assert (node.state, node.pods_left, node.last_event_id) == (NodeState.DELETED, 3, "E1")


def test_a_failed_drain_gives_its_lease_up_for_the_next_delivery(plane):
    from nodepool.core.errors import Unavailable
    reported(plane)
    request = DrainRequest.from_message(plane.queue.messages[0])
    clock = ManualClock(NOW + timedelta(seconds=31))  # past the deadline: the first failure is final
    plane.kube.fail_next(Unavailable("api down"))
    with pytest.raises(Unavailable):
        service(plane, clock).drain(request)
    assert L.decide(plane.registry.event(NODE, "E1"), clock.now()) == L.TAKE  # no wait for the lease to run out
    assert service(plane, clock).drain(request)["pods_left"] == 20
    assert plane.registry.event(NODE, "E1").attempt == 2


def test_a_message_finding_a_live_lease_is_put_back_until_the_lease_would_run_out(plane):
    """Drains now last as long as their pods' grace periods: a queue trigger watching one would hold a
    worker thread (24 of them at once in a mass eviction, starving the reports still arriving)."""
    reported(plane)
    plane.registry.save_event(L.claim(plane.registry.event(NODE, "E1"), "alive", NOW))
    message = DrainRequest.from_message(plane.queue.messages[0])  # a notice longer than the lease
    request = DrainRequest(message.node, message.event_id, message.type, NOW + timedelta(minutes=10))
    clock = ManualClock()
    queued = DrainService(plane.registry, plane.cluster, DrainPolicy(), clock, queue=plane.queue)
    answer = queued.drain(request)
    assert answer["status"] == "draining elsewhere" and clock.slept == 0  # no thread held watching it
    assert plane.queue.messages[-1] == request.to_message() and L.LEASE_S + 1 <= plane.queue.delays[-1] <= L.LEASE_S + 2
    clock.advance(plane.queue.delays[-1])  # the holder died: the message back then takes over
    assert queued.drain(request)["pods_left"] == 0 and plane.registry.event(NODE, "E1").attempt == 2


def test_a_drain_left_waiting_for_its_pods_holds_its_lease_in_one_write_not_one_every_few_seconds():
    clock = ManualClock()
    plane = Plane(kube=FakeKube(clock))  # evicted pods take their whole grace period
    plane.register_master()
    plane.kube.add_node(NODE)
    plane.kube.add_pods(NODE, 3)
    reported(plane)
    writes = []
    save = plane.registry.save_event
    plane.registry.save_event = lambda row: writes.append(row.lease_until) or save(row)
    outcome = service(plane, clock).drain(DrainRequest.from_message(plane.queue.messages[0]))
    assert outcome["pods_left"] == outcome["pods_terminating"] == 0 and outcome["node_deleted"]
    assert len(writes) <= 5  # claim, hold for the grace period, the renewal before the delete, finish
    assert any(until and until >= NOW + timedelta(seconds=27) for until in writes)
