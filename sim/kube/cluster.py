"""The simulated cluster's state and its API-level operations on nodes, secrets and PDBs.

One re-entrant lock guards everything (the HTTP handlers, the Python hooks and the
controller loop). Pods live in pods, scheduling and node lifecycle in
controllers, evictions in disruption; they all act on this object.
"""
from __future__ import annotations

import base64
import copy
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sim.kube.patch import apply_patch
from sim.kube.store import Store
from sim.kube.wire import ApiError, new_meta, node_object, quantity

UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@dataclass
class Kubelet:
    """What the simulated VM's kubelet is doing: heartbeating (up) or silent since `since`."""
    up: bool
    since: float = 0.0
    provider_id: str = ""
    registration: dict | None = None  # how it registered, to re-register after a restart


def check_name(resource: str, name: str) -> None:
    if not name or len(name) > 253 or not _NAME.match(name):
        raise ApiError(422, "Invalid", f'{resource} "{name}" is invalid: metadata.name: Invalid value: "{name}": '
                                       "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                                       "characters, '-' or '.'")


class Cluster:
    def __init__(self, *, grace_s: float = 40.0, terminate_s: float | None = None,
                 unreachable_eviction_s: float = 300.0, clock: Callable[[], float] = time.time):
        from sim.kube.controllers import Controllers
        from sim.kube.pods import PodLifecycle

        self.clock = clock
        self.lock = threading.RLock()
        self.wake = threading.Event()
        self.store = Store()
        self.grace_s, self.terminate_s, self.unreachable_eviction_s = grace_s, terminate_s, unreachable_eviction_s
        self.kubelets: dict[str, Kubelet] = {}
        self.node_count = 0
        self.pods = PodLifecycle(self)
        self.controllers = Controllers(self)

    # -- nodes --------------------------------------------------------------------------
    def register_node(self, name: str, *, labels: dict | None = None, taints: list[dict] | None = None,
                      provider_id: str = "", cpu: str = "4", memory: str = "16Gi", ready: bool = True) -> dict:
        """What a kubelet does at start: create its Node, or adopt an existing one as it is (spec and
        providerID included: a new VM under an old name inherits the stale Node), then heartbeat."""
        with self.lock:
            check_name("nodes", name)
            node = self.store.find("nodes", None, name)
            if node is None:
                self.node_count += 1
                node = node_object(name, labels=labels or {}, taints=list(taints or []), provider_id=provider_id,
                                   cpu=cpu, memory=memory, index=self.node_count, ready=ready, now=self.clock())
                self.store.create("nodes", node)
                self.pods.daemon_pods(name)
            kubelet = self.kubelets.setdefault(name, Kubelet(up=ready))
            kubelet.provider_id = node["spec"]["providerID"]
            self.controllers.kubelet_changed(name, ready)
            return node

    def patch_node(self, name: str, body, content_type: str) -> dict:
        with self.lock:
            old = self.store.get("nodes", None, name)
            new = apply_patch(old, body, content_type)
            return self._write_node(old, new)

    def replace_node(self, name: str, body: dict) -> dict:
        with self.lock:
            old = self.store.get("nodes", None, name)
            if not body.get("metadata", {}).get("resourceVersion"):
                raise ApiError(422, "Invalid", f'nodes "{name}" is invalid: metadata.resourceVersion: Invalid '
                                               "value: 0x0: must be specified for an update")
            return self._write_node(old, copy.deepcopy(body))

    def _write_node(self, old: dict, new: dict) -> dict:
        meta, old_meta = new.setdefault("metadata", {}), old["metadata"]
        name = old_meta["name"]
        if meta.get("resourceVersion", old_meta["resourceVersion"]) != old_meta["resourceVersion"]:
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on nodes "{name}": the object has been '
                                            "modified; please apply your changes to the latest version and try again",
                           {"name": name, "kind": "nodes"})
        if meta.get("name", name) != name:
            raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        for immutable in ("name", "uid", "creationTimestamp"):
            meta[immutable] = old_meta[immutable]
        old_provider = old["spec"].get("providerID")
        if old_provider and new.get("spec", {}).get("providerID", old_provider) != old_provider:
            raise ApiError(422, "Invalid", f'nodes "{name}" is invalid: spec.providerID: Forbidden: '
                                           "node updates may not change providerID except from \"\" to valid")
        new["status"] = old["status"]  # status changes only through the status subresource
        new["kind"], new["apiVersion"] = "Node", "v1"
        sync_unschedulable_taint(new)
        old.clear()
        old.update(new)
        self.store.touch("nodes", old)
        self.wake.set()
        return old

    def delete_node(self, name: str) -> dict:
        with self.lock:
            node = self.store.remove("nodes", None, name)
            self.pods.collect_orphans(name)  # the pod GC: pods bound to a missing node go away
            uid = node["metadata"]["uid"]
            for secret in self.store.items("secrets"):  # the garbage collector: owned secrets follow
                if any(ref.get("uid") == uid for ref in secret["metadata"].get("ownerReferences", ())):
                    self.store.remove("secrets", secret["metadata"]["namespace"], secret["metadata"]["name"])
            self.controllers.forget_node(name)
            return node

    # -- secrets and PDBs ----------------------------------------------------------------
    def create_secret(self, namespace: str, body: dict) -> dict:
        with self.lock:
            name = body.get("metadata", {}).get("name", "")
            check_name("secrets", name)
            data = dict(body.get("data") or {})
            for key, value in (body.get("stringData") or {}).items():
                data[key] = base64.b64encode(str(value).encode()).decode()
            meta = new_meta(name, namespace, body["metadata"].get("labels"), self.clock())
            for extra in ("annotations", "ownerReferences"):
                if body["metadata"].get(extra):
                    meta[extra] = body["metadata"][extra]
            secret = {"kind": "Secret", "apiVersion": "v1", "metadata": meta, "type": body.get("type") or "Opaque",
                      "data": data}
            if body.get("immutable"):
                secret["immutable"] = True
            return self.store.create("secrets", secret)

    def create_pdb(self, namespace: str, body: dict) -> dict:
        with self.lock:
            name = body.get("metadata", {}).get("name", "")
            check_name("poddisruptionbudgets", name)
            spec = body.get("spec") or {}
            if ("minAvailable" in spec) == ("maxUnavailable" in spec):
                raise ApiError(422, "Invalid", f'poddisruptionbudgets "{name}" is invalid: spec: Invalid value: '
                                               "minAvailable and maxUnavailable cannot be both set (set one)")
            pdb = {"kind": "PodDisruptionBudget", "apiVersion": "policy/v1",
                   "metadata": new_meta(name, namespace, body["metadata"].get("labels"), self.clock()),
                   "spec": spec}
            return self.store.create("poddisruptionbudgets", pdb)

    def allocatable(self, node: dict) -> tuple[float, float]:
        alloc = node["status"]["allocatable"]
        return quantity(alloc["cpu"]), quantity(alloc["memory"])


def sync_unschedulable_taint(node: dict) -> None:
    """What the node lifecycle controller does on cordon: keep the unschedulable taint in step."""
    spec = node.setdefault("spec", {})
    taints = [t for t in spec.get("taints") or [] if t.get("key") != UNSCHEDULABLE_TAINT]
    if spec.get("unschedulable"):
        old = next((t for t in spec.get("taints") or [] if t.get("key") == UNSCHEDULABLE_TAINT), None)
        taints.append(old or {"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"})
    if taints:
        spec["taints"] = taints
    else:
        spec.pop("taints", None)
