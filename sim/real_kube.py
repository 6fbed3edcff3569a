"""The simulator's Kubernetes side when the control plane is real: `Simulator(kube=RealKube(...))`.

Where KubeSim plays the whole k3s server, here a real kube-apiserver, controller-manager and
scheduler (localenv/control_plane/) do, and we play only what runs on the VMs and the bits
of the k3s server the binaries lack:
- the kubelets (sim/kubelets.py), driven by the VMs through the VmHooks;
- the k3s supervisor's join check: a bootstrap token is authenticated by the real apiserver
  (a SelfSubjectReview made with it must answer `system:bootstrap:<id>` in k3s's node group),
  a `server:` token against the server secret, then the node password secret as k3s keeps it
  (sim/kube/k3s.py), owned by the Node so the garbage collector removes it with the Node.
"""
from __future__ import annotations

import base64
import secrets

import requests

from sim.kube.k3s import (
    NODE_GROUP,
    NODE_PASSWORD_TYPE,
    PASSWORD_REJECTED,
    JoinRefused,
    ca_hash,
    check_node_labels,
    check_token,
    hash_password,
    parse_taint,
    verify_password,
)
from sim.kubelets import KUBELET_VERSION, Kubelets

KUBE_SYSTEM = "kube-system"
ROLE_PREFIX = "node-role.kubernetes.io/"
MASTER_LABELS = {"node-role.kubernetes.io/control-plane": "true", "node-role.kubernetes.io/master": "true"}
SELF_REVIEW = "/apis/authentication.k8s.io/v1/selfsubjectreviews"


class RealKube:
    def __init__(self, control_plane, credential: str = "", *, masters=("master0",), scrypt_log_n: int = 10):
        """`control_plane`: url, token (admin), ca_pem, ca_file, pki. `credential`: what the master
        registers with the app (the ServiceAccount token of cloud-init/master.yml's manifest)."""
        self.cp, self.credential, self.masters = control_plane, credential, set(masters)
        self.scrypt_log_n = scrypt_log_n
        self.server_secret = secrets.token_hex(16)
        self.kubelets = Kubelets(control_plane.url, control_plane.ca_file, control_plane.pki)

    url = property(lambda self: self.cp.url)
    token = property(lambda self: self.cp.token)  # the admin's: for kubectl and the tests, never the app
    ca_pem = property(lambda self: self.cp.ca_pem)
    ca_hash = property(lambda self: ca_hash(self.cp.ca_pem.encode()))

    @property
    def agent_token(self) -> str:
        return f"K10{self.ca_hash}::server:{self.server_secret}"

    def registration(self) -> dict:
        """What the master registers with the control plane (POST /api/cluster)."""
        return {"server": self.url, "credential": self.credential, "ca_cert": self.ca_pem, "ca_hash": self.ca_hash,
                "agent_token": self.agent_token, "k3s_version": KUBELET_VERSION}

    def stop(self) -> None:
        self.kubelets.stop()

    # -- VmHooks ----------------------------------------------------------------------------------
    def vm_started(self, name: str, provider_id: str = "") -> None:
        if name in self.masters and name not in self.kubelets.kubelets:  # the server's own kubelet
            self.add_node(name, labels=MASTER_LABELS, provider_id=provider_id)
        else:
            self.kubelets.vm_started(name, provider_id)

    def vm_stopped(self, name: str) -> None:
        self.kubelets.vm_stopped(name)

    def vm_deleted(self, name: str) -> None:
        self.kubelets.vm_deleted(name)

    # -- seeding and reading, with KubeSim's names -------------------------------------------------
    def add_node(self, name: str, *, labels: dict | None = None, provider_id: str = "", **resources) -> dict:
        """A kubelet registers `name` without a join (the server's own, or a test's). Role labels are
        not the kubelet's to set (NodeRestriction): the k3s server adds them, as it does for itself."""
        labels = labels or {}
        roles = {k: v for k, v in labels.items() if k.startswith(ROLE_PREFIX)}
        node = self.kubelets.register(name, labels={k: v for k, v in labels.items() if k not in roles},
                                      provider_id=provider_id, **resources)
        if roles:
            answer = self._admin("PATCH", f"/api/v1/nodes/{name}", {"metadata": {"labels": roles}})
            answer.raise_for_status()
            node = answer.json()
        return node

    def node(self, name: str) -> dict | None:
        return self._read(f"/api/v1/nodes/{name}")

    def secret(self, namespace: str, name: str) -> dict | None:
        return self._read(f"/api/v1/namespaces/{namespace}/secrets/{name}")

    def _read(self, path: str) -> dict | None:
        answer = self._admin("GET", path)
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        return answer.json()

    # -- the supervisor ---------------------------------------------------------------------------
    def _admin(self, method: str, path: str, body=None) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        if method == "PATCH":
            headers["Content-Type"] = "application/merge-patch+json"
        return requests.request(method, self.url + path, json=body, headers=headers, verify=self.cp.ca_file,
                                timeout=10)

    def authenticate(self, token: str) -> None:
        bootstrap = check_token(token, self.ca_hash, self.server_secret)
        if bootstrap is None:
            return
        answer = requests.post(self.url + SELF_REVIEW, json={"apiVersion": "authentication.k8s.io/v1",
                                                             "kind": "SelfSubjectReview"},
                               headers={"Authorization": f"Bearer {'.'.join(bootstrap)}"}, verify=self.cp.ca_file,
                               timeout=10)
        if answer.status_code == 401:
            raise JoinRefused("token_invalid", "401 Unauthorized: the API server does not accept this bootstrap token")
        answer.raise_for_status()
        user = answer.json()["status"]["userInfo"]
        if user["username"] != f"system:bootstrap:{bootstrap[0]}" or NODE_GROUP not in user.get("groups", ()):
            raise JoinRefused("token_invalid", f"bootstrap token is not a k3s node token ({user['username']})")

    def ensure_password(self, node: str, password: str) -> None:
        path = f"/api/v1/namespaces/{KUBE_SYSTEM}/secrets/{node}.node-password.k3s"
        found = self._admin("GET", path)
        if found.status_code == 404:
            body = {"apiVersion": "v1", "kind": "Secret", "type": NODE_PASSWORD_TYPE, "immutable": True,
                    "metadata": {"name": f"{node}.node-password.k3s", "namespace": KUBE_SYSTEM},
                    "stringData": {"hash": hash_password(password, self.scrypt_log_n)}}
            created = self._admin("POST", path.rsplit("/", 1)[0], body)
            if created.status_code != 409:
                created.raise_for_status()
                return
            found = self._admin("GET", path)
        found.raise_for_status()
        if not verify_password(base64.b64decode(found.json()["data"]["hash"]).decode(), password):
            raise JoinRefused("node_password_rejected", PASSWORD_REJECTED)

    def k3s_agent_join(self, name: str, token: str, node_password: str, labels: dict | None = None, taints=(),
                       provider_id: str = "", *, cpu: str = "4", memory: str = "16Gi") -> dict:
        """An agent starts with `token`: JoinRefused as the supervisor would, or its registered Node."""
        name = name.lower()
        check_node_labels(labels or {})
        self.authenticate(token)
        self.ensure_password(name, node_password)
        node = self.kubelets.register(name, labels=labels, taints=[parse_taint(t) for t in taints or ()],
                                      provider_id=provider_id, cpu=cpu, memory=memory)
        owner = {"apiVersion": "v1", "kind": "Node", "name": name, "uid": node["metadata"]["uid"]}
        self._admin("PATCH", f"/api/v1/namespaces/{KUBE_SYSTEM}/secrets/{name}.node-password.k3s",
                    {"metadata": {"ownerReferences": [owner]}})
        return node
