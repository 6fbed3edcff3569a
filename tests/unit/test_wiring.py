
"""The composition root over fakes (typed overrides), and settings checked at start-up."""
import json
import logging
from dataclasses import replace
from datetime import timedelta

import azure.functions as func
import pytest

from devhost.app_index import index_app as devhost_index
from functions.http import status_of
from functions.http_health import healthz
from functions.http_join import post_join
from localenv.devhost_process import ROOT
from nodepool import wiring
from nodepool.core.errors import (
    AlreadyExists,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotFound,
    Throttled,
    Unavailable,
)
from nodepool.core.model import NodeState
from nodepool.drain.report import EventReport
from nodepool.fakes.attest import FakeAttestationVerifier, FakeNodeCredentials, FakeNonceStore
from nodepool.fakes.audit import FakeAuditLog
from nodepool.fakes.event_queue import FakeEventQueue
from nodepool.fakes.kube import FakeKube
from nodepool.fakes.registry import FakeRegistry
from nodepool.fakes.scaleset import FakeScaleSet
from nodepool.identity.guard import NodeClaim
from nodepool.join.request import JoinRequest
from nodepool.settings import InvalidSettings, Settings
from tests.unit.fakes_world import AGENT, NOW, ManualClock, Plane

STORAGE = {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}
APP = {**STORAGE, "NODEPOOL_TENANT_ID": "t", "AZURE_SUBSCRIPTION_ID": "s", "NODEPOOL_RESOURCE_GROUP": "rg"}


def preempt(host: str, *resources: str) -> EventReport:
    event = {"EventId": "E1", "EventType": "Preempt", "Resources": list(resources), "EventStatus": "Scheduled",
             "NotBefore": "Wed, 25 Nov 2026 12:00:30 GMT"}
    return EventReport.from_json({"hostname": host, "document": {"DocumentIncarnation": 1, "Events": [event]}})


def wired(scaleset: FakeScaleSet, kube: FakeKube) -> wiring.Services:
    return wiring.Services(Settings.from_env({**APP, "NODEPOOL_SCALE_SET": scaleset.name}), clock=ManualClock(NOW),
                           registry=FakeRegistry(), scaleset=scaleset, queue=FakeEventQueue(),
                           kube_for=lambda cluster: kube,
                           verifier=FakeAttestationVerifier(APP["AZURE_SUBSCRIPTION_ID"]),
                           nonces=FakeNonceStore(), credentials=FakeNodeCredentials(), audit=FakeAuditLog())


def joined(services: wiring.Services, host: str, vm_id: str) -> str:
    """An attested join through the wired services: the node credential it returned."""
    nonce = services.joins.nonce(AGENT, host, NOW)["nonce"]
    request = JoinRequest(host, attested=FakeAttestationVerifier.document(vm_id, nonce, NOW))
    return services.joins.join(AGENT, request, NOW)["node_credential"]


def test_events_match_the_vm_name_whatever_its_case_through_the_wired_services():
    kube, scaleset = FakeKube(), FakeScaleSet("k3sagents", capacity=1)
    services = wired(scaleset, kube)
    Plane(registry=services.registry).register_master()
    [instance] = scaleset.instances().items
    host = instance.name
    kube.add_node(host)
    credential = joined(services, host, instance.vm_id)
    answer = services.events.record(preempt(host, "K3sAgents_0"), NOW, NodeClaim(AGENT, credential))
    assert answer["ignored"] == 0 and [e["event_id"] for e in answer["events"]] == ["E1"]
    services.drains.shutdown()  # the wired services start the drain at once, in-process
    assert [w for w in kube.writes if w[0].endswith("_node")] == [("patch_node", host), ("delete_node", host)]
    assert services.registry.node(host).state is NodeState.DELETED
    assert services.registry.event(host, "E1").status == "done"
    assert services.queue.messages[0]["not_before"] == (NOW + timedelta(seconds=30)).isoformat()


def test_mine_compares_resource_names_case_insensitively():
    assert [e.event_id for e in preempt("agents000003", "K3sAgents_3").mine("k3sagents_3")] == ["E1"]
    assert preempt("agents000003", "K3sAgents_4").mine("k3sagents_3") == ()


@pytest.mark.parametrize("env, named", [
    ({**APP, "NODEPOOL_NODE_LABELS": "bad label"}, "NODEPOOL_NODE_LABELS"),
    ({**APP, "NODEPOOL_NODE_TAINTS": "dedicated=x:Sometimes"}, "NODEPOOL_NODE_TAINTS"),
    ({**APP, "NODEPOOL_ARM_ENDPOINT": "management.azure.com"}, "NODEPOOL_ARM_ENDPOINT"),
    ({**APP, "NODEPOOL_RECONCILE_SCHEDULE": "* * * * *"}, "NODEPOOL_RECONCILE_SCHEDULE"),
])
def test_a_bad_value_fails_when_settings_are_read(env, named):
    with pytest.raises(InvalidSettings, match=named):
        Settings.from_env(env)


def test_what_the_app_cannot_run_without_is_named():
    with pytest.raises(InvalidSettings, match="NODEPOOL_TENANT_ID"):
        Settings.from_env(STORAGE).complete()
    assert Settings.from_env(APP).complete().tenant_id == "t"


@pytest.mark.parametrize("env, named", [
    ({k: v for k, v in APP.items() if k != "NODEPOOL_TENANT_ID"}, "NODEPOOL_TENANT_ID"),
    ({**APP, "NODEPOOL_NODE_LABELS": "bad label"}, "NODEPOOL_NODE_LABELS"),
])
def test_healthz_reports_invalid_settings(monkeypatch, env, named):
    for key in [*APP, "NODEPOOL_NODE_LABELS"]:
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    wiring.reset()
    try:
        reply = healthz.build().get_user_function()(func.HttpRequest("GET", "/api/healthz", body=b""))
    finally:
        wiring.reset()
    assert reply.status_code == 503 and named in reply.get_body().decode()


def test_a_misconfigured_app_answers_503_with_retry_after_and_says_so_once(monkeypatch, caplog):
    """Agents treat a 400 as final; a misconfiguration is the operator's to fix, so they wait and ask again."""
    for key in APP:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AzureWebJobsStorage", "UseDevelopmentStorage=true")
    monkeypatch.setenv("NODEPOOL_RECONCILE_SCHEDULE", "* * * * *")  # five fields: NCRONTAB needs six
    wiring.reset()
    try:
        with caplog.at_level(logging.INFO):
            replies = [post_join.build().get_user_function()(func.HttpRequest("POST", "/api/join", body=b"{}"))
                       for _ in range(3)]
    finally:
        wiring.reset()
    assert {(r.status_code, r.headers.get("Retry-After")) for r in replies} == {(503, "60")}
    assert json.loads(replies[0].get_body())["error"] == "invalid_settings"
    said = [r for r in caplog.records if "cannot run on its settings" in r.getMessage()]
    assert len(said) == 1 and "NODEPOOL_RECONCILE_SCHEDULE" in said[0].getMessage()


def test_a_bad_schedule_never_stops_the_app_from_indexing(monkeypatch):
    monkeypatch.setenv("NODEPOOL_RECONCILE_SCHEDULE", "every minute")
    assert Settings.one("reconcile_schedule") == "0 * * * * *"  # the default binds; healthz names the value
    functions = devhost_index(ROOT)
    assert {"reconcile", "healthz"} <= {f.name for f in functions}


@pytest.mark.parametrize("error, status", [
    (InvalidInput("x"), 400), (Forbidden("x"), 403), (NotFound("x"), 404), (AlreadyExists("x"), 409),
    (IllegalTransition("x"), 409), (Throttled("x"), 429), (Unavailable("x"), 503), (InvalidSettings("x"), 503),
])
def test_the_one_http_mapping_of_typed_errors(error, status):
    assert status_of(error) == status and not hasattr(error, "status")


def test_a_re_registration_closes_the_replaced_kube_client_only_after_its_calls_can_have_ended():
    """A drain may still be using the old client: it is closed RETIRE_S later, not at once, and not leaked."""
    clock = ManualClock(NOW)
    services = wiring.Services(Settings.from_env(APP), clock=clock)
    first_cluster = Plane().register_master()
    first = services.kube_for(first_cluster)
    second = services.kube_for(replace(first_cluster, credential="rotated"))
    assert second is not first and not first.closed
    clock.advance(wiring.RETIRE_S)
    assert services.kube_for(replace(first_cluster, credential="rotated")) is second
    assert first.closed and not second.closed
