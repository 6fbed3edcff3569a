"""`python -m sim.k3s_agent`: k3s starting on a simulated VM with the config the helper wrote.

It creates the node password on a fresh disk and presents token and password to the simulated
supervisor (POST /sim/vms/NAME/k3s-join), which registers the Node or refuses as k3s does.
"""
from __future__ import annotations

import os
import subprocess
import sys

import requests

from localenv.devhost_process import ROOT


def write_config(path, token: str, name: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'# by the helper\nserver: "https://127.0.0.1:6443"\ntoken: "{token}"\nnode-name: "{name}"\n'
                    'node-label:\n  - "kubernetes.azure.com/scalesetpriority=spot"\n')


def start_k3s(sim, config, password):
    return subprocess.run([sys.executable, "-m", "sim.k3s_agent", "--config", str(config), "--password-file",
                           str(password), "--control", sim.control_url], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=30)


def test_k3s_joins_with_the_helpers_config_and_keeps_its_node_password(sim, tmp_path):
    vm = sim.vms[1]
    config, password = tmp_path / "etc/rancher/k3s/config.yaml", tmp_path / "etc/rancher/node/password"
    token = sim.kube.create_join_token(ttl_s=900)
    write_config(config, token, vm.computer_name)
    done = start_k3s(sim, config, password)
    assert done.returncode == 0, done.stderr
    assert token not in done.stdout + done.stderr
    node = sim.kube.node(vm.computer_name)
    assert node["spec"]["providerID"] == vm.provider_id
    assert node["metadata"]["labels"]["kubernetes.azure.com/scalesetpriority"] == "spot"
    assert password.exists()

    password.write_text("another-disk\n")  # the same name from a disk with another password: refused
    refused = start_k3s(sim, config, password)
    assert refused.returncode == 1 and "node_password_rejected" in refused.stderr


def test_the_join_route_refuses_a_bad_token_and_an_unknown_vm(sim):
    body = {"token": "K10nope::server:wrong", "password": "p", "labels": [], "taints": []}
    assert requests.post(f"{sim.control_url}/sim/vms/agents000000/k3s-join", json=body, timeout=5).status_code == 403
    assert requests.post(f"{sim.control_url}/sim/vms/nope/k3s-join", json=body, timeout=5).status_code == 404
    assert requests.post(f"{sim.control_url}/sim/vms/agents000000/k3s-join", json={}, timeout=5).status_code == 400
