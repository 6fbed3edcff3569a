"""The names k3s and Kubernetes give the objects we touch: one place, so no capability defines its own."""
from __future__ import annotations

KUBE_SYSTEM = "kube-system"  # where k3s keeps bootstrap-token and node-password secrets
BOOTSTRAP_GROUP = "system:bootstrappers:k3s:default-node-token"
BOOTSTRAP_SECRET_TYPE = "bootstrap.kubernetes.io/token"


def node_password_secret(node: str) -> str:
    """k3s refuses a node whose password differs from this secret ("Node password rejected")."""
    return f"{node}.node-password.k3s"


def bootstrap_secret_name(token_id: str) -> str:
    return f"bootstrap-token-{token_id}"
