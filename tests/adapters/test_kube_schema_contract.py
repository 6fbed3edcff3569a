"""Our Kubernetes adapter against the official schemas, not our own simulator's idea of them.

The requests nodepool/adapters/kube.py sends (node patch, Eviction, DeleteOptions, Secret) are
recorded on their way to the simulated API server and every field is looked up in the
`kubernetes` package's generated models; every field the adapter reads from a Node, Pod or
Secret (traced while kube_wire converts a real answer) must be one the API returns.
"""
from __future__ import annotations

import re

import pytest

from nodepool.adapters import kube_wire
from nodepool.adapters.kube_http import KubeHttp
from nodepool.core.model import Taint
from tests.adapters.kube_schema import Tracing, defined, undefined

REQUEST_MODELS = [  # (method, path pattern, the body's model)
    ("PATCH", r"/api/v1/nodes/[^/]+", "V1Node"),
    ("POST", r"/api/v1/namespaces/[^/]+/pods/[^/]+/eviction", "V1Eviction"),
    ("DELETE", r"/api/v1/namespaces/[^/]+/pods/[^/]+", "V1DeleteOptions"),
    ("POST", r"/api/v1/namespaces/[^/]+/secrets", "V1Secret"),
]


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, str, object]]:
    """(method, path, body) of every adapter request that carried a body."""
    calls: list[tuple[str, str, object]] = []
    original = KubeHttp.call

    def recording(self, method, path, what, **kwargs):
        if kwargs.get("body") is not None:
            calls.append((method, path, kwargs["body"]))
        return original(self, method, path, what, **kwargs)
    monkeypatch.setattr(KubeHttp, "call", recording)
    return calls


def model_of(method: str, path: str) -> str:
    return next(model for m, pattern, model in REQUEST_MODELS if m == method and re.fullmatch(pattern, path))


def test_the_checker_names_fields_the_api_does_not_define():
    body = {"metadata": {"labels": {"a.b/c": "1"}, "resourceVerison": "7"},
            "spec": {"unschedulable": True, "taints": [{"key": "k", "effect": "NoSchedule", "efect": "x"}]}}
    assert undefined(body, "V1Node") == ["metadata.resourceVerison", "spec.taints[].efect"]
    assert defined("status.conditions[].lastTransitionTime", "V1Node") and defined("metadata.labels.x/y", "V1Node")
    assert not defined("status.ready", "V1Node") and not defined("spec.conditions[].type", "V1Node")


def test_every_request_body_the_adapter_sends_is_in_the_official_schema(kube_sim, kube, sent):
    kube_sim.add_node("n0")
    kube_sim.add_pods("n0", 2, owner="ReplicaSet/web")
    node = kube.node("n0")
    kube.patch_node("n0", unschedulable=True, labels={"pool": "spot", "gone": None},
                    taints=[Taint("spot", "true", "NoSchedule"), Taint("drain", "", "NoExecute")],
                    resource_version=node.resource_version)
    pods = kube.pods_on("n0")
    assert kube.evict(pods[0], grace_s=5)
    kube.delete_pod(pods[1], grace_s=0)
    kube.create_secret("kube-system", "bootstrap-token-abcdef", type="bootstrap.kubernetes.io/token",
                       string_data={"token-id": "abcdef"}, labels={"app": "nodepool"})

    kinds = {model_of(method, path) for method, path, _ in sent}
    assert kinds == {"V1Node", "V1Eviction", "V1DeleteOptions", "V1Secret"}  # every body was seen
    unknown = {f"{method} {path}": undefined(body, model_of(method, path)) for method, path, body in sent}
    assert all(not fields for fields in unknown.values()), unknown


@pytest.mark.parametrize("convert, model, fetch", [
    (kube_wire.node_from, "V1Node", lambda sim: sim.node("n0")),
    (kube_wire.pod_from, "V1Pod", lambda sim: sim.pods(node="n0")[0]),
    (kube_wire.secret_from, "V1Secret", lambda sim: sim.secret("default", "s")),
], ids=["node", "pod", "secret"])
def test_every_field_the_adapter_reads_is_one_the_api_returns(kube_sim, convert, model, fetch):
    kube_sim.add_node("n0", taints=[{"key": "spot", "value": "true", "effect": "NoSchedule"}])
    kube_sim.add_pods("n0", 1, owner="ReplicaSet/web", requests={"cpu": "100m", "memory": "64Mi"})
    kube_sim.add_secret("default", "s", data={"token": "c2VjcmV0"})
    reads: set[str] = set()
    convert(Tracing(fetch(kube_sim), reads))
    assert reads  # the conversion read something
    assert sorted(p for p in reads if not defined(p, model)) == []
