"""Watch streams of the simulated API server, as client-go reflectors read them."""
from __future__ import annotations

import json

import requests


def events(kube_sim, path: str, **params) -> list[dict]:
    response = requests.get(kube_sim.url + path, params={"watch": "true", "timeoutSeconds": "1", **params},
                            headers={"Authorization": f"Bearer {kube_sim.token}"}, verify=kube_sim.ca_file,
                            stream=True, timeout=10)
    assert response.status_code == 200 and response.headers["Transfer-Encoding"] == "chunked"
    return [json.loads(line) for line in response.iter_lines() if line]


def test_a_watch_from_a_resource_version_streams_every_change_after_it(kube_sim):
    kube_sim.add_node("n0")
    listed = requests.get(kube_sim.url + "/api/v1/nodes", headers={"Authorization": f"Bearer {kube_sim.token}"},
                          verify=kube_sim.ca_file, timeout=5).json()
    kube_sim.add_node("n1")
    kube_sim.cluster.patch_node("n0", {"metadata": {"labels": {"x": "1"}}}, "application/merge-patch+json")
    kube_sim.cluster.delete_node("n1")
    seen = [(e["type"], e["object"]["metadata"]["name"]) for e in
            events(kube_sim, "/api/v1/nodes", resourceVersion=listed["metadata"]["resourceVersion"])]
    assert seen == [("ADDED", "n1"), ("MODIFIED", "n0"), ("DELETED", "n1")]


def test_a_watch_without_a_version_starts_with_what_exists_and_honours_selectors(kube_sim):
    kube_sim.add_node("n0")
    kube_sim.add_pods("n0", 2, owner="ReplicaSet/web")
    seen = events(kube_sim, "/api/v1/namespaces/default/pods", labelSelector="app=web")
    assert [e["type"] for e in seen] == ["ADDED", "ADDED"]


def test_a_watch_from_a_version_the_log_no_longer_holds_is_gone(kube_sim):
    kube_sim.add_node("n0")
    kube_sim.cluster.store.log.clear()
    kube_sim.add_node("n1")
    seen = events(kube_sim, "/api/v1/nodes", resourceVersion="1")
    assert seen[0]["type"] == "ERROR" and seen[0]["object"]["code"] == 410
