"""The k3s supervisor's side of an agent joining: token check, node password, Node registration.

Formats and rules are in k3s.py (matched against the k3s source). The scrypt hashing runs
outside the cluster lock: at k3s's cost (N=2^15) it takes ~0.1 s and would stall the API.
"""
from __future__ import annotations

import base64
import secrets

from sim.kube.k3s import (
    NODE_PASSWORD_TYPE,
    PASSWORD_REJECTED,
    JoinRefused,
    bootstrap_secret,
    ca_hash,
    check_bootstrap,
    check_node_labels,
    check_token,
    hash_password,
    parse_taint,
    verify_password,
)
from sim.kube.wire import ApiError

KUBE_SYSTEM = "kube-system"


def password_secret_name(node: str) -> str:
    return f"{node.lower()}.node-password.k3s"


class Supervisor:
    def __init__(self, cluster, ca_pem: bytes, *, server_secret: str | None = None, scrypt_log_n: int = 15):
        self.c = cluster
        self.ca_hash = ca_hash(ca_pem)
        self.server_secret = server_secret or secrets.token_hex(16)
        self.scrypt_log_n = scrypt_log_n

    @property
    def agent_token(self) -> str:
        """The static token in /var/lib/rancher/k3s/server/node-token: K10<ca hash>::server:<secret>."""
        return f"K10{self.ca_hash}::server:{self.server_secret}"

    def create_token(self, ttl_s: float | None = 900, description: str = "", token_id: str | None = None) -> str:
        """`k3s token create --ttl`: writes the bootstrap-token secret, prints the full K10 token."""
        token, body = bootstrap_secret(ttl_s, self.c.clock(), description, token_id)
        self.c.create_secret(KUBE_SYSTEM, body)
        return f"K10{self.ca_hash}::{token}"

    def authenticate(self, token: str) -> None:
        bootstrap = check_token(token, self.ca_hash, self.server_secret)
        if bootstrap:
            token_id, token_secret = bootstrap
            with self.c.lock:
                secret = self.c.store.find("secrets", KUBE_SYSTEM, f"bootstrap-token-{token_id}")
            check_bootstrap(secret, token_id, token_secret, self.c.clock())

    def ensure_password(self, node: str, password: str) -> None:
        """pkg/nodepassword Ensure: verify the stored hash, or store a new one."""
        name = password_secret_name(node)
        with self.c.lock:
            secret = self.c.store.find("secrets", KUBE_SYSTEM, name)
        if secret is None:
            body = {"metadata": {"name": name}, "type": NODE_PASSWORD_TYPE, "immutable": True,
                    "stringData": {"hash": hash_password(password, self.scrypt_log_n)}}
            try:
                self.c.create_secret(KUBE_SYSTEM, body)
                return
            except ApiError as err:
                if err.code != 409:
                    raise
                with self.c.lock:
                    secret = self.c.store.find("secrets", KUBE_SYSTEM, name)
        stored = base64.b64decode((secret or {}).get("data", {}).get("hash", "")).decode()
        if not verify_password(stored, password):
            raise JoinRefused("node_password_rejected", PASSWORD_REJECTED)

    def join(self, name: str, token: str, node_password: str, *, labels: dict | None = None, taints=(),
             provider_id: str = "", cpu: str = "4", memory: str = "16Gi") -> dict:
        name = name.lower()
        check_node_labels(labels or {})
        self.authenticate(token)
        self.ensure_password(name, node_password)
        registration = {"labels": dict(labels or {}), "taints": [parse_taint(t) for t in taints or ()],
                        "provider_id": provider_id, "cpu": cpu, "memory": memory, "password": node_password}
        return self.register(name, registration)

    def register(self, name: str, registration: dict) -> dict:
        """The kubelet registers (or adopts) its Node; the password secret becomes owned by it."""
        with self.c.lock:
            node = self.c.register_node(name, labels=registration["labels"], taints=registration["taints"],
                                        provider_id=registration["provider_id"], cpu=registration["cpu"],
                                        memory=registration["memory"], ready=True)
            self.c.kubelets[name].registration = registration
            secret = self.c.store.find("secrets", KUBE_SYSTEM, password_secret_name(name))
            ref = {"apiVersion": "v1", "kind": "Node", "name": name, "uid": node["metadata"]["uid"]}
            if secret is not None and ref not in secret["metadata"].get("ownerReferences", []):
                secret["metadata"].setdefault("ownerReferences", []).append(ref)
                self.c.store.touch("secrets", secret)
            return node

    def restart(self, name: str) -> None:
        """A kubelet starting again on a VM that joined before: re-register if its Node is gone."""
        kubelet = self.c.kubelets.get(name)
        with self.c.lock:
            exists = self.c.store.find("nodes", None, name) is not None
        if exists or kubelet is None or kubelet.registration is None:
            if exists:
                with self.c.lock:
                    self.c.controllers.kubelet_changed(name, True)
            return
        if kubelet.registration["password"]:  # the server's own kubelet has none to check
            self.ensure_password(name, kubelet.registration["password"])
        self.register(name, kubelet.registration)
