"""POST /api/events logic over fakes: mine only, once per EventId, cordon + enqueue."""
from datetime import timedelta

import pytest

from nodepool.core.errors import Unavailable
from nodepool.core.model import NodeState
from nodepool.drain.events import record_events
from nodepool.drain.report import EventReport
from tests.unit.fakes_world import NOW, Plane

NOT_BEFORE = "Wed, 25 Nov 2026 12:00:30 GMT"


def report(host: str, *events: dict, incarnation: int = 1) -> EventReport:
    return EventReport.from_json({"hostname": host, "document": {"DocumentIncarnation": incarnation,
                                                                 "Events": list(events)}})


def event(event_id: str, kind: str = "Preempt", resources=("agents_0",), not_before: str = NOT_BEFORE) -> dict:
    return {"EventId": event_id, "EventType": kind, "ResourceType": "VirtualMachine", "Resources": list(resources),
            "EventStatus": "Scheduled", "NotBefore": not_before, "Description": "", "EventSource": "Platform",
            "DurationInSeconds": -1}


@pytest.fixture
def plane():
    plane = Plane()
    plane.kube.add_node("agents000000")
    return plane


def record(plane: Plane, rep: EventReport):
    return record_events(plane.registry, plane.kube, plane.queue, rep, "agents_0", NOW)


def test_preempt_cordons_enqueues_the_drain_and_answers_the_deadline(plane):
    answer = record(plane, report("agents000000", event("E1")))
    deadline = (NOW + timedelta(seconds=30)).isoformat()
    assert answer["events"] == [{"event_id": "E1", "type": "Preempt", "deadline": deadline, "action": "drain",
                                 "status": "enqueued"}]
    assert plane.kube.node("agents000000").unschedulable
    assert plane.queue.messages == [{"node": "agents000000", "event_id": "E1", "type": "Preempt",
                                     "not_before": deadline, "deadline": deadline}]
    assert plane.registry.node("agents000000").state is NodeState.CORDONED


def test_a_duplicate_event_gets_the_earlier_answer_and_no_second_drain(plane):
    first = record(plane, report("agents000000", event("E1")))
    again = record(plane, report("agents000000", event("E1"), incarnation=2))
    assert again["events"] == [{**first["events"][0], "duplicate": True}]
    assert len(plane.queue.messages) == 1


def test_events_for_another_instance_are_ignored(plane):
    answer = record(plane, report("agents000000", event("E9", resources=["agents_7"])))
    assert answer["events"] == [] and answer["ignored"] == 1
    assert plane.queue.messages == [] and not plane.kube.node("agents000000").unschedulable


def test_freeze_is_recorded_only(plane):
    answer = record(plane, report("agents000000", event("F1", "Freeze")))
    assert answer["events"][0]["action"] == "record"
    assert plane.registry.event("agents000000", "F1").type == "Freeze"
    assert plane.queue.messages == [] and not plane.kube.node("agents000000").unschedulable


def test_out_of_order_events_are_each_handled_once(plane):
    record(plane, report("agents000000", event("E2", "Reboot"), incarnation=3))
    record(plane, report("agents000000", event("E1", "Redeploy"), event("E2", "Reboot"), incarnation=2))
    assert [m["event_id"] for m in plane.queue.messages] == ["E2", "E1"]


def test_a_request_that_failed_half_way_is_finished_by_the_retry(plane):
    plane.queue.fail_next(Unavailable("queue down"))
    with pytest.raises(Unavailable):
        record(plane, report("agents000000", event("E1")))
    assert not plane.registry.event("agents000000", "E1").enqueued
    record(plane, report("agents000000", event("E1")))
    assert len(plane.queue.messages) == 1 and plane.registry.event("agents000000", "E1").enqueued


def test_a_started_event_is_due_now():
    rep = report("agents000000", {**event("E1"), "EventStatus": "Started", "NotBefore": ""})
    assert rep.mine("agents_0")[0].deadline(NOW) == NOW


def test_a_malformed_event_of_another_vm_does_not_refuse_ours(plane):
    odd = {"EventId": "X", "EventType": "SomethingNew", "Resources": ["agents_7"], "NotBefore": "soon"}
    answer = record(plane, report("agents000000", odd, event("E1")))
    assert [e["event_id"] for e in answer["events"]] == ["E1"] and answer["ignored"] == 1


def test_the_row_is_marked_before_the_drain_is_enqueued(plane):
    plane.queue.fail_next(Unavailable("queue down"))
    with pytest.raises(Unavailable):
        record(plane, report("agents000000", event("E1")))
    assert plane.registry.node("agents000000").last_event_id == "E1"  # a drain starting now finds its event


def test_an_event_type_we_do_not_know_is_ignored_and_the_preempt_beside_it_drained(plane):
    """Azure may add a type; one unknown event of ours must not refuse the report (it used to: 400)."""
    answer = record(plane, report("agents000000", event("N1", "SomethingNew"), event("E1")))
    assert [e["event_id"] for e in answer["events"]] == ["E1"]
    assert answer["unknown"] == [{"event_id": "N1", "type": "SomethingNew"}]
    assert plane.kube.node("agents000000").unschedulable and len(plane.queue.messages) == 1


def test_a_placement_group_of_many_vms_fits_in_one_report(plane):
    """The whole document of 100+ VMs' events (it used to be refused over 150 events)."""
    others = [event(f"O{i}", resources=[f"agents_{i + 10}"]) for i in range(300)]
    answer = record(plane, report("agents000000", *others, event("E1")))
    assert [e["event_id"] for e in answer["events"]] == ["E1"] and answer["ignored"] == 300


def test_an_event_naming_several_of_our_vms_records_them_all(plane):
    plane.kube.add_node("agents000001")
    answer = record_events(plane.registry, plane.kube, plane.queue,
                           report("agents000000", event("R1", "Reboot", resources=["agents_0", "agents_1", "other_3"])),
                           "agents_0", NOW, listed=lambda names: [n for n in ("agents000000", "agents000001")])
    assert answer["events"][0]["status"] == "enqueued"
    assert plane.registry.event("agents000000", "R1").nodes == ("agents000000", "agents000001")
