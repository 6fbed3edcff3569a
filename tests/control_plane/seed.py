"""Seeding a real cluster with the helper names FakeKube and KubeSim have (add_node, add_pods,
add_pdb, add_mirror_pod, add_secret), so one contract runs against all three.

Nothing is written as the simulator does it: Nodes come from our kubelets (sim/kubelets.py), pods
from real ReplicaSets, StatefulSets and Jobs through the real scheduler, PDB status from the real
disruption controller. Each helper returns once the cluster shows what was asked (pods Running,
the Node Ready without its not-ready taint, the PDB observed). "default" means this test's own
namespace, so tests sharing one control plane never see each other's pods.
"""
from __future__ import annotations

from localenv.waiting import wait_for
from nodepool.adapters.kube_http import KubeHttp
from nodepool.core.errors import NotFound
from sim.real_kube import RealKube

NOT_READY_TAINTS = {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}
WAIT_S = 60.0  # generous: the machine is shared with other test runs; nothing asserts on speed
APPS = "/apis/apps/v1/namespaces/{ns}/{kind}"
COLLECTIONS = {"ReplicaSet": APPS.replace("{kind}", "replicasets"),
               "StatefulSet": APPS.replace("{kind}", "statefulsets"), "Job": "/apis/batch/v1/namespaces/{ns}/jobs"}


def condition(obj: dict, kind: str) -> str | None:
    return next((c["status"] for c in (obj.get("status") or {}).get("conditions") or () if c["type"] == kind), None)


class RealSeed:
    def __init__(self, admin: KubeHttp, kube: RealKube, namespace: str):
        self.admin, self.kube, self.namespace = admin, kube, namespace

    def _ns(self, namespace: str) -> str:
        return self.namespace if namespace == "default" else namespace

    # -- reading ----------------------------------------------------------------------------------
    def get(self, path: str) -> dict | None:
        try:
            return self.admin.call("GET", path, f"get {path}")
        except NotFound:
            return None

    def node(self, name: str) -> dict | None:
        return self.get(f"/api/v1/nodes/{name}")

    def pods(self, node: str | None = None, namespace: str | None = None) -> list[dict]:
        path = f"/api/v1/namespaces/{self._ns(namespace)}/pods" if namespace else "/api/v1/pods"
        params = {"fieldSelector": f"spec.nodeName={node}"} if node is not None else {}
        return list(self.admin.pages(path, "list pods", params))

    # -- nodes ------------------------------------------------------------------------------------
    def add_node(self, name: str, *, labels: dict | None = None, taints=(), provider_id: str = "",
                 ready: bool = True, unschedulable: bool = False, cpu: str = "4", memory: str = "16Gi") -> dict:
        self.kube.kubelets.register(name, labels=labels, taints=list(taints), provider_id=provider_id, cpu=cpu,
                                    memory=memory)
        if unschedulable:
            self.cordon(name)
        if not ready:
            self.kube.vm_stopped(name)
            return wait_for(lambda: condition(self.node(name), "Ready") == "Unknown" and self.node(name), WAIT_S,
                            interval=0.2, what=f"nodelifecycle marking {name} Ready=Unknown")
        return wait_for(lambda: self._schedulable(name), WAIT_S, interval=0.1, what=f"{name} Ready and untainted")

    def _schedulable(self, name: str) -> dict | None:
        node = self.node(name)
        taints = {t["key"] for t in (node or {}).get("spec", {}).get("taints") or ()}
        return node if node and condition(node, "Ready") == "True" and not taints & NOT_READY_TAINTS else None

    # -- workloads --------------------------------------------------------------------------------
    def add_pods(self, node: str | None, n: int = 1, *, owner: str | None = "ReplicaSet/web",
                 namespace: str = "default", labels: dict | None = None, requests: dict | None = None,
                 tolerations: list | None = None, grace_s: int = 30, pinned: bool = True) -> list[str]:
        """n pods of a real `owner` ("Kind/name"), pinned to `node` by a nodeSelector (so a cordon keeps
        their replacements Pending; `pinned=False`: placed by the scheduler, `node` being the only
        schedulable one); Running on `node` before this returns, unless `node` is None.
        A cordoned `node` is uncordoned while they are placed: the stand-ins bind seeded pods anywhere."""
        cordoned = bool(node and self.node(node)["spec"].get("unschedulable"))
        if cordoned:
            self.cordon(node, False)
        try:
            return self._add_pods(node, n, owner, self._ns(namespace), labels, requests, tolerations, grace_s,
                                  pinned)
        finally:
            if cordoned:
                self.cordon(node, True)

    def cordon(self, node: str, on: bool = True) -> None:
        self.admin.call("PATCH", f"/api/v1/nodes/{node}", "cordon", body={"spec": {"unschedulable": on or None}},
                        content_type="application/merge-patch+json")

    def _add_pods(self, node, n, owner, ns, labels, requests, tolerations, grace_s, pinned) -> list[str]:
        kind, _, name = (owner or "Pod/bare").rpartition("/")
        kind = kind or "ReplicaSet"
        template = {"metadata": {"labels": {"app": name, **(labels or {})}},
                    "spec": {"containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10",
                                             **({"resources": {"requests": requests}} if requests else {})}],
                             "terminationGracePeriodSeconds": grace_s, "tolerations": tolerations or [],
                             **({"nodeSelector": {"kubernetes.io/hostname": node}} if node and pinned else {})}}
        before = {p["metadata"]["name"] for p in self.pods(namespace=ns)}
        if kind == "Pod":
            for i in range(n):
                body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{name}-{len(before) + i}",
                                                                          "namespace": ns, **template["metadata"]},
                        "spec": template["spec"]}
                self.admin.call("POST", f"/api/v1/namespaces/{ns}/pods", "create pod", body=body)
        else:
            self._scale(kind, name, ns, n, template)

        def created() -> list[str]:
            pods = [p for p in self.pods(namespace=ns) if p["metadata"]["name"] not in before
                    and not p["metadata"].get("deletionTimestamp")]
            up = [p for p in pods if node is None or (p["spec"].get("nodeName") == node and
                                                      (p.get("status") or {}).get("phase") == "Running")]
            return sorted(p["metadata"]["name"] for p in up) if len(up) >= n else []
        return wait_for(created, WAIT_S, interval=0.1, what=f"{n} pods of {owner} {'on ' + node if node else ''}")

    def _scale(self, kind: str, name: str, ns: str, n: int, template: dict) -> None:
        """Create the owner with n replicas, or add n to the one there is."""
        path = COLLECTIONS[kind].format(ns=ns)
        current = self.get(f"{path}/{name}")
        field = "parallelism" if kind == "Job" else "replicas"
        if current is not None:
            grown = {"spec": {field: current["spec"][field] + n}}
            self.admin.call("PATCH", f"{path}/{name}", f"scale {kind}", body=grown,
                            content_type="application/merge-patch+json")
            return
        spec = {field: n, "selector": {"matchLabels": {"app": name}}, "template": template}
        if kind == "StatefulSet":
            spec.update(serviceName=name, podManagementPolicy="Parallel")
        if kind == "Job":
            template["spec"]["restartPolicy"] = "Never"
            spec = {"parallelism": n, "completions": n, "template": template}
        api = "batch/v1" if kind == "Job" else "apps/v1"
        body = {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": spec}
        self.admin.call("POST", path, f"create {kind}", body=body)

    def add_mirror_pod(self, node: str, name: str = "kube-vip", namespace: str = "kube-system") -> str:
        """A static pod's mirror, created by the node's own kubelet (NodeRestriction lets it do only that)."""
        uid = self.node(node)["metadata"]["uid"]
        body = {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": f"{name}-{node}", "namespace": self.namespace,
                             "annotations": {"kubernetes.io/config.mirror": "static", "kubernetes.io/config.source":
                                             "file"},
                             "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": node, "uid": uid,
                                                  "controller": True}]},
                "spec": {"nodeName": node, "containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10"}]}}
        answer = self.kube.kubelets.call(node, "POST", f"/api/v1/namespaces/{self.namespace}/pods", body)
        assert answer.status_code == 201, answer.text
        return body["metadata"]["name"]

    def add_pdb(self, name: str, *, selector: dict, namespace: str = "default", min_available=None,
                max_unavailable=None) -> dict:
        """The PDB, returned once the disruption controller has observed it (evictions wait for that)."""
        ns = self._ns(namespace)
        spec = {"selector": {"matchLabels": dict(selector)}}
        if min_available is not None:
            spec["minAvailable"] = min_available
        if max_unavailable is not None:
            spec["maxUnavailable"] = max_unavailable
        path = f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets"
        self.admin.call("POST", path, "create pdb", body={"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                                                          "metadata": {"name": name}, "spec": spec})

        def observed() -> dict | None:
            pdb = self.get(f"{path}/{name}")
            status = (pdb or {}).get("status") or {}
            return pdb if status.get("observedGeneration") == pdb["metadata"]["generation"] else None
        return wait_for(observed, WAIT_S, interval=0.1, what=f"the disruption controller observing PDB {name}")

    def add_secret(self, namespace: str, name: str, *, type: str = "Opaque", data: dict | None = None,
                   labels: dict | None = None) -> dict:
        body = {"apiVersion": "v1", "kind": "Secret", "type": type, "stringData": data or {},
                "metadata": {"name": name, "labels": labels or {}}}
        return self.admin.call("POST", f"/api/v1/namespaces/{namespace}/secrets", "create secret", body=body)
