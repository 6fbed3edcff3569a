"""How many product modules a reader walks to follow a behaviour, measured by running it.

A preemption (POST /api/events to the Node's deletion) and a join (the nonce, then POST /api/join)
run through the real triggers and the real wiring over fakes, with every function call of every
thread recorded. What a reader walks is the trigger, the wiring and the capabilities' modules; the
shared core (model, records, errors, clock, audit) is read once for all behaviours and counted apart,
and the adapters sit behind ports (the fakes stand in for them here).
"""
from __future__ import annotations

import json
import sys
import threading
from datetime import timedelta
from pathlib import Path

import azure.functions as func

from functions.http_events import post_events
from functions.http_join import post_join, post_join_nonce
from localenv.devhost_process import ROOT
from nodepool import wiring
from nodepool.core.model import Role
from nodepool.fakes.attest import FakeAttestationVerifier, FakeNodeCredentials, FakeNonceStore
from nodepool.fakes.audit import FakeAuditLog
from nodepool.fakes.event_queue import FakeEventQueue
from nodepool.fakes.identity import FakeIdentity
from nodepool.fakes.kube import FakeKube
from nodepool.fakes.registry import FakeRegistry
from nodepool.fakes.scaleset import FakeScaleSet
from nodepool.settings import Settings
from tests.unit.fakes_world import NOW, ManualClock, Plane

APP = {"AzureWebJobsStorage": "UseDevelopmentStorage=true", "NODEPOOL_TENANT_ID": "t", "AZURE_SUBSCRIPTION_ID": "s",
       "NODEPOOL_RESOURCE_GROUP": "rg"}
MOST = 12  # modules outside the shared core a behaviour may take a reader through


def walked(action) -> set[str]:
    """The product modules (not the fakes, not the adapters) whose code ran during `action()`."""
    seen: set[str] = set()

    def record(frame, event, arg):
        if event == "call":
            path = Path(frame.f_code.co_filename)
            if path.is_relative_to(ROOT):
                seen.add(path.relative_to(ROOT).as_posix())

    sys.setprofile(record)
    threading.setprofile(record)
    try:
        action()
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
    return {m for m in seen if m.startswith(("nodepool/", "functions/"))
            and not m.startswith(("nodepool/fakes/", "nodepool/adapters/"))}


def outside_the_core(modules: set[str]) -> set[str]:
    return {m for m in modules if not m.startswith("nodepool/core/") and m != "nodepool/telemetry.py"}


class Cluster:
    def __init__(self):
        self.identity, self.kube, self.scaleset = FakeIdentity(), FakeKube(), FakeScaleSet("agents", capacity=1)
        self.services = wiring.Services(Settings.from_env(APP), clock=ManualClock(NOW), registry=FakeRegistry(),
                                        scaleset=self.scaleset, identity=self.identity, queue=FakeEventQueue(),
                                        kube_for=lambda cluster: self.kube, verifier=FakeAttestationVerifier("s"),
                                        nonces=FakeNonceStore(), credentials=FakeNodeCredentials(),
                                        audit=FakeAuditLog())
        Plane(registry=self.services.registry).register_master()
        [self.vm] = self.scaleset.instances().items
        self.kube.add_node(self.vm.name)

    def post(self, trigger, url: str, body: dict, credential: str | None = None) -> dict:
        headers = {"Authorization": self.identity.header(Role.AGENT), "X-Node-Credential": credential or ""}
        reply = trigger.build().get_user_function()(
            func.HttpRequest("POST", url, headers=headers, body=json.dumps(body).encode()))
        assert reply.status_code in (200, 202), reply.get_body()
        return json.loads(reply.get_body())

    def join(self) -> str:
        nonce = self.post(post_join_nonce, "/api/join/nonce", {"hostname": self.vm.name})["nonce"]
        document = FakeAttestationVerifier.document(self.vm.vm_id, nonce, NOW)
        return self.post(post_join, "/api/join", {"hostname": self.vm.name, "attested": document})["node_credential"]

    def preempt(self, credential: str) -> None:
        not_before = (NOW + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
        event = {"EventId": "E1", "EventType": "Preempt", "Resources": [self.vm.name], "EventStatus": "Scheduled",
                 "NotBefore": not_before}
        self.post(post_events, "/api/events", {"hostname": self.vm.name,
                                               "document": {"DocumentIncarnation": 1, "Events": [event]}}, credential)
        self.services.drains.shutdown()  # the drain the event started in-process has run to its end


def test_a_preemption_reads_in_the_drain_and_identity_packages():
    cluster = Cluster()
    wiring.install(cluster.services)
    try:
        credential = cluster.join()
        modules = walked(lambda: cluster.preempt(credential))
    finally:
        wiring.reset()
    assert cluster.kube.node(cluster.vm.name) is None  # the walk went all the way to the Node's deletion
    walk = outside_the_core(modules)
    assert len(walk) <= MOST, sorted(walk)
    assert {m.split("/")[1] for m in walk if m.startswith("nodepool/")} <= {"wiring.py", "drain", "identity"}, walk


def test_a_join_reads_in_the_join_and_identity_packages():
    cluster = Cluster()
    wiring.install(cluster.services)
    try:
        modules = walked(cluster.join)
    finally:
        wiring.reset()
    walk = outside_the_core(modules)
    assert len(walk) <= MOST, sorted(walk)
    assert {m.split("/")[1] for m in walk if m.startswith("nodepool/")} <= {"wiring.py", "join", "identity"}, walk
