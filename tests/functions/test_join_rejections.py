"""Every way /api/join, /api/leave and /api/cluster refuse a caller: the status, the reason code,
and nothing written (table rows, the node-events queue, Kubernetes secrets and nodes).

Rejections write nothing, so one stack (master registered) serves the whole module; each test
compares what is stored before and after its own request.
"""
from __future__ import annotations

import time

import pytest
from azure.data.tables import TableServiceClient

from tests.fixtures.storage import worker_account
from tests.functions.join_support import stack_on, written

AGENT, MASTER = "agent", "master"


@pytest.fixture(scope="module")
def shared(azurite):
    conn = azurite.connection_string(worker_account())
    tables = TableServiceClient.from_connection_string(conn)
    for table in list(tables.list_tables()):
        tables.delete_table(table.name)
    with stack_on(azurite) as stack:
        stack.register_master()
        yield stack


@pytest.fixture
def stack(shared):
    before = written(shared)
    yield shared
    assert written(shared) == before, "a rejected request wrote something"


def host(stack) -> str:
    return stack.hostnames()[0]


def expect(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"] == code, response.text
    assert response.json()["message"]


# -- identity --------------------------------------------------------------------------------------
BAD_AGENT_TOKENS = {
    "forged": (dict(forged=True), 401, "token_invalid_signature"),
    "unknown_kid": (dict(kid="not-a-published-kid"), 401, "token_invalid_signature"),
    "expired": (dict(now=time.time() - 7200, lifetime=3600), 401, "token_expired"),
    "not_yet_valid": (dict(extra={"nbf": int(time.time()) + 3600}), 401, "token_not_yet_valid"),
    "wrong_audience": (dict(audience="api://someone-else"), 401, "token_wrong_audience"),
    "wrong_issuer": (dict(extra={"iss": "https://sts.windows.net/another-tenant/"}), 401, "token_wrong_issuer"),
    "alg_none": (dict(alg="none"), 401, "token_wrong_algorithm"),
    "alg_hs256": (dict(alg="HS256"), 401, "token_wrong_algorithm"),
    "no_oid": (dict(extra={"oid": None}), 401, "token_missing_claim"),
}


@pytest.mark.parametrize("kind", BAD_AGENT_TOKENS)
def test_join_with_a_bad_identity_token_is_refused(stack, kind):
    tweaks, status, code = BAD_AGENT_TOKENS[kind]
    token = stack.sim.token(AGENT, **tweaks)
    expect(stack.call("POST", "join", token=token, body={"hostname": host(stack)}), status, code)


@pytest.mark.parametrize("path", ["join", "leave"])
def test_the_master_identity_may_not_act_as_an_agent(stack, path):
    expect(stack.call("POST", path, who=MASTER, body={"hostname": host(stack)}), 403, "identity_not_allowed")


def test_an_agent_identity_may_not_register_the_cluster(stack):
    response = stack.call("POST", "cluster", who=AGENT, body=stack.sim.kube.registration())
    expect(response, 403, "identity_not_allowed")


@pytest.mark.parametrize("path", ["join", "leave", "cluster"])
def test_no_bearer_token_is_refused(stack, path):
    body = stack.sim.kube.registration() if path == "cluster" else {"hostname": host(stack)}
    expect(stack.call("POST", path, who=None, body=body), 401, "token_missing")
    basic = {"Authorization": "Basic Zm9vOmJhcg=="}
    expect(stack.call("POST", path, who=None, body=body, headers=basic), 401, "token_missing")


def test_a_bearer_that_is_not_a_jwt_is_refused(stack):
    expect(stack.call("POST", "join", token="not.a.jwt", body={"hostname": host(stack)}), 401, "token_malformed")


@pytest.mark.parametrize("path", ["join", "leave", "cluster"])
def test_without_the_function_key_the_host_refuses_before_our_code(stack, path):
    response = stack.call("POST", path, key=False, body={"hostname": host(stack)})
    assert response.status_code == 401
    assert response.content == b""  # the host's own 401, not one of our JSON errors
    wrong = stack.call("POST", path, key=False, body={"hostname": host(stack)},
                       headers={"x-functions-key": "wrong-key"})
    assert wrong.status_code == 401 and wrong.content == b""


# -- the request ------------------------------------------------------------------------------------
def test_a_body_that_is_not_json_is_refused(stack):
    response = stack.call("POST", "join", data=b'{"hostname": ', headers={"Content-Type": "application/json"})
    expect(response, 400, "invalid_json")
    expect(stack.call("POST", "join", data=b"\xff\xfe", headers={}), 400, "invalid_json")


@pytest.mark.parametrize("body", [None, [], "agents000000", 7])
def test_a_body_that_is_not_an_object_is_refused(stack, body):
    data = b"" if body is None else None
    response = stack.call("POST", "join", body=body, data=data)
    expect(response, 400, "invalid_json" if body is None else "invalid_request")


def test_missing_or_mistyped_fields_are_refused(stack):
    expect(stack.call("POST", "join", body={}), 400, "invalid_hostname")
    expect(stack.call("POST", "join", body={"vm_id": stack.sim.vms[0].vm_id}), 400, "invalid_hostname")
    expect(stack.call("POST", "join", body={"hostname": 42}), 400, "invalid_hostname")
    expect(stack.call("POST", "join", body={"hostname": host(stack), "vm_id": 7}), 400, "invalid_vm_id")
    expect(stack.call("POST", "join", body={"hostname": host(stack), "fresh": "yes"}), 400, "invalid_request")
    expect(stack.call("POST", "leave", body={}), 400, "invalid_hostname")


@pytest.mark.parametrize("name", ["Agents000000", "agents_000000", "-agents", "agents-", "a" * 64, "", "agents.000",
                                  "agénts", "agents000000\n"])
def test_a_hostname_that_is_not_an_rfc1123_label_is_refused(stack, name):
    expect(stack.call("POST", "join", body={"hostname": name}), 400, "invalid_hostname")


def test_a_body_over_64_kib_is_refused_with_413(stack):
    body = {"hostname": host(stack), "padding": "x" * (64 * 1024)}
    expect(stack.call("POST", "join", body=body), 413, "payload_too_large")
    expect(stack.call("POST", "cluster", who=MASTER, body={**stack.sim.kube.registration(), "padding": "x" * 70000}),
           413, "payload_too_large")


def test_a_name_the_scale_set_could_give_but_does_not_list_is_not_visible_yet(stack):
    joining = stack.call("POST", "join", body={"hostname": "agents0000zz"})  # the nonce request is refused first
    expect(joining, 503, "instance_not_visible")  # it may be a VM created seconds ago: ask again
    assert joining.headers["Retry-After"] == "10"
    expect(stack.call("POST", "leave", body={"hostname": "agents0000zz"}), 401, "node_credential_missing")


@pytest.mark.parametrize("name", ["master0", "somebody-else", "intruder01", "0"])
def test_a_name_no_vm_of_the_scale_set_can_have_is_refused_for_good_and_cannot_leave(stack, name):
    expect(stack.call("POST", "join/nonce", body={"hostname": name}), 403, "not_our_vm")
    expect(stack.call("POST", "join", body={"hostname": name}), 403, "not_our_vm")
    expect(stack.call("POST", "leave", body={"hostname": name}), 401, "node_credential_missing")


def test_a_vm_id_of_another_vm_is_forbidden(stack):
    first, second = stack.sim.vms[:2]
    body = {"hostname": first.computer_name, "vm_id": second.vm_id}
    expect(stack.call("POST", "join", body=body), 403, "vm_id_mismatch")


# -- cluster registration ---------------------------------------------------------------------------
REGISTRATION_FAULTS = {
    "credential": (lambda r: {k: v for k, v in r.items() if k != "credential"}, "invalid_credential"),
    "server": (lambda r: {**r, "server": "http://127.0.0.1:6443"}, "invalid_server"),
    "ca_hash": (lambda r: {**r, "ca_hash": "ab" * 32}, "ca_hash_mismatch"),
    "ca_cert": (lambda r: {**r, "ca_cert": "not a pem"}, "invalid_ca_cert"),
    "k3s_version": (lambda r: {**r, "k3s_version": "1.31"}, "invalid_k3s_version"),
}


@pytest.mark.parametrize("fault", REGISTRATION_FAULTS)
def test_a_bad_registration_is_refused(stack, fault):
    change, code = REGISTRATION_FAULTS[fault]
    response = stack.call("POST", "cluster", who=MASTER, body=change(stack.sim.kube.registration()))
    expect(response, 400, code)
    assert stack.sim.kube.token not in response.text
