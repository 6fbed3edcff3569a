"""When an agent may acknowledge its event (drain/release.py): only once every node of ours the
event names is drained, its pods gone. Azure: "Acknowledging an event allows the event to proceed
for all Resources in the event, not just the VM that acknowledges the event"."""
from datetime import timedelta

import pytest

from nodepool.core.records import NodeRecord
from nodepool.drain import state as L
from nodepool.drain.release import acknowledgeable
from nodepool.drain.state import EventRecord, may_acknowledge
from nodepool.fakes.registry import FakeRegistry
from tests.unit.fakes_world import NOW

DEADLINE = NOW + timedelta(minutes=10)


def done(node: str, event_id: str = "R1", *, listed: str = "", pods_left: int = 0, terminating: int = 0,
         kind: str = "Reboot") -> EventRecord:
    row = EventRecord(node, event_id, kind, NOW, DEADLINE, DEADLINE, listed=listed)
    return L.finished(L.claim(L.enqueued(row), "me", NOW), NOW, pods_left=pods_left, removed=False,
                      terminating=terminating)


@pytest.mark.parametrize("rows, ok", [
    ([done("a")], True),
    ([done("a"), done("b")], True),
    ([done("a"), None], False),                                   # b's agent has not even reported it
    ([done("a"), L.enqueued(EventRecord("b", "R1", "Reboot", NOW, DEADLINE))], False),  # b still draining
    ([done("a", pods_left=1)], False),                            # a PDB kept a pod: not drained
    ([done("a", terminating=2)], False),                          # pods still terminating: not drained
    ([], False),
])
def test_an_event_may_be_acknowledged_only_when_all_its_nodes_are_drained(rows, ok):
    assert may_acknowledge(rows) is ok


def node_row(name: str, event_id: str = "R1", kind: str = "Reboot") -> NodeRecord:
    row = NodeRecord.new(name).draining(event_id, kind, DEADLINE, NOW)
    return row.drained(event_id, kind, DEADLINE, NOW, removing=False, pods_left=0)


def test_the_first_node_drained_waits_for_the_other_one_the_event_names():
    registry = FakeRegistry()
    registry.add_event(done("a", listed="b"))
    assert acknowledgeable(registry, node_row("a")) is None
    registry.add_event(L.claim(L.enqueued(EventRecord("b", "R1", "Reboot", NOW, DEADLINE, listed="a")), "x", NOW))
    assert acknowledgeable(registry, node_row("a")) is None
    registry.save_event(done("b", listed="a"))
    assert acknowledgeable(registry, node_row("a")) == "R1"
    assert acknowledgeable(registry, node_row("b")) == "R1"


def test_a_drain_in_progress_or_a_leave_is_never_acknowledged():
    registry = FakeRegistry()
    registry.add_event(done("a"))
    draining = NodeRecord.new("a").draining("R1", "Reboot", DEADLINE, NOW)
    assert acknowledgeable(registry, draining) is None
    registry.add_event(done("a", "leave-x", kind="Leave"))
    assert acknowledgeable(registry, node_row("a", "leave-x", "Leave")) is None
