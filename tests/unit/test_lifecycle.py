"""The node lifecycle: one table of (move, from state) -> allowed, and what each move writes."""
from datetime import timedelta

import pytest

from nodepool.core.errors import IllegalTransition
from nodepool.core.model import NodeState as S
from nodepool.core.records import TRANSITIONS, NodeRecord
from tests.unit.fakes_world import NOW

ALL = set(S)
# What may happen from where; every (move, state) pair not listed is refused.
ALLOWED = {
    "join": ALL,
    "ready": {S.JOINING},
    "uncordon": {S.CORDONED, S.LEFT},
    "withdrawn": {S.CORDONED, S.DRAINING},
    "cordon": ALL - {S.DELETED},
    "leave": ALL,
    "drain": ALL,
    "drained": ALL,
    "removed": ALL,
    "stale": ALL - {S.NEW},
}
TARGET = {"join": S.JOINING, "ready": S.READY, "uncordon": S.READY, "withdrawn": S.READY, "cordon": S.CORDONED,
          "leave": S.LEFT,
          "drain": S.DRAINING, "drained": S.CORDONED, "removed": S.DELETED, "stale": S.DELETED}
DEADLINE = NOW + timedelta(seconds=30)
MOVES = {
    "join": lambda r: r.joined(instance_id="3", vm_id="vm-3", token_id="abcdef", now=NOW),
    "ready": lambda r: r.became_ready(NOW),
    "uncordon": lambda r: r.uncordoned(NOW),
    "withdrawn": lambda r: r.withdrawn(NOW),
    "cordon": lambda r: r.cordoned_for("E1", "Preempt", DEADLINE, NOW),
    "leave": lambda r: r.left("leave-abcdef", DEADLINE, NOW),
    "drain": lambda r: r.draining("E1", "Preempt", DEADLINE, NOW),
    "drained": lambda r: r.drained("E1", "Reboot", DEADLINE, NOW, removing=False, pods_left=0),
    "removed": lambda r: r.drained("E1", "Preempt", DEADLINE, NOW, removing=True, pods_left=0),
    "stale": lambda r: r.stale(NOW, "VM gone"),
}


def test_the_table_is_the_documented_one():
    assert {move: set(sources) for move, (sources, _) in TRANSITIONS.items()} == ALLOWED
    assert {move: to for move, (_, to) in TRANSITIONS.items()} == TARGET


@pytest.mark.parametrize("move", sorted(MOVES))
@pytest.mark.parametrize("state", sorted(S))
def test_each_move_from_each_state_is_made_or_refused(move, state):
    row = NodeRecord("agents000003", state)
    assert row.can(move) is (state in ALLOWED[move])
    if state in ALLOWED[move]:
        assert MOVES[move](row).state is TARGET[move]
    else:
        with pytest.raises(IllegalTransition):
            MOVES[move](row)


def test_a_new_event_clears_the_drain_recorded_for_an_earlier_one():
    drained = NodeRecord.new("n").draining("reboot-1", "Reboot", DEADLINE, NOW).drained(
        "reboot-1", "Reboot", DEADLINE, NOW, removing=False, pods_left=2)
    assert (drained.drained_at, drained.pods_left, drained.note) == (NOW, 2, "2 pods not evicted before the deadline")
    later = NOW + timedelta(minutes=5)
    cordoned = drained.cordoned_for("preempt-2", "Preempt", later, later)
    assert (cordoned.drain_started_at, cordoned.drained_at, cordoned.pods_left) == (None, None, None)
    assert (cordoned.last_event_id, cordoned.last_event_type, cordoned.deadline) == ("preempt-2", "Preempt", later)


def test_a_resumed_drain_keeps_its_start_time():
    started = NodeRecord.new("n").draining("E1", "Preempt", DEADLINE, NOW)
    resumed = started.draining("E1", "Preempt", DEADLINE, NOW + timedelta(seconds=10))
    assert resumed.drain_started_at == NOW and resumed.updated_at == NOW + timedelta(seconds=10)
