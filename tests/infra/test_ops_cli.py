"""`python3 tasks.py`: every seed command (or its successor, the seed's name as alias) is there, each
has --help, and a failure is one clear line, never a traceback."""
import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

from localenv.devhost_process import ROOT
from tests.infra.ops_support import azure_for

SEED = ["keys", "params", "deploy-storage", "deploy-compute", "view-deployment", "watch-deployment", "list-agents",
        "scale-agents", "stop-agents", "start-agents", "reimage-agents-parallel", "reimage-agents-serial",
        "chaos-monkey", "proxy", "tail-helper", "list-endpoints", "destroy-cluster", "destroy-compute",
        "destroy-storage"]
LESSER = ["build", "publish", "reimage-agents", "tail-logs", "list-resources", "list-images", "list-locations",
          "list-sizes", "clean", "redeploy", "create-shares", "show-agents", "resize-agents", "preflight", "drill"]


@pytest.fixture(scope="module")
def program():
    spec = importlib.util.spec_from_file_location("tasks_cli", ROOT / "tasks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["tasks_cli"] = module  # tasks.py builds its namespace from sys.modules[__name__]
    spec.loader.exec_module(module)
    return module.Program(namespace=module.namespace, name="tasks", binary="python3 tasks.py")


def test_every_seed_command_and_ours_is_listed(program, capsys):
    program.run(["tasks", "--list"], exit=False)
    listed = capsys.readouterr().out
    for name in SEED + LESSER:
        assert f"  {name} " in listed or f"({name})" in listed or f", {name}" in listed, name


@pytest.mark.parametrize("name", SEED + LESSER)
def test_each_command_explains_itself(program, capsys, name):
    program.run(["tasks", name, "--help"], exit=False)
    out = capsys.readouterr().out
    assert out.startswith("Usage: python3 tasks.py") and "Docstring:" in out
    assert "none" not in out.split("Docstring:")[1][:12]


def run(*args, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("AZURE_SUBSCRIPTION_ID", "COMPUTE_GROUP")}
    return subprocess.run([sys.executable, "tasks.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**clean, **env})


def test_without_a_subscription_a_command_fails_with_one_line_naming_it():
    done = run("list-agents", AZURE_SUBSCRIPTION_ID="")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "AZURE_SUBSCRIPTION_ID" in done.stderr


def test_a_command_against_the_simulator_prints_what_it_does(sim):
    az = azure_for(sim)
    env = {k: v for k, v in az.config.values.items() if v}
    done = run("scale-agents", "4", **env)
    assert done.returncode == 0, done.stderr
    assert "scaling agents from 3 to 4" in done.stdout and sim.world.capacity == 4
    done = run("list-agents", "--pool", "nope", **env)
    group = az.config["COMPUTE_GROUP"]
    assert done.returncode != 0 and done.stderr.strip() == f"list-agents: no scale set 'nope' in {group}"


@pytest.mark.skipif(shutil.which("bicep") is not None or shutil.which("az") is not None,
                    reason="a Bicep compiler is installed: test_build_writes_arm_json covers build")
def test_build_without_a_compiler_fails_with_the_install_hint():
    done = run("build")
    assert done.returncode != 0 and "install the bicep CLI" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.skipif(shutil.which("bicep") is None, reason="no `bicep` binary on PATH (none installs here: "
                    "it is a download, not a package of PyPI, Debian or npm)")
def test_build_writes_arm_json(tmp_path):
    import json

    done = run("build", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    for name in ("storage", "compute"):
        template = json.loads((tmp_path / f"{name}.json").read_text())
        assert template["$schema"].endswith("deploymentTemplate.json#") and template["resources"]
