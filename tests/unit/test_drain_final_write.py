"""A drain whose work is done does not stay `draining` because its last registry write failed once."""
from datetime import timedelta

import pytest

from nodepool.core.errors import Unavailable
from nodepool.core.model import NodeState
from nodepool.drain.evict import FINAL_WRITE_BUDGET_S, Drainer, DrainPolicy
from nodepool.drain.state import DrainRequest
from tests.unit.fakes_world import NOW, ManualClock, Plane

NODE = "agents000000"


def storage_failing_final_writes(plane: Plane, monkeypatch, times: int) -> list[NodeState]:
    """save_node refuses the first `times` writes of a finished drain (state past DRAINING)."""
    save, seen = plane.registry.save_node, []

    def flaky(record):
        seen.append(record.state)
        if record.state is not NodeState.DRAINING and seen.count(record.state) <= times:
            raise Unavailable("storage restarting")
        return save(record)

    monkeypatch.setattr(plane.registry, "save_node", flaky)
    return seen


def drain(plane: Plane, clock: ManualClock) -> dict:
    drainer = Drainer(plane.registry, plane.kube, DrainPolicy(), clock)
    return drainer.drain(DrainRequest(NODE, "E1", "Preempt", NOW + timedelta(seconds=30)))


@pytest.fixture
def plane():
    plane = Plane()
    plane.kube.add_node(NODE, unschedulable=True)
    plane.kube.add_pods(NODE, 3)
    return plane


def test_a_failed_final_write_is_retried_in_place_and_the_row_shows_the_outcome(plane, monkeypatch):
    seen = storage_failing_final_writes(plane, monkeypatch, times=3)
    clock = ManualClock()
    assert drain(plane, clock)["pods_left"] == 0
    row = plane.registry.node(NODE)
    assert (row.state, row.last_event_id, row.drained_at is not None) == (NodeState.DELETED, "E1", True)
    assert seen.count(NodeState.DELETED) == 4  # three refused, the fourth landed
    assert clock.slept < FINAL_WRITE_BUDGET_S  # well before the queue's redelivery would


def test_storage_down_past_the_budget_fails_the_message_and_the_redelivery_finishes(plane, monkeypatch):
    storage_failing_final_writes(plane, monkeypatch, times=10_000)
    with pytest.raises(Unavailable):
        drain(plane, ManualClock())
    assert plane.registry.node(NODE).state is NodeState.DRAINING
    monkeypatch.undo()
    assert drain(plane, ManualClock())["pods_left"] == 0
    assert plane.registry.node(NODE).state is NodeState.DELETED
