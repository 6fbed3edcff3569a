"""The node-side helper on each simulated VM: `python3 -m agent ...` as its own process.

`Helper(stack, vm, disks, logs)` is one VM as cloud-init sets it up: node.env (NODEPOOL_*) pointing
at that VM's IMDS in the simulator and at the app in the dev host, and a disk folder for what the
helper and k3s write (k3s config, node password). k3s itself is `python -m sim.k3s_agent`, which
presents what the helper wrote to the simulated k3s supervisor. Each process's output is timestamped
as it arrives and appended to LOGS/<hostname>.log.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

from localenv.stack import LocalStack
from sim.kube.wire import K3S_VERSION

ROOT = Path(__file__).resolve().parent.parent


class Proc:
    """One helper process: started in its own session (Ctrl-C is the demo's to handle), output kept."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path):
        self.lines: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self._log = open(log, "a", encoding="utf-8")
        self._log.write(f"--- python3 {' '.join(argv[1:])}\n")
        self.popen = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.popen.stdout:
            with self._lock:
                self.lines.append((time.time(), line.rstrip("\n")))
                self._log.write(line)
                self._log.flush()

    def first(self, text: str) -> float | None:
        """When the first line containing `text` arrived."""
        with self._lock:
            return next((at for at, line in self.lines if text in line), None)

    def text(self) -> str:
        with self._lock:
            return "\n".join(line for _, line in self.lines)

    def wait(self, timeout: float) -> int | None:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            if self.wait(5) is None:
                self.popen.kill()
                self.popen.wait()
        self._reader.join(timeout=5)
        self._log.close()


class Helper:
    def __init__(self, stack: LocalStack, vm, disks: Path, logs: Path):
        self.stack, self.vm = stack, vm
        self.disk, self.log = disks / vm.computer_name, logs / f"{vm.computer_name}.log"
        self.disk.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, Proc] = {}

    @property
    def name(self) -> str:
        return self.vm.computer_name

    def node_env(self) -> dict[str, str]:
        """node.env as agent cloud-init writes it, pointed at the simulator and the dev host."""
        sim = self.stack.sim
        config, password = self.disk / "etc/rancher/k3s/config.yaml", self.disk / "etc/rancher/node/password"
        k3s = [sys.executable, "-m", "sim.k3s_agent", "--config", str(config), "--password-file", str(password),
               "--control", sim.control_url]
        return {"NODEPOOL_IMDS_URL": sim.imds_for(self.vm.name), "NODEPOOL_API_URL": self.stack.api,
                "NODEPOOL_AUDIENCE": sim.audience, "NODEPOOL_FUNCTION_KEY": self.stack.function_key,
                "NODEPOOL_NODE_NAME": self.name, "NODEPOOL_K3S_CONFIG": str(config),
                "NODEPOOL_NODE_PASSWORD_FILE": str(password), "NODEPOOL_K3S_START": shlex.join(k3s),
                "NODEPOOL_K3S_VERSION": K3S_VERSION,
                "NODEPOOL_NODE_CREDENTIAL_FILE": str(self.disk / "var/lib/nodepool/node-credential")}

    def master_env(self) -> dict[str, str]:
        """What master cloud-init hands `agent register`: files the k3s server wrote, and its URL."""
        kube = self.stack.sim.kube
        files = {"credential": kube.token, "agent-token": kube.agent_token}
        for name, secret in files.items():
            path = self.disk / name
            path.write_text(secret + "\n")
            path.chmod(0o600)
        return {"NODEPOOL_IMDS_URL": self.stack.sim.imds_for(self.vm.name), "NODEPOOL_API_URL": self.stack.api,
                "NODEPOOL_AUDIENCE": self.stack.sim.audience, "NODEPOOL_FUNCTION_KEY": self.stack.function_key,
                "NODEPOOL_CA_FILE": kube.ca_file, "NODEPOOL_CREDENTIAL_FILE": str(self.disk / "credential"),
                "NODEPOOL_AGENT_TOKEN_FILE": str(self.disk / "agent-token"), "NODEPOOL_SERVER_URL": kube.url,
                "NODEPOOL_K3S_VERSION": K3S_VERSION, "NODEPOOL_REGISTER_TIMEOUT": "30"}

    def run(self, command: str, *args: str) -> Proc:
        """`python3 -m agent COMMAND ARGS` on this VM; only this VM's NODEPOOL_* settings reach it."""
        settings = self.master_env() if command == "register" else self.node_env()
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("NODEPOOL_")}
        env = {**inherited, **settings, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.procs[command] = Proc([sys.executable, "-m", "agent", command, *args], env, self.log)
        return self.procs[command]

    def stop(self) -> None:
        """The VM is gone (or the demo ends): its helper processes go with it."""
        for proc in self.procs.values():
            proc.stop()
