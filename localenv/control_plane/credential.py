"""The app's credential on a real control plane, made as master0 makes it: the manifest that
cloud-init/master.yml writes into k3s's auto-deploy folder is applied as it stands (the
ServiceAccount, its token Secret and the RBAC), and the token the controller-manager's
serviceaccount-token controller puts into the Secret is what the master registers.
"""
from __future__ import annotations

import base64
from pathlib import Path

import requests
import yaml

from localenv.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
MASTER_CLOUD_INIT = ROOT / "cloud-init" / "master.yml"
MANIFEST_PATH = "/var/lib/rancher/k3s/server/manifests/nodepool-control-plane.yaml"
TOKEN_SECRET = "/api/v1/namespaces/kube-system/secrets/nodepool-control-plane-token"
SERVICE_ACCOUNT = "system:serviceaccount:kube-system:nodepool-control-plane"
COLLECTIONS = {  # kind -> where it is created (namespaced ones in their own namespace)
    "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts",
    "Secret": "/api/v1/namespaces/{ns}/secrets",
    "ClusterRole": "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    "ClusterRoleBinding": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
    "Role": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
    "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
}


def control_plane_manifest() -> list[dict]:
    """The documents of nodepool-control-plane.yaml, exactly as master.yml carries them."""
    cloud_config = yaml.safe_load(MASTER_CLOUD_INIT.read_text())
    content = next(f["content"] for f in cloud_config["write_files"] if f["path"] == MANIFEST_PATH)
    return [doc for doc in yaml.safe_load_all(content) if doc]


def apply_manifest(url: str, admin_token: str, ca_file: str, docs: list[dict]) -> None:
    """Create each object as k3s's deploy controller would (an existing one is left as it is)."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    for doc in docs:
        path = COLLECTIONS[doc["kind"]].format(ns=doc["metadata"].get("namespace", "default"))
        answer = requests.post(url + path, json=doc, headers=headers, verify=ca_file, timeout=10)
        if answer.status_code != 409:
            answer.raise_for_status()


def app_credential(control_plane) -> str:
    """Apply master.yml's manifest and return the ServiceAccount token the app will use."""
    cp = control_plane
    apply_manifest(cp.url, cp.token, cp.ca_file, control_plane_manifest())

    def token() -> str:
        secret = requests.get(cp.url + TOKEN_SECRET, headers={"Authorization": f"Bearer {cp.token}"},
                              verify=cp.ca_file, timeout=10).json()
        return base64.b64decode((secret.get("data") or {}).get("token", "")).decode()
    return wait_for(token, 60, interval=0.1, what="the serviceaccount-token controller filling the token Secret")
