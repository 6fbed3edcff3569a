"""The helper on a simulated VM, against the real app in the dev host (tests/fixtures/stack.py).

`Node(stack, vm, disk)` is one VM as the helper sees it: its IMDS (the simulator's, for that VM),
our API in the dev host, and a "disk" folder holding what the helper and k3s write there (k3s
config, node password). `run(...)` runs the helper in this process with the real clock and real
HTTP; `zipapp(...)` runs the built agent.pyz as its own process, configured through NODEPOOL_*
like the systemd units; `kubelet_join()` is the k3s agent presenting what was written to the
simulator's supervisor, which checks token and node password as k3s does.
"""
from __future__ import annotations

import io
import json
import shlex
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from agent.cli import main
from agent.runtime import Runtime
from localenv.waiting import WAIT_S, wait_for
from sim.k3s_agent import parse_config

FAKE_K3S = Path(__file__).with_name("fake_k3s.py")


@dataclass
class Run:
    code: int | None
    log: str
    seconds: float


@dataclass
class Node:
    stack: object
    vm: object  # sim.vm.Vm
    disk: Path
    sleeps: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.vm.computer_name

    @property
    def k3s_config(self) -> Path:
        return self.disk / "etc/rancher/k3s/config.yaml"

    @property
    def password_file(self) -> Path:
        return self.disk / "etc/rancher/node/password"

    @property
    def credential_file(self) -> Path:
        return self.disk / "var/lib/nodepool/node-credential"

    @property
    def started(self) -> Path:
        return self.disk / "k3s-started.json"

    def env(self) -> dict[str, str]:
        """node.env as cloud-init writes it, pointed at the simulator and the dev host."""
        sim = self.stack.sim
        return {"NODEPOOL_IMDS_URL": sim.imds_for(self.vm.name), "NODEPOOL_API_URL": self.stack.host.url + "/api",
                "NODEPOOL_AUDIENCE": sim.audience, "NODEPOOL_FUNCTION_KEY": self.stack.host.function_key,
                "NODEPOOL_NODE_NAME": self.name, "NODEPOOL_K3S_CONFIG": str(self.k3s_config),
                "NODEPOOL_NODE_PASSWORD_FILE": str(self.password_file), "NODEPOOL_K3S_START": self.start_command(),
                "NODEPOOL_HTTP_TIMEOUT": "5", "NODEPOOL_NODE_CREDENTIAL_FILE": str(self.credential_file)}

    def start_command(self) -> str:
        return " ".join(shlex.quote(part) for part in (
            sys.executable, str(FAKE_K3S), "--config", str(self.k3s_config), "--password-file",
            str(self.password_file), "--out", str(self.started)))

    def run(self, *argv: str, stop: Callable[[], bool] = lambda: False, max_sleep: float | None = None) -> Run:
        """`python3 agent.pyz ARGV` in this process. `max_sleep` shortens the helper's waits (each
        requested wait is still recorded in `sleeps`, so a test can see Retry-After honoured)."""
        def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)
            time.sleep(seconds if max_sleep is None else min(seconds, max_sleep))

        out, started = io.StringIO(), time.monotonic()
        code = main(list(argv), env=self.env(), rt=Runtime(sleep=sleep, stop=stop), stream=out)
        return Run(code, out.getvalue(), time.monotonic() - started)

    def zipapp(self, pyz: Path, *argv: str, env: dict | None = None, timeout: float = 60) -> Run:
        started = time.monotonic()
        done = subprocess.run([sys.executable, str(pyz), *argv], env={**self.env(), **(env or {})},
                              capture_output=True, text=True, timeout=timeout, check=False)
        return Run(done.returncode, done.stdout + done.stderr, time.monotonic() - started)

    def config(self) -> dict:
        return parse_config(self.k3s_config.read_text())

    def kubelet_join(self) -> dict:
        """k3s agent -> supervisor with what the helper wrote and k3s created; JoinRefused if refused."""
        started = json.loads(self.started.read_text())
        config = started["config"]
        labels = dict(label.split("=", 1) for label in config.get("node-label", []))
        return self.stack.sim.kube.k3s_agent_join(config["node-name"], config["token"], started["password"],
                                                  labels=labels, taints=config.get("node-taint", []),
                                                  provider_id=self.vm.provider_id)

    def join(self) -> dict:
        """The whole boot-time join: helper, k3s start, kubelet registration. Returns the Node."""
        result = self.run("join", "--join-timeout", "20")
        assert result.code == 0, result.log
        return self.kubelet_join()


class Background:
    """A long-running helper command (watch) on a thread; `stop()` ends it and returns its Run."""

    def __init__(self, node: Node, *argv: str):
        self._stop = threading.Event()
        self.result: Run | None = None
        self._thread = threading.Thread(target=self._main, args=(node, argv), daemon=True)
        self._thread.start()

    def _main(self, node: Node, argv) -> None:
        self.result = node.run(*argv, stop=self._stop.is_set)

    def stop(self, timeout: float = 15.0) -> Run:
        self._stop.set()
        self._thread.join(timeout)
        assert self.result is not None, "the helper did not stop"
        return self.result


def wait(probe: Callable[[], object], timeout: float = WAIT_S, what: str = "condition") -> object:
    return wait_for(probe, timeout, 0.05, what, error=AssertionError)
