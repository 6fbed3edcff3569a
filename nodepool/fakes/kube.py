"""In-memory Kube: the port's semantics without a server, for unit tests.

Same contract as KubeClient against KubeSim (tests/adapters/test_kube_contract.py): label
selectors, resourceVersion conflicts, the cordon taint, PDB-aware evictions, idempotent
deletes, secrets. No controllers: an evicted pod is simply gone, or, given a `clock`, Terminating
until its grace period has passed by that clock (as a kubelet whose containers use all of it).
`fail_next(err, n)` makes the next n calls raise; `writes` records every write for assertions.
"""
from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from nodepool.core.clock import Clock
from nodepool.core.errors import AlreadyExists, Conflict, NodepoolError, NotFound
from nodepool.core.model import Node, Pod, Snapshot, Taint
from nodepool.core.quantity import quantity

UNSCHEDULABLE = Taint("node.kubernetes.io/unschedulable", "", "NoSchedule")


class Revisions:
    """The store's one resourceVersion counter (etcd's revision): `next()` is a change, `last` the
    version a list taken now carries."""

    def __init__(self) -> None:
        self.last = 0

    def __next__(self) -> int:
        self.last += 1
        return self.last


def label_match(selector: str | None, labels: dict) -> bool:
    for term in (t.strip() for t in (selector or "").split(",") if t.strip()):
        if "!=" in term:
            key, value = (s.strip() for s in term.split("!=", 1))
            ok = labels.get(key) != value
        elif "=" in term:
            key, value = (s.strip() for s in term.replace("==", "=").split("=", 1))
            ok = labels.get(key) == value
        else:
            ok = (term[1:] not in labels) if term.startswith("!") else term in labels
        if not ok:
            return False
    return True


class FakeKube:
    def __init__(self, clock: Clock | None = None):
        self.clock = clock  # set: evicted pods stay Terminating for their grace period by this clock
        self._nodes: dict[str, Node] = {}
        self._pods: dict[tuple[str, str], Pod] = {}
        self._labels: dict[tuple[str, str], dict] = {}
        self._replicas: dict[tuple[str, str], int] = {}  # (namespace, owner): what its controller wants
        self._pdbs: dict[tuple[str, str], dict] = {}
        self._secrets: dict[tuple[str, str], dict] = {}
        self._rv = Revisions()
        self._frozen: Snapshot[Node] | None = None
        self._failures: list[NodepoolError] = []
        self.writes: list[tuple] = []
        self._evicting = threading.Lock()

    def objects(self, path: str, what: str) -> Snapshot[dict]:
        """The fake keeps model values, not wire JSON: its raw listings are never complete (the
        autoscaler's own tests use nodepool/fakes/autoscale_cluster.py's view instead)."""
        return Snapshot((), complete=False, error=f"{what}: FakeKube keeps no raw objects")

    def fail_next(self, error: NodepoolError, times: int = 1) -> None:
        self._failures.extend([error] * times)

    def _check(self) -> None:
        if self._failures:
            raise self._failures.pop(0)

    # -- seeds (same names and shapes as KubeSim's) -------------------------------------------
    def add_node(self, name: str, *, labels: dict | None = None, taints=(), provider_id: str = "",
                 ready: bool = True, unschedulable: bool = False, cpu: str = "4", memory: str = "16Gi") -> Node:
        taints = tuple(t if isinstance(t, Taint) else Taint(t["key"], t.get("value", ""), t["effect"])
                       for t in taints) + ((UNSCHEDULABLE,) if unschedulable else ())
        now = datetime.now(timezone.utc).replace(microsecond=0)
        self._nodes[name] = Node(name, provider_id or f"k3s://{name}", ready if ready else None, now, unschedulable,
                                 {"kubernetes.io/hostname": name, **(labels or {})}, taints, str(next(self._rv)),
                                 f"uid-{name}", now, round(quantity(cpu) * 1000), round(quantity(memory)))
        return self._nodes[name]

    def add_pods(self, node: str | None, n: int = 1, *, owner: str | None = "ReplicaSet/web",
                 namespace: str = "default", labels: dict | None = None, requests: dict | None = None,
                 tolerations: list | None = None) -> list[str]:
        kind, _, owner_name = (owner or "").rpartition("/")
        if owner:
            self._replicas[(namespace, owner_name)] = self._replicas.get((namespace, owner_name), 0) + n
        names = []
        for _ in range(n):
            name = f"{owner_name or 'pod'}-{next(self._rv)}"
            running = node is not None and self._nodes[node].ready is True
            self._pods[(namespace, name)] = Pod(
                name, namespace, node, "Running" if running else "Pending", (kind or "ReplicaSet") if owner else None,
                cpu_m=round(quantity((requests or {}).get("cpu", 0)) * 1000),
                memory_b=round(quantity((requests or {}).get("memory", 0))), created_at=datetime.now(timezone.utc))
            self._labels[(namespace, name)] = {**({"app": owner_name} if owner else {}), **(labels or {})}
            names.append(name)
        return names

    def add_mirror_pod(self, node: str, name: str = "kube-vip", namespace: str = "kube-system") -> str:
        pod = Pod(f"{name}-{node}", namespace, node, "Running", "Node", mirror=True)
        self._pods[(namespace, pod.name)], self._labels[(namespace, pod.name)] = pod, {"component": name}
        return pod.name

    def add_pdb(self, name: str, *, selector: dict, namespace: str = "default", min_available=None,
                max_unavailable=None) -> dict:
        self._pdbs[(namespace, name)] = {"selector": dict(selector), "minAvailable": min_available,
                                         "maxUnavailable": max_unavailable}
        return self._pdbs[(namespace, name)]

    def add_secret(self, namespace: str, name: str, *, type: str = "Opaque", data: dict | None = None,
                   labels: dict | None = None) -> dict:
        self.create_secret(namespace, name, type=type, string_data=data or {}, labels=labels)
        return self._secrets[(namespace, name)]

    def set_ready(self, name: str, ready: bool | None, since: datetime | None = None) -> None:
        """`since`: the Ready condition's new lastTransitionTime (unchanged when not given)."""
        node = self._nodes[name]
        self._nodes[name] = replace(node, ready=ready, ready_since=since or node.ready_since,
                                    resource_version=str(next(self._rv)))

    def freeze_nodes(self, listed: Snapshot[Node] | None = None) -> None:
        """Knob: from now on the Node list answers `listed` (an earlier `nodes()`; default: the list as
        it is now), as a cache stuck on an older snapshot does (GETs of one Node stay current);
        `thaw_nodes()` ends it."""
        self._frozen = listed or self.nodes()

    def thaw_nodes(self) -> None:
        self._frozen = None

    # -- nodes ------------------------------------------------------------------------------
    def nodes(self, label_selector: str | None = None) -> Snapshot[Node]:
        self._check()
        if self._frozen is not None:
            return self._frozen
        return Snapshot(tuple(n for _, n in sorted(self._nodes.items()) if label_match(label_selector, n.labels)),
                        version=str(self._rv.last))

    def node(self, name: str) -> Node | None:
        self._check()
        return self._nodes.get(name)

    def patch_node(self, name: str, *, unschedulable: bool | None = None,
                   labels: dict[str, str | None] | None = None, taints: Iterable[Taint] | None = None,
                   resource_version: str | None = None) -> Node:
        self._check()
        node = self._nodes.get(name)
        if node is None:
            raise NotFound(f"patch node {name}: not found")
        if resource_version and resource_version != node.resource_version:
            raise Conflict(f"patch node {name}: the object has been modified")
        merged = {**node.labels, **(labels or {})}
        unschedulable = node.unschedulable if unschedulable is None else unschedulable
        kept = tuple(t for t in (node.taints if taints is None else tuple(taints)) if t.key != UNSCHEDULABLE.key)
        node = replace(node, unschedulable=unschedulable, labels={k: v for k, v in merged.items() if v is not None},
                       taints=kept + ((UNSCHEDULABLE,) if unschedulable else ()), resource_version=str(next(self._rv)))
        self._nodes[name] = node
        self.writes.append(("patch_node", name))
        return node

    def delete_node(self, name: str) -> bool:
        self._check()
        self.writes.append(("delete_node", name))
        if self._nodes.pop(name, None) is None:
            return False
        next(self._rv)
        for key in [k for k, p in self._pods.items() if p.node == name]:
            self._pods.pop(key)
        return True

    # -- pods -------------------------------------------------------------------------------
    def pods_on(self, node: str) -> list[Pod]:
        self._check()
        self._kubelets()
        return [p for _, p in sorted(self._pods.items()) if p.node == node]

    def _kubelets(self) -> None:
        """Terminating pods whose grace period has passed are gone."""
        if self.clock is not None:
            now = self.clock.now()
            for key in [k for k, p in self._pods.items() if p.deleting_at is not None and p.deleting_at <= now]:
                del self._pods[key]

    def pods(self, field_selector: str | None = None) -> Snapshot[Pod]:
        self._check()
        self._kubelets()
        terms = [t.replace("==", "=") for t in (field_selector or "").split(",") if t.strip()]

        def match(pod: Pod) -> bool:
            values = {"spec.nodeName": pod.node or "", "status.phase": pod.phase, "metadata.namespace": pod.namespace,
                      "metadata.name": pod.name}
            for term in terms:
                negate = "!=" in term
                path, value = term.replace("!=", "=").split("=", 1)
                if (values[path.strip()] == value.strip()) == negate:
                    return False
            return True
        return Snapshot(tuple(p for _, p in sorted(self._pods.items()) if match(p)))

    def evict(self, pod: Pod, grace_s: int | None = None) -> bool:
        self._check()
        key = (pod.namespace, pod.name)
        with self._evicting:  # the API server checks a PDB and evicts as one step; drains evict in parallel
            current = self._pods.get(key)
            if current is None:
                return True
            if current.phase == "Running" and not current.terminating and not self._budget_allows(current):
                return False
            self.writes.append(("evict", pod.namespace, pod.name, grace_s))
            if self.clock is None:
                del self._pods[key]
            elif not current.terminating:
                grace = 30 if grace_s is None else grace_s
                self._pods[key] = replace(current, terminating=True,
                                          deleting_at=self.clock.now() + timedelta(seconds=grace))
        return True

    def _healthy(self, pod: Pod) -> bool:
        node = self._nodes.get(pod.node or "")
        return pod.phase == "Running" and not pod.terminating and node is not None and node.ready is True

    def _budget_allows(self, pod: Pod) -> bool:
        labels = self._labels.get((pod.namespace, pod.name), {})
        budgets = [b for (ns, _), b in self._pdbs.items()
                   if ns == pod.namespace and all(labels.get(k) == v for k, v in b["selector"].items())]
        if len(budgets) > 1:
            return False
        if not budgets:
            return True
        budget = budgets[0]
        members = [((ns, n), p) for (ns, n), p in self._pods.items() if ns == pod.namespace
                   and all(self._labels.get((ns, n), {}).get(k) == v for k, v in budget["selector"].items())]
        owners = {str(self._labels[key].get("app")) for key, p in members if p.owner_kind}
        expected = sum(self._replicas.get((pod.namespace, o), 0) for o in owners) + sum(
            1 for _, p in members if not p.owner_kind)
        healthy = sum(1 for _, p in members if self._healthy(p))

        def count(value) -> int:
            return math.ceil(int(value[:-1]) * expected / 100) if isinstance(value, str) else int(value)
        desired = count(budget["minAvailable"]) if budget["minAvailable"] is not None \
            else max(0, expected - count(budget["maxUnavailable"]))
        if not self._healthy(pod) and healthy >= desired:
            return True
        return healthy - desired > 0

    def delete_pod(self, pod: Pod, grace_s: int | None = None) -> None:
        self._check()
        self.writes.append(("delete_pod", pod.namespace, pod.name, grace_s))
        self._pods.pop((pod.namespace, pod.name), None)

    # -- secrets ----------------------------------------------------------------------------
    def secret(self, namespace: str, name: str) -> dict | None:
        self._check()
        secret = self._secrets.get((namespace, name))
        return None if secret is None else {**secret, "data": dict(secret["data"]), "labels": dict(secret["labels"])}

    def create_secret(self, namespace: str, name: str, *, type: str, string_data: dict[str, str],
                      labels: dict[str, str] | None = None) -> None:
        self._check()
        if (namespace, name) in self._secrets:
            raise AlreadyExists(f"create secret {namespace}/{name}: already exists")
        self.writes.append(("create_secret", namespace, name))
        self._secrets[(namespace, name)] = {
            "name": name, "namespace": namespace, "type": type, "labels": dict(labels or {}),
            "data": {k: str(v) for k, v in string_data.items()}, "created_at": datetime.now(timezone.utc),
            "resource_version": str(next(self._rv)), "uid": f"uid-{namespace}-{name}"}

    def delete_secret(self, namespace: str, name: str) -> bool:
        self._check()
        self.writes.append(("delete_secret", namespace, name))
        return self._secrets.pop((namespace, name), None) is not None

    def secrets(self, namespace: str, field_selector: str | None = None) -> list[dict]:
        self._check()
        wanted = dict(t.split("=", 1) for t in (field_selector or "").split(",") if "=" in t)
        fields = {"type": "type", "metadata.name": "name", "metadata.namespace": "namespace"}
        return [found for (ns, n), s in sorted(self._secrets.items())
                if ns == namespace and all(s.get(fields[k.strip()]) == v.strip() for k, v in wanted.items())
                and (found := self.secret(ns, n)) is not None]
