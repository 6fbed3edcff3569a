"""manifests/ (ready for /srv/autostart) and the manifests cloud-init writes for k3s."""
from __future__ import annotations

import pytest

from infra.cloud_init import ROOT
from tests.infra.cloud_init_support import files, load_yaml, load_yaml_documents

MANIFESTS = sorted((ROOT / "manifests").glob("*.yml"))
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding"}


def _docs(path) -> list:
    return load_yaml_documents(path.read_text())


def _by_kind(docs, kind) -> list:
    return [d for d in docs if d["kind"] == kind]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_every_object_is_well_formed(path):
    docs = _docs(path)
    assert docs
    for doc in docs:
        assert doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"]
        assert ("namespace" in doc["metadata"]) is (doc["kind"] not in CLUSTER_SCOPED), doc["metadata"]["name"]
    for deployment in _by_kind(docs, "Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert ":" in container["image"] and not container["image"].endswith(":latest")
            assert "memory" in container["resources"]["limits"]


def test_registry_lives_on_the_master_and_keeps_its_data_in_srv():
    docs = _docs(ROOT / "manifests" / "registry.yml")
    (deployment,) = _by_kind(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"nodepool/role": "master"}
    assert pod["volumes"][0]["hostPath"]["path"] == "/srv/registry"
    assert pod["containers"][0]["ports"][0]["hostPort"] == 5000


def test_dashboard_is_clean_no_cluster_admin_and_a_read_only_viewer():
    docs = _docs(ROOT / "manifests" / "kubernetes-dashboard.yml")
    bindings = _by_kind(docs, "ClusterRoleBinding") + _by_kind(docs, "RoleBinding")
    assert all(b["roleRef"]["name"] != "cluster-admin" for b in bindings)
    viewer = next(b for b in bindings if b["metadata"]["name"] == "dashboard-viewer")
    assert viewer["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}
    assert not _by_kind(docs, "Ingress")
    (role,) = _by_kind(docs, "Role")
    assert all(rule.get("resourceNames") for rule in role["rules"])


def test_sample_app_tolerates_spot_has_a_pdb_and_an_ingress_through_traefik():
    docs = _docs(ROOT / "manifests" / "sample-app.yml")
    (deployment,) = _by_kind(docs, "Deployment")
    tolerations = deployment["spec"]["template"]["spec"]["tolerations"]
    assert {"key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal", "value": "spot",
            "effect": "NoSchedule"} in tolerations
    (pdb,) = _by_kind(docs, "PodDisruptionBudget")
    assert pdb["spec"]["selector"] == deployment["spec"]["selector"]
    (ingress,) = _by_kind(docs, "Ingress")
    assert ingress["spec"]["ingressClassName"] == "traefik"


def _written(path):
    return load_yaml_documents(files("master")[path]["content"])


def test_control_plane_rbac_is_least_privilege():
    docs = _written("/var/lib/rancher/k3s/server/manifests/nodepool-control-plane.yaml")
    (cluster_role,) = _by_kind(docs, "ClusterRole")
    rules = {tuple(r["resources"]): set(r["verbs"]) for r in cluster_role["rules"]}
    assert rules[("pods/eviction",)] == {"create"}
    assert "create" not in rules[("nodes",)] and "update" not in rules[("nodes",)]
    (role,) = _by_kind(docs, "Role")
    assert role["metadata"]["namespace"] == "kube-system"
    assert role["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "delete"]}]
    (secret,) = _by_kind(docs, "Secret")
    assert secret["type"] == "kubernetes.io/service-account-token"
    assert secret["metadata"]["annotations"]["kubernetes.io/service-account.name"] == "nodepool-control-plane"
    assert "nodepool-control-plane-token" in files("master")["/usr/local/sbin/nodepool-register"]["content"]


def test_traefik_is_pinned_to_the_master_label_k3s_gives_it():
    (config,) = _written("/var/lib/rancher/k3s/server/manifests/nodepool-traefik-config.yaml")
    values = load_yaml(config["spec"]["valuesContent"])
    k3s = load_yaml(files("master")["/etc/rancher/k3s/config.yaml"]["content"])
    key, value = next(iter(values["nodeSelector"].items()))
    assert "%s=%s" % (key, value) in k3s["node-label"]
