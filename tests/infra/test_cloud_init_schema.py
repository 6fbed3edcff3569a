"""The rendered cloud-init files against cloud-init's own schema, and their structure."""
from __future__ import annotations

import base64
import io
import subprocess
import zipfile
from pathlib import Path

import pytest

from infra.cloud_init import ROOT, agent_zipapp
from tests.infra.cloud_init_support import ROLES, files, parsed, rendered, schema_top_level_keys, tool

SHARED = ("/usr/local/lib/nodepool/agent.pyz", "/usr/local/sbin/nodepool-install-k3s",
          "/usr/local/sbin/nodepool-registries", "/etc/systemd/system/nodepool-srv-credentials.service",
          "/etc/systemd/system/srv.mount")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("all_on", [False, True], ids=["defaults", "all-options"])
def test_cloud_init_schema_accepts_the_rendered_file(role, all_on, tmp_path):
    path = tmp_path / ("%s.yml" % role)
    path.write_text(rendered(role, all_on))
    done = subprocess.run([tool("cloud-init"), "schema", "-c", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Valid cloud-config" in done.stdout


@pytest.mark.parametrize("role", ROLES)
def test_top_level_keys_are_known_to_the_schema(role):
    known = schema_top_level_keys()
    assert {"write_files", "runcmd", "timezone", "package_upgrade"} <= known
    assert set(parsed(role)) <= known, set(parsed(role)) - known


def test_a_misspelled_top_level_key_is_caught_by_our_check_though_not_by_cloud_init(tmp_path):
    path = tmp_path / "typo.yml"
    path.write_text("#cloud-config\ntimezone: Etc/UTC\nrun_cmd: [[true]]\n")
    done = subprocess.run([tool("cloud-init"), "schema", "-c", str(path)], capture_output=True, text=True)
    assert done.returncode == 0  # cloud-init lets it through...
    assert "run_cmd" not in schema_top_level_keys()  # ...our key check does not


@pytest.mark.parametrize("role", ROLES)
def test_no_secret_material_in_custom_data(role):
    text = rendered(role).lower()
    for marker in ("password=", "accountkey=", "x-functions-key:", "sharedaccesssignature", "-----begin"):
        assert marker not in text


@pytest.mark.parametrize("path", SHARED)
def test_files_shared_by_master_and_agents_are_identical(path):
    assert files("master")[path] == files("agent")[path]


@pytest.mark.parametrize("role", ROLES)
def test_embedded_payloads_decode_to_the_helper_and_the_registry_manifest(role):
    written = files(role)
    helper = base64.b64decode(written["/usr/local/lib/nodepool/agent.pyz"]["content"])
    assert helper == agent_zipapp()
    assert "__main__.py" in zipfile.ZipFile(io.BytesIO(helper)).namelist()
    if role == "master":
        registry = base64.b64decode(written["/etc/nodepool/registry.yaml"]["content"])
        assert registry == (ROOT / "manifests" / "registry.yml").read_bytes()


@pytest.mark.parametrize("role", ROLES)
def test_runcmd_runs_the_bootstrap_script_written_executable(role):
    written = files(role)
    for command in parsed(role)["runcmd"]:
        program = command[0] if isinstance(command, list) else command.split()[0]
        assert program in written, program
        assert written[program]["permissions"] == "0755"
        assert written[program]["content"].startswith("#!/bin/sh\n")


@pytest.mark.parametrize("role", ROLES)
def test_write_files_are_absolute_with_quoted_modes(role):
    for path, entry in files(role).items():
        assert Path(path).is_absolute()
        assert isinstance(entry.get("permissions", "0644"), str)


def test_seed_features_are_all_there():
    master, agent = rendered("master"), rendered("agent")
    assert "timezone: Europe/Lisbon" in master and "timezone: Europe/Lisbon" in agent
    assert "package_reboot_if_required: true" in master          # first-boot reboot after upgrades
    assert "kubectl completion bash" in master                    # completion on the master
    assert "svccontroller.k3s.cattle.io/enablelb=true" in master  # traefik ingress on the master only
    assert "nodepool/role=master" in master and "nodepool/role=agent" in agent  # node role labels
    assert "/mnt/scratch" in agent                                # scratch on the temporary disk
    assert "kubectl top nodes" in master                          # metrics-server checked
    assert "/srv/autostart" in master and "/srv/k3s/" in master   # autostart and air-gapped k3s
    assert "nodepool-tailscale" in master and "nodepool-nvidia" in agent and "registries.yaml" in agent
