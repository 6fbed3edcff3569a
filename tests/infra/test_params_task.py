"""`tasks.py params`: the operator's path from a parameter file to customData and ARM parameter files."""
import json
import os
import shutil
import subprocess
import sys

from localenv.devhost_process import ROOT
from ops import params as P
from ops.keys import generate

SHA = "ab" * 32  # stands for the release's checksum

def params(tmp_path, text: str, **env) -> subprocess.CompletedProcess:
    (tmp_path / "cluster.env").write_text(text)
    if not (tmp_path / "key.pub").exists():
        generate(tmp_path / "key", say=lambda _: None)
    env = {**os.environ, "SSH_KEY": str(tmp_path / "key"), "SSH_ALLOWED_CIDRS": "203.0.113.7/32", "K3S_SHA256": SHA,
           "AZURE_SUBSCRIPTION_ID": "00000000-1111-2222-3333-444444444444", **env}
    return subprocess.run([sys.executable, "tasks.py", "params", "--file", str(tmp_path / "cluster.env"),
                           "--out", str(tmp_path / "out"), "--arm-out", str(tmp_path / "arm")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)


def test_the_example_parameters_render_both_roles_completely(tmp_path):
    done = params(tmp_path, (ROOT / "cluster.env.example").read_text())
    assert done.returncode == 0, done.stderr
    for role in ("master", "agent"):
        text = (tmp_path / "out" / f"{role}.yml").read_text()
        assert text.startswith("#cloud-config") and "${" not in text
    shutil.rmtree(tmp_path / "out")


def test_a_missing_and_an_unknown_parameter_are_named_and_nothing_is_written(tmp_path):
    example = (ROOT / "cluster.env.example").read_text().replace("STORAGE_SHARE=srv\n", "")
    done = params(tmp_path, example + "STORAGE_SAHRE=srv\n")
    assert done.returncode != 0
    assert "STORAGE_SHARE" in done.stderr and "unknown variable STORAGE_SAHRE" in done.stderr
    assert not (tmp_path / "out" / "master.yml").exists()


def test_arm_parameter_files_carry_the_custom_data_with_placeholders_and_no_key(tmp_path):
    done = params(tmp_path, (ROOT / "cluster.env.example").read_text(), STORAGE_ACCOUNT_NAME="mysrv01")
    assert done.returncode == 0, done.stderr
    compute = json.loads((tmp_path / "arm" / "compute.parameters.json").read_text())["parameters"]
    master = compute["masterCustomData"]["value"]
    assert master == (tmp_path / "out" / "master.yml").read_text()
    assert P.MASTER_CLIENT_ID in master and P.SUBSCRIPTION in master and "storageAccounts/mysrv01" in master
    assert P.AGENT_CLIENT_ID in compute["agentCustomData"]["value"]
    for custom_data in (master, compute["agentCustomData"]["value"]):  # what the VMs need to call the app
        assert f"NODEPOOL_AUDIENCE=api://{P.TENANT}/nodepool-" in custom_data
        assert "NODEPOOL_FUNCTION_KEY_URI=https://kv" in custom_data and "/secrets/agent-function-key" in custom_data
    assert compute["adminPublicKey"]["value"] == (tmp_path / "key.pub").read_text().strip()
    assert oct((tmp_path / "arm" / "compute.parameters.json").stat().st_mode & 0o777) == "0o600"
    assert "AccountKey" not in master and "accountKey" not in json.dumps(compute)


def test_without_an_ssh_key_params_says_to_run_keys(tmp_path):
    done = params(tmp_path, (ROOT / "cluster.env.example").read_text(), SSH_KEY=str(tmp_path / "nokey"))
    assert done.returncode != 0 and "tasks.py keys" in done.stderr and "Traceback" not in done.stderr
