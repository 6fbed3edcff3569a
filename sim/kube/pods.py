"""Pod lifecycle: creation by "controllers", graceful deletion, and what follows a deletion.

Owners behave like their real controllers: a ReplicaSet or Job replaces a pod as soon as it
starts terminating (new random name, Pending, placed by the scheduler); a StatefulSet
recreates the same name once the old pod is gone; a DaemonSet keeps one pod per node; the
kubelet recreates its mirror (static) pods.

A graceful delete (or an eviction) is what the API server and the kubelet make of it
(kubernetes.io/docs/concepts/workloads/pods/pod-termination; apiserver registry/rest/delete.go
BeforeDelete): the pod keeps its deletionTimestamp (now + grace) and stays Terminating while its
kubelet stops the containers (SIGTERM, SIGKILL when the grace period ends), and is gone from the
API only once they stopped. By default a pod's containers use their whole grace period;
`terminate_s` models applications that exit that long after SIGTERM (capped by the grace period).
A second delete may only shorten the grace period. On a node whose kubelet is silent (its VM
stopped, or cut off) nothing confirms the stop: the pod stays Terminating until the kubelet is
back, the node is deleted (the pod GC) or the delete is forced (gracePeriodSeconds=0).
"""
from __future__ import annotations

import heapq
import random
import time
import uuid
from dataclasses import dataclass, field

from sim.kube.store import key_of
from sim.kube.wire import parse_rfc3339, pod_object, rfc3339, set_pod_running

MIRROR = "kubernetes.io/config.mirror"
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
TOLERATE_ALL = [{"operator": "Exists"}]


@dataclass
class Owner:
    kind: str
    name: str
    namespace: str
    labels: dict
    requests: dict | None = None
    tolerations: list = field(default_factory=list)
    replicas: int = 0
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))
    created: float = field(default_factory=time.time)


class PodLifecycle:
    def __init__(self, cluster):
        self.c = cluster
        self.owners: dict[tuple[str, str, str], Owner] = {}  # (namespace, kind, name)
        self.daemonsets: list[Owner] = []
        self.terminating: dict[str, float | None] = {}  # pod key -> when its kubelet is done (None: silent)
        self._due: list[tuple[float, str]] = []  # (when, pod key), a heap: the controllers' tick pops what is due
        self._replaced: set[str] = set()  # uids already replaced by their controller

    # -- creating ---------------------------------------------------------------------
    def owner(self, kind: str, name: str, namespace: str, *, labels: dict | None = None,
              requests: dict | None = None, tolerations: list | None = None) -> Owner:
        key = (namespace, kind, name)
        if key not in self.owners:
            self.owners[key] = Owner(kind, name, namespace, labels or {"app": name}, requests, tolerations or [])
        return self.owners[key]

    def spawn(self, owner: Owner | None, namespace: str, node: str | None, *, name: str | None = None,
              labels: dict | None = None, requests: dict | None = None, annotations: dict | None = None,
              tolerations: list | None = None) -> dict:
        """Create one pod; bound to `node` (Running if its kubelet is up) or Pending for the scheduler."""
        store = self.c.store
        if name is None:
            prefix = owner.name if owner else "pod"
            name = f"{prefix}-{''.join(random.choices(_ALPHABET, k=5))}"
            while store.find("pods", namespace, name):
                name = f"{prefix}-{''.join(random.choices(_ALPHABET, k=5))}"
        ref = (owner.kind, owner.name, owner.uid) if owner else None
        pod = pod_object(name, namespace, labels={**(owner.labels if owner else {}), **(labels or {})}, owner=ref,
                         requests=requests if requests is not None else (owner.requests if owner else None),
                         node=node, tolerations=tolerations or (owner.tolerations if owner else None),
                         annotations=annotations, now=self.c.clock())
        store.create("pods", pod)
        if node:
            self.start(pod)
        else:
            self.c.wake.set()
        return pod

    def start(self, pod: dict) -> None:
        """The kubelet runs a pod bound to its node, if it is up."""
        node_name = pod["spec"]["nodeName"]
        node, kubelet = self.c.store.find("nodes", None, node_name), self.c.kubelets.get(node_name)
        if node is not None and kubelet is not None and kubelet.up and not pod["metadata"].get("deletionTimestamp"):
            set_pod_running(pod, node, True, self.c.clock())
            self.c.store.touch("pods", pod)

    def daemon_pods(self, node: str) -> None:
        for ds in self.daemonsets:
            self.spawn(ds, ds.namespace, node)

    def add_daemonset(self, name: str, namespace: str, requests: dict | None) -> Owner:
        ds = self.owner("DaemonSet", name, namespace, requests=requests, tolerations=TOLERATE_ALL)
        self.daemonsets.append(ds)
        for node in self.c.store.items("nodes"):
            self.spawn(ds, namespace, node["metadata"]["name"])
        return ds

    def mirror(self, node: str, name: str, namespace: str) -> dict:
        node_obj = self.c.store.get("nodes", None, node)
        owner = Owner("Node", node, "", {"component": name}, uid=node_obj["metadata"]["uid"])
        return self.spawn(owner, namespace, node, name=f"{name}-{node}", annotations={MIRROR: uuid.uuid4().hex},
                          tolerations=TOLERATE_ALL)

    # -- deleting ---------------------------------------------------------------------
    def delete(self, namespace: str, name: str, grace: int | None) -> dict:
        pod = self.c.store.get("pods", namespace, name)
        meta, spec = pod["metadata"], pod["spec"]
        grace = spec.get("terminationGracePeriodSeconds", 30) if grace is None else max(0, int(grace))
        now = self.c.clock()
        if meta.get("deletionTimestamp"):
            return self._shorten(pod, grace, now)
        meta["deletionTimestamp"], meta["deletionGracePeriodSeconds"] = rfc3339(now + grace), grace
        if grace == 0 or not spec.get("nodeName") or pod["status"]["phase"] in ("Succeeded", "Failed"):
            self.finish(pod)
            return pod
        self.c.store.touch("pods", pod)
        self._replace_early(pod)
        kubelet = self.c.kubelets.get(spec["nodeName"])
        up = bool(kubelet and kubelet.up)
        self._until(key_of(namespace, name), now + self.stop_s(grace) if up else None)
        if up and self.stop_s(grace) <= 0:
            self.finish(pod)
        return pod

    def _until(self, key: str, due: float | None) -> None:
        self.terminating[key] = due
        if due is not None:
            heapq.heappush(self._due, (due, key))

    def due(self, now: float) -> list[str]:
        """Keys of the Terminating pods whose kubelet is done by `now` (entries since changed are skipped)."""
        keys = []
        while self._due and self._due[0][0] <= now:
            due, key = heapq.heappop(self._due)
            if self.terminating.get(key) == due:
                keys.append(key)
        return keys

    def stop_s(self, grace: float) -> float:
        """How long the kubelet takes to stop a pod given `grace` seconds: all of them, unless its
        application exits sooner after SIGTERM (`terminate_s`)."""
        return grace if self.c.terminate_s is None else min(grace, self.c.terminate_s)

    def _shorten(self, pod: dict, grace: int, now: float) -> dict:
        """A delete of a pod already Terminating: only a shorter grace period counts (BeforeDelete)."""
        meta = pod["metadata"]
        old = meta.get("deletionGracePeriodSeconds") or 0
        if grace == 0 or old == 0:
            self.finish(pod)
        elif grace < old:
            started = parse_rfc3339(meta["deletionTimestamp"]) - old
            meta["deletionTimestamp"], meta["deletionGracePeriodSeconds"] = rfc3339(started + grace), grace
            self.c.store.touch("pods", pod)
            key = key_of(meta["namespace"], meta["name"])
            due = self.terminating.get(key)
            if due is not None:
                self._until(key, min(due, max(now, started + self.stop_s(grace))))
        return pod

    def finish(self, pod: dict) -> None:
        """The pod is gone from the API; its controller (or kubelet) reacts."""
        meta = pod["metadata"]
        self.c.store.remove("pods", meta["namespace"], meta["name"])
        self.terminating.pop(key_of(meta["namespace"], meta["name"]), None)
        owner = self.owner_of(pod)
        if owner is None or meta["uid"] in self._replaced:
            self._replaced.discard(meta["uid"])
            return
        node = pod["spec"].get("nodeName")
        if owner.kind == "StatefulSet":
            self.spawn(owner, owner.namespace, None, name=meta["name"])
        elif owner.kind == "DaemonSet" and node and self.c.store.find("nodes", None, node):
            self.spawn(owner, owner.namespace, node)
        elif owner.kind == "Node" and self._kubelet_up(node):
            self.spawn(owner, meta["namespace"], node, name=meta["name"], annotations=meta.get("annotations"),
                       tolerations=TOLERATE_ALL)
        elif owner.kind in ("ReplicaSet", "Job"):
            self.spawn(owner, owner.namespace, None)

    def _kubelet_up(self, node: str | None) -> bool:
        kubelet = self.c.kubelets.get(node or "")
        return bool(kubelet and kubelet.up and self.c.store.find("nodes", None, node))

    def _replace_early(self, pod: dict) -> None:
        owner = self.owner_of(pod)
        if owner is not None and owner.kind in ("ReplicaSet", "Job"):
            self._replaced.add(pod["metadata"]["uid"])
            self.spawn(owner, owner.namespace, None)

    def owner_of(self, pod: dict) -> Owner | None:
        refs = pod["metadata"].get("ownerReferences") or ()
        if not refs:
            return None
        ref = refs[0]
        if ref["kind"] == "Node":
            return Owner("Node", ref["name"], "", {}, uid=ref["uid"])
        return self.owners.get((pod["metadata"]["namespace"], ref["kind"], ref["name"]))

    def collect_orphans(self, node: str) -> None:
        for key in list(self.c.store.pods_by_node.get(node, ())):
            self.finish(self.c.store.tables["pods"].objs[key])

    # -- the kubelet --------------------------------------------------------------------
    def kubelet_up(self, node: str) -> None:
        """Run bound pods, mark them Ready, and finish the deletions it was silent about."""
        now = self.c.clock()
        for key in sorted(self.c.store.pods_by_node.get(node, ())):
            pod = self.c.store.tables["pods"].objs[key]
            if key in self.terminating:  # a kubelet back from silence stops the pod again
                self._until(key, now + self.stop_s(pod["metadata"].get("deletionGracePeriodSeconds", 0)))
            else:
                self.start(pod)

    def kubelet_down(self, node: str) -> None:
        """A silent kubelet confirms no stop: its Terminating pods stay until it is back (or the node goes)."""
        for key in self.c.store.pods_by_node.get(node, ()):
            if key in self.terminating:
                self._until(key, None)

    def set_ready(self, node: str, ready: bool) -> None:
        """The node lifecycle controller marks pods of an unreachable node not Ready (and back)."""
        value = "True" if ready else "False"
        for key in self.c.store.pods_by_node.get(node, ()):
            pod = self.c.store.tables["pods"].objs[key]
            for cond in pod["status"].get("conditions", ()):
                if cond["type"] == "Ready" and cond["status"] != value:
                    cond["status"], cond["lastTransitionTime"] = value, rfc3339(self.c.clock())
                    self.c.store.touch("pods", pod)
