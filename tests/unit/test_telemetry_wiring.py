
"""Telemetry wired at the service boundaries: the wired services' calls make the spans and metrics
of nodepool/telemetry.py, checked with OpenTelemetry's in-memory exporter and reader."""
from __future__ import annotations

from nodepool import wiring
from nodepool.fakes.attest import FakeAttestationVerifier, FakeNodeCredentials, FakeNonceStore
from nodepool.fakes.audit import FakeAuditLog
from nodepool.fakes.decisions import FakeDecisionLog
from nodepool.fakes.event_queue import FakeEventQueue
from nodepool.fakes.kube import FakeKube
from nodepool.fakes.queues import FakeQueues
from nodepool.fakes.registry import FakeRegistry
from nodepool.fakes.scaleset import FakeScaleSet
from nodepool.fakes.tickstate import FakeTickStore
from nodepool.identity.guard import NodeClaim
from nodepool.settings import Settings
from tests.unit.fakes_world import AGENT, NOW, ManualClock, Plane
from tests.unit.test_telemetry import _points, otel  # noqa: F401  (the fixture)
from tests.unit.test_wiring import APP, joined, preempt


def joined_and_preempted(telemetry):
    """One node joins (attested), its Node registers, a Preempt is reported; the drain it started has finished."""
    kube, scaleset = FakeKube(), FakeScaleSet("agents", capacity=2)
    services = wiring.Services(Settings.from_env(APP), clock=ManualClock(NOW),
                               registry=FakeRegistry(), scaleset=scaleset,
                               queue=FakeEventQueue(), peek=FakeQueues(), tick_store=FakeTickStore(),
                               kube_for=lambda cluster: kube, decisions=FakeDecisionLog(), telemetry=telemetry,
                               verifier=FakeAttestationVerifier(APP["AZURE_SUBSCRIPTION_ID"]),
                               nonces=FakeNonceStore(), credentials=FakeNodeCredentials(), audit=FakeAuditLog())
    Plane(registry=services.registry).register_master()
    [instance, _] = scaleset.instances().items
    hosts = [instance.name]
    credential = joined(services, instance.name, instance.vm_id)
    kube.add_node(hosts[0])
    services.events.record(preempt(hosts[0], "agents_0"), NOW, NodeClaim(AGENT, credential))
    services.drains.shutdown()  # the in-process drain (started by the event) did the work
    return services, hosts


def test_join_event_and_tick_make_their_spans_and_metrics(otel):  # noqa: F811
    telemetry, spans, reader = otel
    services, hosts = joined_and_preempted(telemetry)
    services.reconciler(NOW).tick(NOW)
    names = [s.name for s in spans.get_finished_spans()]
    assert {"join", "event", "reconcile.tick"} <= set(names), names
    join = next(s for s in spans.get_finished_spans() if s.name == "join")
    assert join.attributes["node"] == hosts[0]
    points = _points(reader)
    assert sum(p.value for p in points["nodepool.joins"]) == 1
    assert points["nodepool.cordon.latency"][0].count == 1


def test_a_drain_is_measured_once_even_when_the_queue_delivers_it_again(otel):  # noqa: F811
    from nodepool.drain.state import DrainRequest

    telemetry, spans, reader = otel
    services, hosts = joined_and_preempted(telemetry)
    request = DrainRequest.from_message(services.queue.messages[0])
    assert services.drains.drain(request)["status"] == "already drained"  # the queue's copy: nothing to do
    assert [s.attributes["node"] for s in spans.get_finished_spans() if s.name == "drain"][-1] == hosts[0]
    points = _points(reader)
    assert [p.count for p in points["nodepool.drain.pods_left"]] == [1]  # the drain that ran, counted once
    assert [p.sum for p in points["nodepool.drain.pods_left"]] == [0]
