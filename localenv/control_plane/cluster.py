"""A real Kubernetes control plane on loopback: kine (SQLite) + kube-apiserver +
kube-controller-manager + kube-scheduler, each its own process, built by binaries.py.

    with ControlPlane() as cp:                 # ready when /readyz answers and the controllers run
        KubeClient(cp.url, cp.token, cp.ca_pem) # the admin (system:masters), by bearer token

Storage is kine on SQLite, as in k3s, the distribution the product runs on: the same
datastore layer under the same apiserver, one file, no etcd cluster to bootstrap. The
apiserver serves TLS with bootstrap-token auth, Node + RBAC authorization and NodeRestriction
on top of the default admission plugins. Timers that would make tests wait are shortened
where a flag allows: nodes go NotReady `node_grace_s` after their last heartbeat (50 s by
default in Kubernetes). Logs of every process are in `dir` (`logs(name)`).
"""
from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import requests

from localenv.control_plane import binaries
from localenv.control_plane.pki import Pki
from localenv.waiting import wait_for

ADMIN = "nodepool-admin"
SERVICE_CIDR = "10.43.0.0/16"  # k3s's default
# Every controller that runs by default, and the bootstrap-token cleaner that k3s also runs.
CONTROLLERS = "*,token-cleaner-controller"
START_TIMEOUT_S = 90.0  # a cold apiserver on a busy 2-core machine takes tens of seconds


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kubeconfig(path: Path, server: str, ca: str, cert: str, key: str) -> str:
    path.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: local, cluster: {{server: "{server}", certificate-authority: "{ca}"}}}}]
users: [{{name: me, user: {{client-certificate: "{cert}", client-key: "{key}"}}}}]
contexts: [{{name: local, context: {{cluster: local, user: me}}}}]
current-context: local
""")
    return str(path)


class ControlPlaneError(RuntimeError):
    pass


class ControlPlane:
    def __init__(self, *, node_grace_s: int = 4, folder: Path | None = None):
        self.node_grace_s = node_grace_s
        self._own_dir = folder is None
        self.dir = Path(folder or tempfile.mkdtemp(prefix="kcp-"))
        self.port = 0
        self.token = secrets.token_urlsafe(24)
        self.procs: dict[str, subprocess.Popen] = {}
        self.pki: Pki | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_pem(self) -> str:
        return self.pki.ca_pem

    @property
    def ca_file(self) -> str:
        return self.pki.path("ca.crt")

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> ControlPlane:
        reason = binaries.missing()
        if reason:
            raise ControlPlaneError(reason)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self.pki = Pki.make(self.dir / "pki")
        self.port = _free_port()
        (self.dir / "tokens.csv").write_text(f'{self.token},{ADMIN},{ADMIN},"system:masters"\n')
        self._run("kine", ["--listen-address", f"unix://{self.dir / 'kine.sock'}", "--metrics-bind-address", "0"])
        wait_for(lambda: (self.dir / "kine.sock").exists() or self._died(), START_TIMEOUT_S, what="kine's socket")
        self._run("kube-apiserver", self._apiserver_args())
        wait_for(self._ready, START_TIMEOUT_S, interval=0.2, what="kube-apiserver /readyz")
        for name, user in (("kube-controller-manager", "system:kube-controller-manager"),
                           ("kube-scheduler", "system:kube-scheduler")):
            cert, key = self.pki.client(user)
            config = _kubeconfig(self.dir / f"{name}.kubeconfig", self.url, self.ca_file, cert, key)
            args = ["--kubeconfig", config, "--leader-elect=false", "--secure-port=0"]  # no health port to claim
            self._run(name, args + (self._controller_manager_args() if name == "kube-controller-manager" else []))
        # The ServiceAccount controller makes `default` in every namespace: the controllers run.
        wait_for(lambda: self._get("/api/v1/namespaces/default/serviceaccounts/default") or self._died(),
                 START_TIMEOUT_S, interval=0.2, what="the controller-manager's first ServiceAccount")

    def _apiserver_args(self) -> list[str]:
        p = self.pki.path
        return [
            f"--etcd-servers=unix://{self.dir / 'kine.sock'}", "--bind-address=127.0.0.1",
            f"--secure-port={self.port}", f"--tls-cert-file={p('apiserver.crt')}",
            f"--tls-private-key-file={p('apiserver.key')}", f"--client-ca-file={p('ca.crt')}",
            f"--token-auth-file={self.dir / 'tokens.csv'}", "--enable-bootstrap-token-auth",
            "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
            f"--service-account-key-file={p('sa.pub')}", f"--service-account-signing-key-file={p('sa.key')}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--allow-privileged=true",
            # Loopback is no address for the `kubernetes` Service's endpoints; nothing in-cluster needs them.
            "--endpoint-reconciler-type=none", "--profiling=false",
        ]

    def _controller_manager_args(self) -> list[str]:
        return [
            f"--controllers={CONTROLLERS}", "--use-service-account-credentials=true",
            f"--service-account-private-key-file={self.pki.path('sa.key')}", f"--root-ca-file={self.ca_file}",
            "--node-monitor-period=1s", f"--node-monitor-grace-period={self.node_grace_s}s",
        ]

    def _run(self, name: str, args: list[str]) -> None:
        with open(self.dir / f"{name}.log", "wb") as log:  # the child keeps its own copy of the descriptor
            self.procs[name] = subprocess.Popen([str(binaries.path(name)), *args], cwd=self.dir, stdout=log,
                                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def _died(self) -> bool:
        dead = {name: p.returncode for name, p in self.procs.items() if p.poll() is not None}
        if dead:
            name = next(iter(dead))
            raise ControlPlaneError(f"{name} exited {dead[name]}:\n{self.logs(name)[-3000:]}")
        return False

    def _get(self, path: str) -> dict | None:
        try:
            answer = requests.get(self.url + path, headers={"Authorization": f"Bearer {self.token}"},
                                  verify=self.ca_file, timeout=5)
        except requests.RequestException:
            return None
        return answer.json() if answer.status_code == 200 else None

    def _ready(self) -> bool:
        self._died()
        try:
            return requests.get(self.url + "/readyz", headers={"Authorization": f"Bearer {self.token}"},
                                verify=self.ca_file, timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def logs(self, name: str) -> str:
        path = self.dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Stop the processes, the apiserver's clients first and kine last."""
        for name in ("kube-scheduler", "kube-controller-manager", "kube-apiserver", "kine"):
            proc = self.procs.pop(name, None)
            if proc is None:
                continue
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
