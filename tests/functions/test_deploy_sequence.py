"""docs/deploy.md's sequence, end to end against the simulated ARM, through the real CLI in its
order: keys -> params -> preflight -> deploy-storage -> deploy-compute -> publish -> drill.

What stands in for what: the simulated ARM for Azure Resource Manager (its answers in the shapes of
Microsoft's REST examples); tests/infra/stand_in_bicep.py for the Bicep compiler (it writes each
template's parameters, resources and outputs: ARM's parameter checks run on the real declarations);
sim/scm.py for the app's deployment endpoint; the dev host running function_app.py for the deployed
app; the real node helper (`python -m agent join|watch`, demo/vms.py) on the simulated VMs. The VMs'
key is given to them directly here: the Key Vault read itself is tested in tests/agent.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from demo.vms import Helper
from localenv.devhost_process import ROOT
from sim.scm import Scm
from tests.infra.compiler_support import install

SHA = "cd" * 32  # stands for the k3s release's checksum
SEQUENCE = ["keys", "params", "preflight", "deploy-storage", "deploy-compute", "publish", "drill"]


def test_the_deploy_guide_gives_the_sequence_this_test_runs():
    text = (ROOT / "docs" / "deploy.md").read_text()
    start = text.index("## The sequence")
    block = text[start:text.index("destroy-compute", start)]
    listed = [line.split()[2] for line in block.splitlines()
              if line.strip().startswith("python3 tasks.py") and len(line.split()) > 2]
    assert [name for name in listed if name != "status"] == SEQUENCE


def tasks(env: dict, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "tasks.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"{args[0]} failed:\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    return done


@pytest.fixture
def scm(make_stack):
    stack = make_stack(sim_options={"agents": 2, "kube": True})
    stand_in = Scm(lambda token: token == stack.sim.arm_token, tls=stack.sim.tls)
    stand_in.server.start()
    yield stack, stand_in
    stand_in.server.stop()


@pytest.mark.timeout(400)
def test_the_deploy_guides_sequence_runs_end_to_end(scm, tmp_path):
    stack, site = scm
    sim, host = stack.sim, stack.host
    group = sim.world.config.resource_group
    sim.arm.sites.site_keys = {"masterKey": host.master_key, "default": host.function_key}  # the deployed app's
    sim.arm.deployments.outputs[group.lower()] = {"functionAppUrl": host.url}  # what ARM returns for the app
    site.refuse_uploads = 1  # the app's storage role still propagating at the first upload
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NODEPOOL_", "AZURE_"))}
    env.update(install(tmp_path / "bin"))
    env.update({"AZURE_SUBSCRIPTION_ID": sim.subscription_id, "ARM_ENDPOINT": sim.arm_url,
                "ARM_STATIC_TOKEN": sim.arm_token, "ARM_CA_BUNDLE": sim.ca_bundle, "GRAPH_ENDPOINT": sim.arm_url,
                "COMPUTE_GROUP": group, "STORAGE_GROUP": "k3s-storage", "SSH_KEY": str(tmp_path / "keys" / "cluster"),
                "SSH_ALLOWED_CIDRS": "203.0.113.7/32", "AGENT_COUNT": "2"})
    (tmp_path / "cluster.env").write_text((ROOT / "cluster.env.example").read_text().replace("K3S_SHA256=",
                                                                                            f"K3S_SHA256={SHA}"))
    arm = str(tmp_path / "arm")

    tasks(env, "keys")
    tasks(env, "params", "--file", str(tmp_path / "cluster.env"), "--out", str(tmp_path / "cloud-init"),
          "--arm-out", arm)
    checked = tasks(env, "preflight").stdout
    assert "preflight passed" in checked and "FAIL" not in checked
    assert "warn  provider Microsoft.App is NotRegistered" in checked
    storage = tasks(env, "deploy-storage", "--arm-dir", arm).stdout
    assert "storage: ARM's validation passed" in storage and "storage: Succeeded" in storage
    compute = tasks(env, "deploy-compute", "--arm-dir", arm).stdout
    assert compute.index("Microsoft.App: Registered") < compute.index("compute: Succeeded")
    assert sim.arm.deployments.validated == ["storage", "compute"]
    published = tasks(env, "publish", "--scm", site.server.url, "--retry-wait", "0.1").stdout
    assert "storage role is not effective yet" in published and "published" in published
    assert "function_app.py" in site.packages[-1]
    vault = [key for key in sim.arm.sites.secrets if key[1] == "agent-function-key"]
    assert len(vault) == 1 and sim.arm.sites.secrets[vault[0]] == host.function_key
    assert host.function_key not in published + compute

    helpers = [Helper(stack, vm, tmp_path / "disks", tmp_path) for vm in [sim.vm("master0"), *sim.vms]]
    try:
        assert helpers[0].run("register").wait(40) == 0, helpers[0].procs["register"].text()
        for helper in helpers[1:]:
            joined = helper.run("join", "--join-timeout", "60")
            assert joined.wait(70) == 0, joined.text()
            helper.run("watch")
        drilled = tasks(env, "drill", "--instance", sim.vms[0].computer_name, "--timeout", "60").stdout
    finally:
        for helper in helpers:
            helper.stop()
    lines = drilled.splitlines()
    for milestone in ("event seen, node cordoned", "pods evicted", "Node deleted", "VM gone", "NotBefore"):
        assert any(milestone in line and "never" not in line for line in lines), (milestone, drilled)
    assert host.master_key not in drilled
