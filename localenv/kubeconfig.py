"""A kubeconfig for the simulated API server, so an operator's kubectl works against the stack:

    kubectl --kubeconfig .run/kubeconfig get nodes -w
"""
from __future__ import annotations

import base64
import json
import os
from pathlib import Path


def kubeconfig(server: str, token: str, ca_pem: str, name: str = "nodepool-local") -> dict:
    return {"apiVersion": "v1", "kind": "Config", "current-context": name, "preferences": {},
            "clusters": [{"name": name, "cluster": {
                "server": server, "certificate-authority-data": base64.b64encode(ca_pem.encode()).decode()}}],
            "users": [{"name": f"{name}-admin", "user": {"token": token}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": f"{name}-admin"}}]}


def write_kubeconfig(path: Path, kube) -> Path:
    """Write (mode 0600: it holds the admin token) the kubeconfig of a KubeSim; JSON is valid YAML."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(kubeconfig(kube.url, kube.token, kube.ca_pem), f, indent=2)
    return path


def kubectl_hint(path: Path) -> str:
    return f"kubectl --kubeconfig {path} get nodes -w"
