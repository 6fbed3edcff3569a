"""Real kubectl against the simulated API server, through the kubeconfig the local stack writes.

The Google Cloud CLI ships versioned clients (`kubectl.1.27` ... `kubectl.1.33`) beside the
`kubectl` on PATH (which picks one by the server's version); the suite runs with the oldest
and the newest found, and is skipped, saying why, where there are none.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from localenv.kubeconfig import write_kubeconfig
from sim.kube import KubeSim


def versioned_kubectls() -> list[Path]:
    found = shutil.which("kubectl")
    if not found:
        return []
    folder = Path(os.path.realpath(found)).parent
    versions = sorted((tuple(map(int, m.groups())), p) for p in folder.glob("kubectl.1.*")
                      if (m := re.fullmatch(r"kubectl\.(\d+)\.(\d+)", p.name)) and os.access(p, os.X_OK))
    return [versions[0][1], versions[-1][1]] if len(versions) > 1 else [p for _, p in versions]


KUBECTLS = versioned_kubectls()


@dataclass
class Kubectl:
    binary: Path
    kubeconfig: Path

    def run(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        done = subprocess.run([str(self.binary), "--kubeconfig", str(self.kubeconfig), *args], capture_output=True,
                              text=True, timeout=timeout)
        if check:
            assert done.returncode == 0, f"kubectl {' '.join(args)} exited {done.returncode}:\n{done.stderr}"
        return done

    def out(self, *args: str) -> str:
        return self.run(*args).stdout

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([str(self.binary), "--kubeconfig", str(self.kubeconfig), *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(params=KUBECTLS or [None], ids=lambda p: p.name if p else "none")
def kubectl_binary(request) -> Path:
    if request.param is None:
        pytest.skip("no versioned kubectl (kubectl.1.NN beside the kubectl on PATH) is installed")
    return request.param


@pytest.fixture
def cluster():
    """Two agents; pods terminate in 0.3 s (so a StatefulSet's pod is back only after its old one is gone)."""
    sim = KubeSim(grace_s=0.5, tick_s=0.02, terminate_s=0.3, scrypt_log_n=4).start()
    sim.add_node("agent-0")
    sim.add_node("agent-1")
    yield sim
    sim.stop()


@pytest.fixture
def kubectl(kubectl_binary, cluster, tmp_path) -> Kubectl:
    return Kubectl(kubectl_binary, write_kubeconfig(tmp_path / "kubeconfig", cluster))
