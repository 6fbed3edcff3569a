"""The simulated VMs' kubelets, against a real kube-apiserver: the only part of Kubernetes we play
when the control plane is real (localenv/control_plane/).

Each kubelet speaks the API as a kubelet does, with its own client certificate
(`system:node:<name>` in `system:nodes`), so the Node authorizer and NodeRestriction judge it:
- registers its Node (conditions, capacity, addresses, the k3s agent's labels and taints);
- renews its Lease in kube-node-lease every `heartbeat_s` while its VM runs, and nothing
  more once the VM stops or dies (nodelifecycle then marks the Node Ready=Unknown);
- reports the pods bound to it Running and Ready (what the disruption controller counts);
- finishes a pod's graceful deletion once its deletionTimestamp (now + grace) has passed,
  with a DELETE of grace 0 as the kubelet does when the containers are gone.
One thread serves every kubelet; as VmHooks the simulator's VMs drive them.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import requests

log = logging.getLogger(__name__)
KUBELET_VERSION = "v1.37.2+k3s1"
LEASE_DURATION_S = 40  # what kubelet writes (nodeLeaseDurationSeconds)


def stamp(at: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if at is None else at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass
class Kubelet:
    name: str
    session: requests.Session
    cert: tuple[str, str]  # its client certificate and key (paths)
    registration: dict
    index: int
    up: bool = True
    lease_due: float = 0.0
    pod_ips: dict[str, str] = field(default_factory=dict)  # pod uid -> its IP


class Kubelets:
    def __init__(self, server: str, ca_file: str, pki, *, heartbeat_s: float = 1.0, tick_s: float = 0.2):
        self.server, self.ca_file, self.pki = server, ca_file, pki
        self.heartbeat_s, self.tick_s = heartbeat_s, tick_s
        self.kubelets: dict[str, Kubelet] = {}
        self.lock = threading.RLock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kubelets", daemon=True)
        self._thread.start()

    # -- what the simulator's VMs do ------------------------------------------------------------
    def register(self, name: str, *, labels: dict | None = None, taints=(), provider_id: str = "",
                 cpu: str = "4", memory: str = "16Gi", pods: str = "110") -> dict:
        """A kubelet starts on `name` and registers its Node (it adopts one that exists)."""
        with self.lock:
            kubelet = self.kubelets.get(name)
            if kubelet is None:
                cert = self.pki.client(f"system:node:{name}", ["system:nodes"])
                kubelet = self.kubelets[name] = Kubelet(name, requests.Session(), cert, {}, len(self.kubelets) + 1)
            kubelet.registration = {"labels": dict(labels or {}), "taints": list(taints), "provider_id": provider_id,
                                    "cpu": cpu, "memory": memory, "pods": pods}
            kubelet.up = True
        try:
            return self._register(kubelet)
        except Exception:
            kubelet.up = False  # a kubelet whose Node was refused does not run
            raise

    def vm_started(self, name: str, provider_id: str = "") -> None:
        """A VM whose kubelet registered before boots again: it registers (or re-registers) its Node."""
        with self.lock:
            kubelet = self.kubelets.get(name)
        if kubelet is not None and kubelet.registration:
            kubelet.up = True
            self._register(kubelet)

    def vm_stopped(self, name: str) -> None:
        with self.lock:
            if name in self.kubelets:
                self.kubelets[name].up = False

    def vm_deleted(self, name: str) -> None:
        with self.lock:
            kubelet = self.kubelets.pop(name, None)
        if kubelet is not None:
            kubelet.session.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        with self.lock:
            for kubelet in self.kubelets.values():
                kubelet.session.close()

    def call(self, name: str, method: str, path: str, body=None) -> requests.Response:
        """Any API call made with the kubelet of `name`'s identity (a mirror pod, a forbidden write...)."""
        with self.lock:
            kubelet = self.kubelets[name]
        return self._call(kubelet, method, path, body)

    # -- the API calls a kubelet makes ------------------------------------------------------------
    def _call(self, kubelet: Kubelet, method: str, path: str, body=None, content_type: str = "application/json"):
        headers = {"Content-Type": content_type} if body is not None else {}
        # verify on every request: a Session's own loses to REQUESTS_CA_BUNDLE in the environment
        return kubelet.session.request(method, self.server + path, json=body, headers=headers, timeout=10,
                                       cert=kubelet.cert, verify=self.ca_file)

    def _register(self, kubelet: Kubelet) -> dict:
        reg, name = kubelet.registration, kubelet.name
        labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                  "node.kubernetes.io/instance-type": "k3s", **reg["labels"]}
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels},
                "spec": {"providerID": reg["provider_id"], **({"taints": reg["taints"]} if reg["taints"] else {})},
                "status": self._node_status(kubelet)}
        if not reg["provider_id"]:
            del node["spec"]["providerID"]
        answer = self._call(kubelet, "POST", "/api/v1/nodes", node)
        if answer.status_code == 409:  # the Node is there: a restarted kubelet reports its status
            answer = self._call(kubelet, "PATCH", f"/api/v1/nodes/{name}/status",
                                {"status": self._node_status(kubelet)}, "application/strategic-merge-patch+json")
        if answer.status_code >= 300:
            raise RuntimeError(f"kubelet {name} could not register its Node: {answer.status_code} {answer.text}")
        self._renew_lease(kubelet, answer.json())
        return answer.json()

    def _node_status(self, kubelet: Kubelet) -> dict:
        now, reg = stamp(), kubelet.registration
        resources = {"cpu": reg["cpu"], "memory": reg["memory"], "pods": reg["pods"], "ephemeral-storage": "100Gi"}

        def condition(kind: str, status: str, reason: str) -> dict:
            return {"type": kind, "status": status, "reason": reason, "message": reason,
                    "lastHeartbeatTime": now, "lastTransitionTime": now}
        return {
            "capacity": resources, "allocatable": resources,
            "conditions": [condition("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                           condition("DiskPressure", "False", "KubeletHasNoDiskPressure"),
                           condition("PIDPressure", "False", "KubeletHasSufficientPID"),
                           condition("Ready", "True", "KubeletReady")],
            "addresses": [{"type": "InternalIP", "address": f"10.0.0.{kubelet.index}"},
                          {"type": "Hostname", "address": kubelet.name}],
            "nodeInfo": {"kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": "", "osImage": "Ubuntu 24.04 LTS",
                         "kernelVersion": "6.8.0-azure", "containerRuntimeVersion": "containerd://2.0.5-k3s1",
                         "operatingSystem": "linux", "architecture": "amd64", "machineID": "", "systemUUID": "",
                         "bootID": ""},
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        }

    def _renew_lease(self, kubelet: Kubelet, node: dict | None = None) -> None:
        path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{kubelet.name}"
        spec = {"holderIdentity": kubelet.name, "leaseDurationSeconds": LEASE_DURATION_S, "renewTime": micro_stamp()}
        answer = self._call(kubelet, "PATCH", path, {"spec": spec}, "application/merge-patch+json")
        if answer.status_code == 404:
            node = node or self._call(kubelet, "GET", f"/api/v1/nodes/{kubelet.name}").json()
            owner = {"apiVersion": "v1", "kind": "Node", "name": kubelet.name, "uid": node["metadata"]["uid"]}
            lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "spec": spec,
                     "metadata": {"name": kubelet.name, "namespace": "kube-node-lease", "ownerReferences": [owner]}}
            answer = self._call(kubelet, "POST", path.rsplit("/", 1)[0], lease)
        kubelet.lease_due = time.monotonic() + self.heartbeat_s
        if answer.status_code >= 300:
            log.warning("kubelet %s: lease renewal answered %s", kubelet.name, answer.status_code)

    def _sync_pods(self, kubelet: Kubelet) -> None:
        answer = self._call(kubelet, "GET", f"/api/v1/pods?fieldSelector=spec.nodeName%3D{kubelet.name}")
        if answer.status_code != 200:
            return
        for pod in answer.json().get("items") or ():
            meta, status = pod["metadata"], pod.get("status") or {}
            path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"
            if meta.get("deletionTimestamp"):
                if time.time() >= _seconds(meta["deletionTimestamp"]):  # the containers had their grace
                    self._call(kubelet, "DELETE", path, {"gracePeriodSeconds": 0,
                                                         "preconditions": {"uid": meta["uid"]}})
                    kubelet.pod_ips.pop(meta["uid"], None)
            elif status.get("phase") == "Pending":
                self._call(kubelet, "PATCH", path + "/status", {"status": self._running(kubelet, pod)},
                           "application/strategic-merge-patch+json")

    def _running(self, kubelet: Kubelet, pod: dict) -> dict:
        now = stamp()
        ip = kubelet.pod_ips.setdefault(pod["metadata"]["uid"], f"10.42.{kubelet.index}.{len(kubelet.pod_ips) + 2}")
        containers = [{"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": True, "started": True,
                       "restartCount": 0, "state": {"running": {"startedAt": now}}}
                      for c in pod["spec"].get("containers") or ()]
        return {"phase": "Running", "hostIP": f"10.0.0.{kubelet.index}", "podIP": ip, "podIPs": [{"ip": ip}],
                "startTime": now, "containerStatuses": containers,
                "conditions": [{"type": kind, "status": "True", "lastTransitionTime": now}
                               for kind in ("PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready")]}

    def _run(self) -> None:
        while not self._stop.wait(self.tick_s):
            with self.lock:
                running = [k for k in self.kubelets.values() if k.up]
            for kubelet in running:
                try:
                    if time.monotonic() >= kubelet.lease_due:
                        self._renew_lease(kubelet)
                    self._sync_pods(kubelet)
                except (requests.RequestException, KeyError, ValueError) as err:
                    log.warning("kubelet %s: %s", kubelet.name, err)
