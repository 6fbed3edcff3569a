"""The app's credential is the ServiceAccount token that cloud-init/master.yml's own manifest makes
(conftest `app_token`). Sufficient: every call the product makes succeeds with it, one test per verb.
Least: the rules the API server grants it are exactly those calls, nothing more."""
from __future__ import annotations

import pytest

from localenv.waiting import wait_for
from nodepool.adapters.autoscale_kube import KubeClusterView
from nodepool.adapters.kube_http import KubeHttp
from nodepool.core.errors import Unavailable
from nodepool.core.k3s import BOOTSTRAP_SECRET_TYPE, KUBE_SYSTEM

RULES_REVIEW = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
USED = {  # (API group, resource, verb): every call of nodepool/adapters/kube.py and autoscale_kube.py
    ("", "nodes", "get"), ("", "nodes", "list"), ("", "nodes", "patch"), ("", "nodes", "delete"),
    ("", "pods", "list"), ("", "pods", "delete"), ("", "pods/eviction", "create"),
    ("policy", "poddisruptionbudgets", "list"),
}
USED_IN_KUBE_SYSTEM = {("", "secrets", "create"), ("", "secrets", "delete")}  # bootstrap tokens, node passwords


def test_get_node(app_kube, seed):
    seed.add_node("n0")
    assert app_kube.node("n0").ready is True


def test_list_nodes(app_kube, seed):
    seed.add_node("n0")
    assert app_kube.nodes().complete and [n.name for n in app_kube.nodes().items] == ["n0"]


def test_patch_node_to_cordon_and_label(app_kube, seed):
    seed.add_node("n0")
    node = app_kube.patch_node("n0", unschedulable=True, labels={"node-role.kubernetes.io/worker": "true"})
    assert node.unschedulable and node.labels["node-role.kubernetes.io/worker"] == "true"


def test_delete_node(app_kube, seed):
    seed.add_node("n0")
    assert app_kube.delete_node("n0") is True and seed.node("n0") is None


def test_list_pods(app_kube, seed):
    seed.add_node("n0")
    names = seed.add_pods("n0", 2)
    assert sorted(p.name for p in app_kube.pods_on("n0")) == names
    assert set(names) <= {p.name for p in app_kube.pods().items}


def test_delete_pod(app_kube, seed):
    seed.add_node("n0")
    (name,) = seed.add_pods("n0", 1, owner=None)
    (pod,) = app_kube.pods_on("n0")
    app_kube.delete_pod(pod, grace_s=0)
    assert seed.pods(node="n0") == []


def test_create_eviction(app_kube, seed):
    seed.add_node("n0")
    seed.add_pods("n0", 1)
    (pod,) = app_kube.pods_on("n0")
    assert app_kube.evict(pod, grace_s=1) is True
    wait_for(lambda: name_gone(seed, pod.name), 60, what="the evicted pod gone after its grace period")


def name_gone(seed, name: str) -> bool:
    return name not in {p["metadata"]["name"] for p in seed.pods()}


def test_list_pod_disruption_budgets(app_kube, seed):
    seed.add_pdb("web", selector={"app": "web"}, max_unavailable=1)
    budgets = KubeClusterView(app_kube).budgets()
    assert budgets.complete and len(budgets.items) == 1


def test_create_and_delete_secrets_in_kube_system(app_kube, seed):
    app_kube.create_secret(KUBE_SYSTEM, "bootstrap-token-rbac01", type=BOOTSTRAP_SECRET_TYPE,
                           string_data={"token-id": "rbac01", "token-secret": "0123456789abcdef"})
    assert app_kube.delete_secret(KUBE_SYSTEM, "bootstrap-token-rbac01") is True


def granted(api: KubeHttp, namespace: str) -> set[tuple[str, str, str]]:
    """(group, resource, verb) the API server says the caller may use in `namespace`."""
    review = api.call("POST", RULES_REVIEW, "rules review", body={
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": {"namespace": namespace}})
    assert not review["status"].get("incomplete"), review["status"]
    return {(group, resource, verb) for rule in review["status"]["resourceRules"]
            for group in rule.get("apiGroups", ()) for resource in rule.get("resources", ())
            for verb in rule["verbs"]}


@pytest.fixture
def nobody(control_plane, admin, namespace) -> KubeHttp:
    """A ServiceAccount bound to nothing: what every authenticated caller may do anyway."""
    admin.call("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts", "create sa",
               body={"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "nobody"}})
    token = admin.call("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/nobody/token", "token",
                       body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})
    return KubeHttp(control_plane.url, token["status"]["token"], control_plane.ca_pem)


@pytest.mark.parametrize("namespace_name, used", [("kube-system", USED | USED_IN_KUBE_SYSTEM), ("default", USED)])
def test_granted_is_exactly_what_is_used(control_plane, app_token, nobody, namespace_name, used):
    app = KubeHttp(control_plane.url, app_token, control_plane.ca_pem)
    assert granted(app, namespace_name) - granted(nobody, namespace_name) == used


def test_the_app_cannot_read_secrets_nor_create_pods(app_kube, seed):
    """Bootstrap tokens and node passwords are written and deleted, never read back; no workload is ours."""
    seed.add_secret(KUBE_SYSTEM, "bootstrap-token-rbac02", type=BOOTSTRAP_SECRET_TYPE,
                    data={"token-id": "rbac02", "token-secret": "0123456789abcdef"})
    for forbidden in (lambda: app_kube.secret(KUBE_SYSTEM, "bootstrap-token-rbac02"),
                      lambda: app_kube.secrets(KUBE_SYSTEM),
                      lambda: app_kube._http.call("POST", f"/api/v1/namespaces/{seed.namespace}/pods", "create pod",
                                                  body={"apiVersion": "v1", "kind": "Pod"})):
        with pytest.raises(Unavailable) as refused:
            forbidden()
        assert refused.value.code == "kube_credentials"
