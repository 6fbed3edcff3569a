"""KubeSim speaks the API server's wire format: auth, Status errors, lists, patches, conflicts."""
from __future__ import annotations

import pytest
import requests

MERGE = "application/merge-patch+json"


@pytest.fixture
def http(kube_sim):
    session = requests.Session()

    def call(method: str, path: str, token: str | None = kube_sim.token, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers.update(kwargs.pop("headers", {}))
        return session.request(method, kube_sim.url + path, headers=headers, verify=kube_sim.ca_file, timeout=5,
                               **kwargs)
    return call


def test_every_path_needs_the_bearer_token(kube_sim, http):
    for token in (None, "wrong"):
        response = http("GET", "/api/v1/nodes", token=token)
        assert response.status_code == 401
        assert response.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                   "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    assert http("GET", "/version").json()["gitVersion"].endswith("+k3s1")


def test_missing_objects_are_not_found_statuses(http):
    body = http("GET", "/api/v1/nodes/ghost").json()
    assert body["code"] == 404 and body["reason"] == "NotFound" and body["message"] == 'nodes "ghost" not found'
    assert http("GET", "/api/v1/namespaces/default/widgets").status_code == 404


def test_node_objects_look_like_k3s_nodes(kube_sim, http):
    kube_sim.add_node("agent-0", provider_id="azure:///subscriptions/s/virtualMachines/0")
    node = http("GET", "/api/v1/nodes/agent-0").json()
    meta, status = node["metadata"], node["status"]
    assert node["kind"] == "Node" and meta["uid"] and meta["resourceVersion"] and meta["creationTimestamp"]
    assert meta["labels"]["kubernetes.io/hostname"] == "agent-0"
    assert meta["labels"]["node.kubernetes.io/instance-type"] == "k3s"
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True" and ready["lastHeartbeatTime"] and ready["lastTransitionTime"]
    assert node["spec"]["providerID"].startswith("azure:///") and status["allocatable"]["cpu"] == "4"


def test_lists_page_with_continue_tokens(kube_sim, http):
    for i in range(5):
        kube_sim.add_node(f"n{i}")
    seen, cont = [], None
    while True:
        params = {"limit": 2, **({"continue": cont} if cont else {})}
        body = http("GET", "/api/v1/nodes", params=params).json()
        assert body["kind"] == "NodeList" and body["metadata"]["resourceVersion"]
        seen += [n["metadata"]["name"] for n in body["items"]]
        cont = body["metadata"].get("continue")
        if not cont:
            break
    assert seen == ["n0", "n1", "n2", "n3", "n4"]
    assert http("GET", "/api/v1/nodes", params={"continue": "garbage!"}).status_code == 400


def test_set_based_label_selectors_and_unknown_field_selectors(kube_sim, http):
    kube_sim.add_node("a", labels={"tier": "spot"})
    kube_sim.add_node("b", labels={"tier": "regular"})
    kube_sim.add_node("c")
    def listed(selector):
        items = http("GET", "/api/v1/nodes", params={"labelSelector": selector}).json()["items"]
        return [n["metadata"]["name"] for n in items]
    assert listed("tier in (spot,regular)") == ["a", "b"]
    assert listed("tier notin (spot)") == ["b", "c"]
    assert listed("tier,tier!=regular") == ["a"]
    schedulable = http("GET", "/api/v1/nodes", params={"fieldSelector": "spec.unschedulable=false"}).json()["items"]
    assert len(schedulable) == 3
    response = http("GET", "/api/v1/pods", params={"fieldSelector": "spec.hostname=x"})
    assert response.status_code == 400 and response.json()["reason"] == "BadRequest"


def test_merge_strategic_and_json_patches(kube_sim, http):
    kube_sim.add_node("n0", labels={"a": "1"})
    merged = http("PATCH", "/api/v1/nodes/n0", json={"metadata": {"labels": {"a": None, "b": "2"}}},
                  headers={"Content-Type": MERGE}).json()
    assert "a" not in merged["metadata"]["labels"] and merged["metadata"]["labels"]["b"] == "2"
    strategic = http("PATCH", "/api/v1/nodes/n0", json={"spec": {"unschedulable": True}},
                     headers={"Content-Type": "application/strategic-merge-patch+json"}).json()
    assert strategic["spec"]["unschedulable"] and strategic["spec"]["taints"][0]["key"].endswith("unschedulable")
    rv = strategic["metadata"]["resourceVersion"]
    ops = [{"op": "test", "path": "/metadata/resourceVersion", "value": rv},
           {"op": "add", "path": "/metadata/labels/c", "value": "3"}]
    patched = http("PATCH", "/api/v1/nodes/n0", json=ops, headers={"Content-Type": "application/json-patch+json"})
    assert patched.status_code == 200 and patched.json()["metadata"]["labels"]["c"] == "3"
    stale = http("PATCH", "/api/v1/nodes/n0", json=ops, headers={"Content-Type": "application/json-patch+json"})
    assert stale.status_code == 422
    assert http("PATCH", "/api/v1/nodes/n0", json={}, headers={"Content-Type": "text/plain"}).status_code == 415


def test_status_cannot_be_patched_and_provider_id_is_immutable(kube_sim, http):
    kube_sim.add_node("n0", provider_id="k3s://n0")
    body = {"status": {"conditions": []}, "spec": {"providerID": "azure:///other"}}
    response = http("PATCH", "/api/v1/nodes/n0", json=body, headers={"Content-Type": MERGE})
    assert response.status_code == 422
    ok = http("PATCH", "/api/v1/nodes/n0", json={"status": {"conditions": []}}, headers={"Content-Type": MERGE})
    assert ok.json()["status"]["conditions"]


def test_update_with_a_stale_resource_version_conflicts(kube_sim, http):
    kube_sim.add_node("n0")
    node = http("GET", "/api/v1/nodes/n0").json()
    node["metadata"].setdefault("labels", {})["x"] = "1"
    assert http("PUT", "/api/v1/nodes/n0", json=node).status_code == 200
    conflict = http("PUT", "/api/v1/nodes/n0", json=node)
    assert conflict.status_code == 409 and conflict.json()["reason"] == "Conflict"
    del node["metadata"]["resourceVersion"]
    assert http("PUT", "/api/v1/nodes/n0", json=node).status_code == 422


def test_eviction_refused_by_a_budget_is_a_429_with_a_cause(kube_sim, http):
    kube_sim.add_node("n0", unschedulable=True)
    (name,) = kube_sim.add_pods("n0", 1, owner="ReplicaSet/web")
    created = http("POST", "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
                   json={"metadata": {"name": "web"}, "spec": {"minAvailable": 1,
                                                              "selector": {"matchLabels": {"app": "web"}}}})
    assert created.status_code == 201 and created.json()["status"]["disruptionsAllowed"] == 0
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": "default"}}
    refused = http("POST", f"/api/v1/namespaces/default/pods/{name}/eviction", json=eviction)
    assert refused.status_code == 429 and refused.json()["reason"] == "TooManyRequests"
    assert refused.json()["details"]["causes"][0]["reason"] == "DisruptionBudget"
    listed = http("GET", "/apis/policy/v1/poddisruptionbudgets").json()
    assert listed["kind"] == "PodDisruptionBudgetList" and listed["items"][0]["status"]["currentHealthy"] == 1


def test_secrets_are_created_from_string_data_and_listed_by_type(kube_sim, http):
    body = {"metadata": {"name": "bootstrap-token-abcdef"}, "type": "bootstrap.kubernetes.io/token",
            "stringData": {"token-id": "abcdef"}}
    created = http("POST", "/api/v1/namespaces/kube-system/secrets", json=body)
    assert created.status_code == 201 and created.json()["data"] == {"token-id": "YWJjZGVm"}
    assert http("POST", "/api/v1/namespaces/kube-system/secrets", json=body).json()["reason"] == "AlreadyExists"
    selector = {"fieldSelector": "type=bootstrap.kubernetes.io/token"}
    items = http("GET", "/api/v1/namespaces/kube-system/secrets", params=selector).json()["items"]
    assert [s["metadata"]["name"] for s in items] == ["bootstrap-token-abcdef"]
    bad = http("POST", "/api/v1/namespaces/kube-system/secrets", json={"metadata": {"name": "Bad_Name"}})
    assert bad.status_code == 422


def test_delete_preconditions(kube_sim, http):
    kube_sim.add_secret("default", "s")
    wrong = http("DELETE", "/api/v1/namespaces/default/secrets/s", json={"preconditions": {"uid": "nope"}})
    assert wrong.status_code == 409
    assert http("DELETE", "/api/v1/namespaces/default/secrets/s").status_code == 200
    assert http("DELETE", "/api/v1/namespaces/default/secrets/s").status_code == 404


def test_chaos_over_http_and_counters(kube_sim, http):
    assert http("POST", "/_sim/chaos", json={"action": "fail", "status": 503, "times": 1}).status_code == 200
    failed = http("GET", "/api/v1/nodes")
    assert failed.status_code == 503 and failed.headers["Retry-After"] == "1"
    assert http("GET", "/api/v1/nodes").status_code == 200
    counters = http("GET", "/_sim/chaos").json()
    assert counters["faults"] == {"error": 1, "503": 1} and counters["requests"]["GET nodes"] >= 1
    assert http("POST", "/_sim/chaos", json={"action": "explode"}).status_code == 400
