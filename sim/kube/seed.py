"""Seed and inspect the simulated cluster from Python, without going through HTTP.

Owners are given as "Kind/name" ("ReplicaSet/web", "StatefulSet/db", "Job/batch") or a
bare name (a ReplicaSet); their pods get the label app=<name>, so a PDB can select them.
Inspection helpers return deep copies: tests cannot change the server's state by accident.
"""
from __future__ import annotations

import copy
import random

from sim.kube.pods import _ALPHABET
from sim.kube.wire import ApiError


class Seeds:
    cluster = None  # set by KubeSim

    def add_node(self, name: str, *, labels: dict | None = None, taints=(), provider_id: str = "",
                 ready: bool = True, unschedulable: bool = False, cpu: str = "4", memory: str = "16Gi") -> dict:
        """A registered Node whose kubelet heartbeats (ready) or is silent (Ready=Unknown at once)."""
        with self.cluster.lock:
            self.cluster.register_node(name, labels=labels, taints=[self.taint(t) for t in taints],
                                       provider_id=provider_id, cpu=cpu, memory=memory, ready=ready)
            if unschedulable:
                self.cluster.patch_node(name, {"spec": {"unschedulable": True}}, "application/merge-patch+json")
            return copy.deepcopy(self.cluster.store.get("nodes", None, name))

    def add_pods(self, node: str | None, n: int = 1, *, owner: str | None = "ReplicaSet/web",
                 namespace: str = "default", labels: dict | None = None, requests: dict | None = None,
                 tolerations: list | None = None) -> list[str]:
        """n pods of `owner` bound to `node` (Running if its kubelet is up), or Pending if node is None."""
        with self.cluster.lock:
            if node is not None:
                self.cluster.store.get("nodes", None, node)
            ref = None
            if owner:
                kind, _, name = owner.rpartition("/")
                ref = self.cluster.pods.owner(kind or "ReplicaSet", name, namespace, requests=requests,
                                              tolerations=tolerations)
                ref.replicas += n
            names = []
            for _ in range(n):
                name = None
                if ref and ref.kind == "StatefulSet":
                    name = f"{ref.name}-{ref.replicas - n + len(names)}"
                pod = self.cluster.pods.spawn(ref, namespace, node, name=name, labels=labels, requests=requests,
                                              tolerations=tolerations)
                names.append(pod["metadata"]["name"])
            return names

    def add_mirror_pod(self, node: str, name: str = "kube-vip", namespace: str = "kube-system") -> str:
        """A static pod of the kubelet, mirrored in the API (annotation kubernetes.io/config.mirror)."""
        with self.cluster.lock:
            return self.cluster.pods.mirror(node, name, namespace)["metadata"]["name"]

    def add_daemonset(self, name: str, namespace: str = "kube-system", requests: dict | None = None) -> None:
        with self.cluster.lock:
            self.cluster.pods.add_daemonset(name, namespace, requests)

    def add_pdb(self, name: str, *, selector: dict, namespace: str = "default", min_available=None,
                max_unavailable=None) -> dict:
        spec = {"selector": {"matchLabels": dict(selector)}}
        if min_available is not None:
            spec["minAvailable"] = min_available
        if max_unavailable is not None:
            spec["maxUnavailable"] = max_unavailable
        return copy.deepcopy(self.cluster.create_pdb(namespace, {"metadata": {"name": name}, "spec": spec}))

    def add_secret(self, namespace: str, name: str, *, type: str = "Opaque", data: dict | None = None,
                   labels: dict | None = None) -> dict:
        body = {"metadata": {"name": name, "labels": labels or {}}, "type": type, "stringData": data or {}}
        return copy.deepcopy(self.cluster.create_secret(namespace, body))

    def create_pod(self, namespace: str, body: dict) -> dict:
        """POST .../pods: the fields the simulation uses (labels, owner, nodeName, requests, tolerations)."""
        meta, spec = body.get("metadata") or {}, body.get("spec") or {}
        requests = {}
        for container in spec.get("containers") or ():
            requests.update((container.get("resources") or {}).get("requests") or {})
        with self.cluster.lock:
            name = meta.get("name")
            if not name:
                name = f"{meta.get('generateName', 'pod-')}{''.join(random.choices(_ALPHABET, k=5))}"
            if self.cluster.store.find("pods", namespace, name):
                raise ApiError(409, "AlreadyExists", f'pods "{name}" already exists', {"name": name, "kind": "pods"})
            owner = None
            if refs := meta.get("ownerReferences"):
                owner = self.cluster.pods.owner(refs[0]["kind"], refs[0]["name"], namespace, labels=meta.get("labels"),
                                                requests=requests or None, tolerations=spec.get("tolerations"))
                owner.replicas += 1
            return self.cluster.pods.spawn(owner, namespace, spec.get("nodeName"), name=name,
                                           labels=meta.get("labels"), requests=requests or None,
                                           annotations=meta.get("annotations"), tolerations=spec.get("tolerations"))

    # -- inspection -----------------------------------------------------------------------
    def node(self, name: str) -> dict | None:
        with self.cluster.lock:
            return copy.deepcopy(self.cluster.store.find("nodes", None, name))

    def pod(self, namespace: str, name: str) -> dict | None:
        with self.cluster.lock:
            return copy.deepcopy(self.cluster.store.find("pods", namespace, name))

    def pods(self, node: str | None = None, namespace: str | None = None) -> list[dict]:
        """Pods on `node` ("" for unbound ones), or all; optionally in one namespace."""
        with self.cluster.lock:
            store = self.cluster.store
            keys = sorted(store.pods_by_node.get(node, ())) if node is not None else None
            pods = store.items("pods", keys)
            return copy.deepcopy([p for p in pods if namespace is None or p["metadata"]["namespace"] == namespace])

    def secret(self, namespace: str, name: str) -> dict | None:
        with self.cluster.lock:
            return copy.deepcopy(self.cluster.store.find("secrets", namespace, name))
