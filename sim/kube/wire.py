"""Kubernetes wire shapes the simulated API server speaks: timestamps, quantities, Status
errors and freshly built Node / Pod objects, as a real v1.30 API server (k3s) returns them.
"""
from __future__ import annotations

import calendar
import re
import time
import uuid

K3S_VERSION = "v1.30.6+k3s1"
_QUANTITY = re.compile(r"^([0-9.]+(?:e[0-9]+)?)([a-zA-Z]*)$")
_SUFFIX = {"": 1, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
           "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}


class ApiError(Exception):
    """Answered to the client as a metav1.Status with this code and reason."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self) -> dict:
        return status_object(self.code, self.reason, self.message, self.details)


def status_object(code: int, reason: str = "", message: str = "", details: dict | None = None) -> dict:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Success" if code < 400 else "Failure", "code": code}
    if message:
        body["message"] = message
    if reason:
        body["reason"] = reason
    if details:
        body["details"] = details
    return body


def not_found(resource: str, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{resource} "{name}" not found', {"name": name, "kind": resource})


def rfc3339(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def parse_rfc3339(stamp: str) -> float:
    return float(calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")))


def quantity(raw: str | int | float) -> float:
    """'250m' → 0.25, '128Mi' → 134217728, '2' → 2."""
    match = _QUANTITY.match(str(raw).strip())
    if not match or match.group(2) not in _SUFFIX:
        raise ValueError(f"quantities must match the regular expression: {raw!r}")
    return float(match.group(1)) * _SUFFIX[match.group(2)]


def new_meta(name: str, namespace: str | None, labels: dict | None, now: float) -> dict:
    meta = {"name": name, "uid": str(uuid.uuid4()), "creationTimestamp": rfc3339(now)}
    if namespace is not None:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(labels)
    return meta


def ready_condition(status: str, now: float) -> dict:
    reason, message = {"True": ("KubeletReady", "kubelet is posting ready status"),
                       "Unknown": ("NodeStatusUnknown", "Kubelet stopped posting node status.")}[status]
    stamp = rfc3339(now)
    return {"type": "Ready", "status": status, "lastHeartbeatTime": stamp, "lastTransitionTime": stamp,
            "reason": reason, "message": message}


def node_object(name: str, *, labels: dict, taints: list[dict], provider_id: str, cpu: str, memory: str,
                index: int, ready: bool, now: float) -> dict:
    base = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
            "node.kubernetes.io/instance-type": "k3s", "k3s.io/hostname": name,
            "k3s.io/internal-ip": f"10.240.{index // 250}.{index % 250 + 4}"}
    allocatable_memory = f"{int(quantity(memory) - 100 * 2**20) // 1024}Ki"  # minus the 100Mi eviction threshold
    node = {"kind": "Node", "apiVersion": "v1", "metadata": new_meta(name, None, {**base, **labels}, now),
            "spec": {"podCIDR": f"10.42.{index}.0/24", "podCIDRs": [f"10.42.{index}.0/24"],
                     "providerID": provider_id or f"k3s://{name}"},
            "status": {"capacity": {"cpu": cpu, "memory": memory, "pods": "110"},
                       "allocatable": {"cpu": cpu, "memory": allocatable_memory, "pods": "110"},
                       "conditions": [ready_condition("True" if ready else "Unknown", now)],
                       "addresses": [{"type": "InternalIP", "address": base["k3s.io/internal-ip"]},
                                     {"type": "Hostname", "address": name}],
                       "nodeInfo": {"kubeletVersion": K3S_VERSION, "kubeProxyVersion": K3S_VERSION,
                                    "operatingSystem": "linux", "architecture": "amd64",
                                    "osImage": "Ubuntu 22.04.5 LTS", "containerRuntimeVersion":
                                    "containerd://1.7.22-k3s1"}}}
    node["metadata"]["annotations"] = {"node.alpha.kubernetes.io/ttl": "0", "k3s.io/node-args": '["agent"]'}
    if taints:
        node["spec"]["taints"] = taints
    return node


OWNER_API = {"ReplicaSet": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "Job": "batch/v1",
             "Node": "v1"}


def pod_object(name: str, namespace: str, *, labels: dict, owner: tuple[str, str, str] | None,
               requests: dict | None, node: str | None, tolerations: list | None = None,
               annotations: dict | None = None, now: float) -> dict:
    meta = new_meta(name, namespace, labels, now)
    if owner:
        kind, owner_name, owner_uid = owner
        meta["ownerReferences"] = [{"apiVersion": OWNER_API.get(kind, "v1"), "kind": kind, "name": owner_name,
                                    "uid": owner_uid, "controller": True, "blockOwnerDeletion": True}]
    if annotations:
        meta["annotations"] = dict(annotations)
    container = {"name": "main", "image": "registry.k8s.io/pause:3.9", "resources": {}}
    if requests:
        container["resources"]["requests"] = {k: str(v) for k, v in requests.items()}
    spec = {"containers": [container], "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
            "schedulerName": "default-scheduler", "tolerations": list(tolerations or [])}
    if node:
        spec["nodeName"] = node
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": spec,
            "status": {"phase": "Pending", "qosClass": "Burstable" if requests else "BestEffort"}}


def pod_requests(pod: dict) -> tuple[float, float]:
    cpu = mem = 0.0
    for container in pod["spec"].get("containers", []):
        requests = container.get("resources", {}).get("requests", {})
        cpu += quantity(requests.get("cpu", 0))
        mem += quantity(requests.get("memory", 0))
    return cpu, mem


def set_pod_running(pod: dict, node: dict, ready: bool, now: float) -> None:
    stamp = rfc3339(now)
    status = pod["status"]
    status["phase"] = "Running"
    status.setdefault("startTime", stamp)
    status["hostIP"] = node["status"]["addresses"][0]["address"]
    status["conditions"] = [{"type": "PodScheduled", "status": "True", "lastTransitionTime": stamp},
                            {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": stamp}]
