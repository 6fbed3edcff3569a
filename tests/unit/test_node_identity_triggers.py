
"""The triggers over wired fakes: the nonce, the attested join, then X-Node-Credential on events,
leave and the status poll; each trigger verifies, parses and calls one service."""
import json
import logging

import azure.functions as func
import pytest

from functions.http_events import post_events
from functions.http_join import post_join, post_join_nonce, post_leave
from functions.http_nodes import audit, node
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


@pytest.fixture
def app():
    identity, kube, scaleset = FakeIdentity(), FakeKube(), FakeScaleSet("agents", capacity=2)
    services = wiring.Services(Settings.from_env(APP), clock=ManualClock(NOW),
                               registry=FakeRegistry(), scaleset=scaleset,
                               identity=identity, queue=FakeEventQueue(), kube_for=lambda cluster: kube,
                               verifier=FakeAttestationVerifier("s"), nonces=FakeNonceStore(),
                               credentials=FakeNodeCredentials(), audit=FakeAuditLog())
    Plane(registry=services.registry).register_master()
    services.fake_identity = identity
    wiring.install(services)
    yield services
    wiring.reset()


def call(trigger, method: str, url: str, body=None, credential: str | None = None, who=Role.AGENT, app=None,
         **route) -> tuple[int, dict]:
    headers = {"Authorization": app.fake_identity.header(who)}
    if credential:
        headers["X-Node-Credential"] = credential
    request = func.HttpRequest(method, url, headers=headers, route_params=route,
                               body=json.dumps(body).encode() if body is not None else b"")
    reply = trigger.build().get_user_function()(request)
    return reply.status_code, json.loads(reply.get_body() or b"{}")


def joined(app, host: str) -> str:
    status, challenge = call(post_join_nonce, "POST", "/api/join/nonce", {"hostname": host}, app=app)
    assert status == 200, challenge
    vm_id = next(i.vm_id for i in app.scaleset.instances().items if i.name == host)
    document = FakeAttestationVerifier.document(vm_id, challenge["nonce"], NOW)
    status, answer = call(post_join, "POST", "/api/join", {"hostname": host, "attested": document}, app=app)
    assert status == 200, answer
    return answer["node_credential"]


def test_the_node_credential_opens_only_its_own_node(app):
    a, b = [i.name for i in app.scaleset.instances().items]
    mine, theirs = joined(app, a), joined(app, b)
    empty = {"hostname": b, "document": {"DocumentIncarnation": 1, "Events": []}}
    assert call(post_events, "POST", "/api/events", empty, app=app)[0] == 401
    assert call(post_events, "POST", "/api/events", empty, credential=mine, app=app)[0] == 403
    assert call(post_events, "POST", "/api/events", empty, credential=theirs, app=app)[0] == 202
    assert call(node, "GET", f"/api/nodes/{b}", credential=mine, app=app, name=b)[0] == 403
    assert call(node, "GET", f"/api/nodes/{a}", credential=mine, app=app, name=a)[0] == 200
    assert call(post_leave, "POST", "/api/leave", {"hostname": b}, credential=mine, app=app)[0] == 403
    assert call(post_leave, "POST", "/api/leave", {"hostname": a}, credential=mine, app=app)[0] == 202
    status, trail = call(audit, "GET", "/api/audit", app=app)
    assert status == 200 and [e["action"] for e in trail["entries"]][:2] == ["cordon", "leave"]  # newest first


def test_every_refusal_is_one_log_line_with_its_code_and_caller(app, caplog):
    """A forged attestation, a token missing, another node's credential: each refused request leaves one
    line saying what was refused and who asked, and no credential."""
    a, b = [i.name for i in app.scaleset.instances().items]
    mine, _ = joined(app, a), joined(app, b)
    forged = {"hostname": a, "attested": {"encoding": "pkcs7", "signature": "bm90IGEgZG9jdW1lbnQ="}}
    empty = {"hostname": b, "document": {"DocumentIncarnation": 1, "Events": []}}
    with caplog.at_level(logging.INFO, logger="functions"):
        caplog.clear()
        refusals = [call(post_join, "POST", "/api/join", forged, app=app)[0],
                    call(post_events, "POST", "/api/events", empty, app=app)[0],
                    call(node, "GET", f"/api/nodes/{b}", credential=mine, app=app, name=b)[0]]
    lines = [r for r in caplog.records if r.name == "functions.http"]
    assert refusals == [400, 401, 403] and len(lines) == 3
    assert [(r.route, r.status, r.levelname) for r in lines] == [
        ("POST /api/join", 400, "INFO"), ("POST /api/events", 401, "WARNING"), (f"GET /api/nodes/{b}", 403, "WARNING")]
    assert [r.error for r in lines] == ["attestation_malformed", "node_credential_missing", "node_credential_invalid"]
    assert lines[1].caller.startswith("agent ") and mine not in " ".join(r.getMessage() for r in lines)
