"""KubeSim: a Kubernetes (k3s) API server stand-in over HTTPS, for adapters, tests and demos.

    with KubeSim(grace_s=0.5) as kube:               # or .start() / .stop()
        kube.add_node("agent-0"); kube.add_pods("agent-0", 3, owner="ReplicaSet/web")
        KubeClient(kube.url, kube.token, kube.ca_pem)  # the production adapter

The Azure side of the simulator drives the kubelets: `vm_started`, `vm_stopped`,
`vm_deleted`, and `k3s_agent_join` when an agent boots with a token. Seed helpers build a
cluster directly; `faults` (sim/faults.py) injects faults; `requests` and `faults.counts` count
what happened. The API is served by sim/http.py's Server, as ARM and IMDS are.
"""
from __future__ import annotations

import copy
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable

from sim import tls as tls_mod
from sim.faults import Faults
from sim.http import Server
from sim.kube import routes
from sim.kube.api import make_server
from sim.kube.cluster import Cluster, Kubelet
from sim.kube.disruption import pdb_status
from sim.kube.join import Supervisor
from sim.kube.k3s import JoinRefused, parse_taint
from sim.kube.seed import Seeds
from sim.kube.wire import K3S_VERSION

__all__ = ["KubeSim", "JoinRefused"]
SYSTEM_REQUESTS = {"cpu": "10m", "memory": "20Mi"}
SERVER_LABELS = {"node-role.kubernetes.io/control-plane": "true", "node-role.kubernetes.io/master": "true"}


class KubeSim(Seeds):
    def __init__(self, token: str | None = None, *, grace_s: float = 40.0, terminate_s: float | None = None,
                 unreachable_eviction_s: float = 300.0, tick_s: float = 0.05, host: str = "127.0.0.1",
                 port: int = 0, tls: tls_mod.Tls | None = None, clock: Callable[[], float] = time.time,
                 daemonsets=("kube-system/svclb-traefik",), scrypt_log_n: int = 15, server_secret: str | None = None,
                 auto_join: bool = False, masters=("master0",)):
        self.token = token or secrets.token_urlsafe(24)
        self.tokens = {self.token}
        self.faults, self.requests = Faults(), Counter()
        self.cluster = Cluster(grace_s=grace_s, terminate_s=terminate_s, unreachable_eviction_s=unreachable_eviction_s,
                               clock=lambda: clock() + self.faults.skew())
        self.cluster.controllers.tick_s = tick_s
        self.refusals: list[tuple[str, str]] = []  # (node, reason) of agents the supervisor turned away
        self.tls = tls or tls_mod.shared()
        with open(self.tls.ca_path, "rb") as f:
            self._ca_pem = f.read()
        self.supervisor = Supervisor(self.cluster, self._ca_pem, server_secret=server_secret,
                                     scrypt_log_n=scrypt_log_n)
        for ds in daemonsets:
            namespace, name = ds.split("/")
            self.cluster.pods.add_daemonset(name, namespace, SYSTEM_REQUESTS)
        self.auto_join = auto_join  # a VM that starts joins at once, as if its agent had a valid token
        self.masters = set(masters)  # VMs running the k3s server: their node registers itself
        self._host, self._port = host, port
        self._server: Server | None = None
        self.stopped = threading.Event()

    def snapshot(self, resource: str = "nodes") -> bytes:
        """The whole `resource` list as the API answers it now, for a `stale_list` fault to serve later."""
        return routes.list_objects(self, resource, None, {})

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> KubeSim:
        self.stopped.clear()
        self._server = make_server(self, self._host, self._port).start()
        self.cluster.controllers.start()
        return self

    def stop(self) -> None:
        self.faults.released.set()
        self.stopped.set()  # watches end
        self.cluster.controllers.stop()
        if self._server:
            self._server.stop()
            self._server = None

    def __enter__(self) -> KubeSim:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.port if self._server else self._port

    @property
    def url(self) -> str:
        return f"https://{self._host}:{self.port}"

    @property
    def ca_pem(self) -> str:
        return self._ca_pem.decode()

    @property
    def ca_file(self) -> str:
        return self.tls.ca_path

    @property
    def ca_hash(self) -> str:
        return self.supervisor.ca_hash

    @property
    def agent_token(self) -> str:
        return self.supervisor.agent_token

    def tick(self) -> None:
        """Run the controllers once now (they also run on their own every tick_s)."""
        self.cluster.controllers.tick()

    # -- the Azure side drives the kubelets ------------------------------------------------
    def vm_started(self, name: str, provider_id: str = "") -> None:
        """The VM runs: a kubelet that joined before heartbeats again (re-registering its Node)."""
        with self.cluster.lock:
            kubelet = self.cluster.kubelets.setdefault(name, Kubelet(up=True, provider_id=provider_id))
            kubelet.up = True
            joined = kubelet.registration is not None
        try:
            if name in self.masters and not joined:  # the server's own kubelet: no supervisor check
                self.supervisor.register(name, {"labels": SERVER_LABELS, "taints": [], "provider_id": provider_id,
                                                "cpu": "4", "memory": "16Gi", "password": ""})
                return
            if self.auto_join and not joined:
                self.supervisor.join(name, self.agent_token, secrets.token_hex(16), provider_id=provider_id)
                return
            self.supervisor.restart(name)
        except JoinRefused as err:
            self.refusals.append((name, err.reason))

    def vm_stopped(self, name: str) -> None:
        """The VM stopped or lost its network: heartbeats stop, NotReady after grace_s."""
        with self.cluster.lock:
            if name in self.cluster.kubelets:
                self.cluster.controllers.kubelet_changed(name, False)

    def vm_deleted(self, name: str) -> None:
        """The VM is gone for good; its Node stays (no cloud controller) until someone deletes it."""
        with self.cluster.lock:
            self.vm_stopped(name)
            if name in self.cluster.kubelets:
                self.cluster.kubelets[name].registration = None

    def k3s_agent_join(self, name: str, token: str, node_password: str, labels: dict | None = None, taints=(),
                       provider_id: str = "", *, cpu: str = "4", memory: str = "16Gi") -> dict:
        """An agent starts with `token`: raises JoinRefused like the supervisor, or returns the Node."""
        try:
            return copy.deepcopy(self.supervisor.join(name, token, node_password, labels=labels, taints=taints,
                                                      provider_id=provider_id, cpu=cpu, memory=memory))
        except JoinRefused as err:
            self.refusals.append((name, err.reason))
            raise

    def registration(self) -> dict:
        """What the master registers with the control plane (POST /api/cluster)."""
        return {"server": self.url, "credential": self.token, "ca_cert": self.ca_pem, "ca_hash": self.ca_hash,
                "agent_token": self.agent_token, "k3s_version": K3S_VERSION}

    def create_join_token(self, ttl_s: float | None = 900, description: str = "") -> str:
        """`k3s token create --ttl`: a K10 bootstrap token backed by a kube-system secret."""
        return self.supervisor.create_token(ttl_s, description)

    def pdb(self, namespace: str, name: str) -> dict:
        with self.cluster.lock:
            return pdb_status(self.cluster, self.cluster.store.get("poddisruptionbudgets", namespace, name))

    @staticmethod
    def taint(spec) -> dict:
        return parse_taint(spec)
