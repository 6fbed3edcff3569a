
"""The autoscaler's Preempt notices (events table) and scale-down drains (cordon + drain queue) over fakes,
and its wiring in the composition root."""
import json
from datetime import timedelta

import pytest

from nodepool import wiring
from nodepool.autoscale.drain_path import EventTablePreemptNotices, QueuedScaleDownDrains
from nodepool.core.errors import Unavailable
from nodepool.core.model import NodeState
from nodepool.core.records import NodeRecord
from nodepool.drain.state import DrainRequest, EventRecord
from nodepool.fakes.autoscale_scaleset import FakePoolScaleSet
from nodepool.fakes.autoscale_store import FakeAutoscaleStore
from nodepool.fakes.event_queue import FakeEventQueue
from nodepool.fakes.kube import FakeKube
from nodepool.fakes.registry import FakeRegistry
from nodepool.settings import Settings
from tests.unit.fakes_world import NOW, ManualClock

TIMEOUT = timedelta(minutes=10)


def event(node: str, kind: str, deadline_in_s: float, event_id: str = "E1") -> EventRecord:
    return EventRecord(node, event_id, kind, NOW - timedelta(seconds=5), NOW + timedelta(seconds=deadline_in_s))


def test_preempt_notices_are_the_nodes_with_a_recent_preempt_only():
    registry = FakeRegistry()
    for record in (event("spot000001", "Preempt", 25), event("spot000002", "Reboot", 25),
                   event("spot000003", "Preempt", -600), event("spot000004", "Preempt", -60)):
        registry.add_event(record)
    assert EventTablePreemptNotices(registry, NOW).preempting().items == ("spot000001", "spot000004")


def test_preempt_notices_that_cannot_be_read_are_an_incomplete_listing():
    registry = FakeRegistry()
    registry.events_received = lambda **bounds: (_ for _ in ()).throw(Unavailable("table storage down"))
    snapshot = EventTablePreemptNotices(registry, NOW).preempting()
    assert not snapshot.complete and "table storage down" in snapshot.error


def drains(kube=None):
    registry, queue = FakeRegistry(), FakeEventQueue()
    return registry, queue, QueuedScaleDownDrains(registry, kube, queue, NOW, TIMEOUT)


def test_a_scale_down_cordons_records_the_row_then_queues_a_scale_down_drain():
    kube = FakeKube()
    kube.add_node("spot000001")
    registry, queue, port = drains(kube)
    port.start("spot000001", "requests 10% of allocatable")
    assert kube.node("spot000001").unschedulable
    row = registry.node("spot000001")
    assert (row.state, row.last_event_type, row.deadline) == (NodeState.CORDONED, "ScaleDown", NOW + TIMEOUT)
    [message] = queue.messages
    request = DrainRequest.from_message(json.loads(json.dumps(message)))
    assert (request.node, request.type, request.event_id) == ("spot000001", "ScaleDown", row.last_event_id)


def test_cancel_uncordons_only_a_node_whose_last_event_is_our_scale_down():
    kube = FakeKube()
    kube.add_node("spot000001")
    kube.add_node("spot000002", unschedulable=True)
    registry, _, port = drains(kube)
    port.start("spot000001", "idle")
    registry.save_node(NodeRecord("spot000002", NodeState.CORDONED, last_event_id="E9", last_event_type="Preempt"))
    port.cancel("spot000001")
    port.cancel("spot000002")
    assert not kube.node("spot000001").unschedulable and registry.node("spot000001").state is NodeState.READY
    assert kube.node("spot000002").unschedulable  # a Preempt's cordon is not ours to lift


def test_removed_deletes_the_node_and_its_password_and_marks_our_row_deleted():
    kube = FakeKube()
    kube.add_node("spot000001")
    kube.add_secret("kube-system", "spot000001.node-password.k3s")
    registry, _, port = drains(kube)
    port.start("spot000001", "idle")
    port.removed("spot000001")
    assert kube.node("spot000001") is None and kube.secret("kube-system", "spot000001.node-password.k3s") is None
    assert registry.node("spot000001").state is NodeState.DELETED


def test_without_a_kubernetes_client_a_scale_down_does_not_start():
    registry, queue, port = drains(None)
    with pytest.raises(Unavailable):
        port.start("spot000001", "idle")
    assert queue.messages == [] and registry.node("spot000001") is None


def test_the_wired_autoscaler_without_a_registered_cluster_does_nothing():
    pools = [{"name": "spot", "scale_set": "agents", "vm_size": "D4", "cpu": "4", "memory": "16Gi"}]
    env = {"AzureWebJobsStorage": "UseDevelopmentStorage=true", "NODEPOOL_AUTOSCALE_ENABLED": "true",
           "NODEPOOL_AUTOSCALE_POOLS": json.dumps(pools)}
    sets = {}
    services = wiring.Services(Settings.from_env(env), clock=ManualClock(NOW),
                               registry=FakeRegistry(), queue=FakeEventQueue(),
                               pool_scaleset=lambda name: sets.setdefault(name, FakePoolScaleSet(name, 1)),
                               autoscale_store=FakeAutoscaleStore())
    report = services.autoscaler(NOW).tick(NOW)
    assert report.blocked and "no registered cluster" in report.blocked
    assert list(sets) == ["agents"]
    assert services.autoscaler(NOW).memory is services.autoscaler(NOW).memory  # a dry run's state lasts the worker
