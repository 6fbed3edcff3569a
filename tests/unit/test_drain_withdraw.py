"""An event Azure withdrew before it started: its drain stops, its cordon goes, nothing is deleted."""
from datetime import timedelta

from nodepool.core.model import NodeState
from nodepool.drain.events import record_events
from nodepool.drain.evict import DrainPolicy
from nodepool.drain.service import DrainService
from nodepool.drain.state import WITHDRAWN, DrainRequest
from nodepool.drain.withdraw import withdraw
from nodepool.fakes.kube import FakeKube
from tests.unit.fakes_world import NOW, ManualClock, Plane
from tests.unit.test_events_service import event, report

NODE = "agents000000"


class WithdrawnAt(ManualClock):
    """Azure withdraws the event `at_s` seconds in, while the drain sleeps between passes."""

    def __init__(self, at_s: float):
        super().__init__()
        self.at, self.plane = NOW + timedelta(seconds=at_s), None

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if self.plane is not None and self.current >= self.at:
            plane, self.plane = self.plane, None
            withdraw(plane.registry, plane.kube, NODE, "E1", self.current)


def preempted(clock: ManualClock) -> tuple[Plane, DrainRequest]:
    plane = Plane(kube=FakeKube(clock))  # evicted pods take their whole grace period to go
    plane.register_master()
    plane.kube.add_node(NODE)
    plane.kube.add_pods(NODE, 4)
    record_events(plane.registry, plane.kube, plane.queue, report(NODE, event("E1")), "agents_0", NOW)
    return plane, DrainRequest.from_message(plane.queue.messages[0])


def test_a_drain_whose_event_is_withdrawn_stops_and_the_node_is_back_in_service():
    clock = WithdrawnAt(5)
    plane, request = preempted(clock)
    clock.plane = plane
    outcome = DrainService(plane.registry, plane.cluster, DrainPolicy(), clock).drain(request)
    assert outcome["status"] == "withdrawn"
    assert plane.kube.node(NODE) is not None and not plane.kube.node(NODE).unschedulable
    assert not [w for w in plane.kube.writes if w[0] in ("delete_node", "delete_secret")]
    row = plane.registry.node(NODE)
    assert (row.state, row.drained_at) == (NodeState.READY, None)
    assert plane.registry.event(NODE, "E1").status == WITHDRAWN
    assert clock.now() < NOW + timedelta(seconds=30)  # at the latest its renewal before the Node delete


def test_a_withdrawn_event_never_starts_a_drain():
    clock = ManualClock()
    plane, request = preempted(clock)
    answer = withdraw(plane.registry, plane.kube, NODE, "E1", NOW)
    assert answer == {"event_id": "E1", "status": WITHDRAWN, "uncordoned": True}
    assert DrainService(plane.registry, plane.cluster, DrainPolicy(), clock).drain(request)["status"] == "withdrawn"
    assert not [w for w in plane.kube.writes if w[0] == "evict"]


def test_withdrawing_after_the_node_was_deleted_leaves_it_to_reconcile():
    clock = ManualClock()
    plane, request = preempted(clock)
    DrainService(plane.registry, plane.cluster, DrainPolicy(), clock).drain(request)
    assert plane.kube.node(NODE) is None
    assert withdraw(plane.registry, plane.kube, NODE, "E1", clock.now())["uncordoned"] is False
    assert plane.registry.node(NODE).state is NodeState.DELETED


def test_an_unknown_event_id_changes_nothing():
    plane = Plane()
    assert withdraw(plane.registry, plane.kube, NODE, "nope", NOW) == {"event_id": "nope", "status": "unknown"}
