"""Every shell snippet in the cloud-init files passes shellcheck and uses only defined settings."""
from __future__ import annotations

import re
import subprocess

import pytest

from infra.cloud_init import EXAMPLE, render_cloud_init
from tests.infra.cloud_init_support import ROLES, env_file, load_yaml, parsed, scripts, tool

SCRIPT_PATHS = {
    "master": ["/usr/local/sbin/nodepool-install-k3s", "/usr/local/sbin/nodepool-registries",
               "/usr/local/sbin/nodepool-register", "/usr/local/sbin/nodepool-agent-token",
               "/usr/local/sbin/nodepool-autostart",
               "/usr/local/sbin/nodepool-tailscale", "/usr/local/sbin/nodepool-bootstrap"],
    "agent": ["/usr/local/sbin/nodepool-install-k3s", "/usr/local/sbin/nodepool-registries",
              "/usr/local/sbin/nodepool-nvidia", "/usr/local/sbin/nodepool-bootstrap"],
}
CASES = [(role, path) for role in ROLES for path in SCRIPT_PATHS[role]]


@pytest.mark.parametrize("role", ROLES)
def test_every_script_is_covered(role):
    assert sorted(scripts(role)) == sorted(SCRIPT_PATHS[role])


@pytest.mark.parametrize("role, path", CASES)
def test_shellcheck_passes(role, path, tmp_path):
    script = tmp_path / path.rsplit("/", 1)[1]
    script.write_text(scripts(role)[path])
    done = subprocess.run([tool("shellcheck"), "--severity=style", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize("role", ROLES)
def test_shell_runcmd_entries_pass_shellcheck(role, tmp_path):
    for index, entry in enumerate(parsed(role)["runcmd"]):
        if isinstance(entry, str):  # a string runs through sh -c; a list is an argv
            script = tmp_path / ("runcmd-%d.sh" % index)
            script.write_text("#!/bin/sh\n" + entry + "\n")
            done = subprocess.run([tool("shellcheck"), str(script)], capture_output=True, text=True)
            assert done.returncode == 0, done.stdout


@pytest.mark.parametrize("role", ROLES)
def test_scripts_use_only_settings_the_env_file_defines(role):
    defined = set(env_file(role))
    for path, text in scripts(role).items():
        used = set(re.findall(r"\$(NODEPOOL_[A-Z0-9_]+)", text))
        assert used <= defined, (path, used - defined)


@pytest.mark.parametrize("role", ROLES)
def test_env_file_values_are_plain_words(role):
    """Sourced by sh and read by systemd alike: no quoting, spaces or expansions."""
    for key, value in env_file(role).items():
        assert re.fullmatch(r"NODEPOOL_[A-Z0-9_]+", key)
        assert re.fullmatch(r"[A-Za-z0-9._~:/?#@%=+,-]*", value), (key, value)


def test_a_malicious_looking_parameter_cannot_reach_a_script():
    with pytest.raises(ValueError):
        render_cloud_init("agent", {**EXAMPLE, "AGENT_LABELS": "a=b;reboot"})
    with pytest.raises(ValueError):
        render_cloud_init("agent", {**EXAMPLE, "K3S_DOWNLOAD_URL": "https://x/$(reboot)"})


def test_load_yaml_helper_sees_block_scalars_verbatim():
    assert load_yaml("a: |\n  x $y\n") == {"a": "x $y\n"}


def test_the_master_registers_a_distinct_agent_token_and_never_the_server_token():
    """k3s docs/cli/token.md: with no agent token set, agent-token "is a link to the server token", and the
    server token is cluster admin. The master sets one of its own before k3s first starts."""
    master = scripts("master")
    register, bootstrap = master["/usr/local/sbin/nodepool-register"], master["/usr/local/sbin/nodepool-bootstrap"]
    assert "node-token" not in register and "/server/token" not in register
    assert '--agent-token-file "$agent_token"' in register and '[ ! -L "$agent_token" ]' in register
    assert register.index("/usr/local/sbin/nodepool-agent-token") < register.index("agent.pyz register")
    assert bootstrap.index("/usr/local/sbin/nodepool-agent-token") < bootstrap.index("systemctl enable --now k3s")
    dropin = master["/usr/local/sbin/nodepool-agent-token"]
    assert "umask 077" in dropin and "agent-token: " in dropin and "config.yaml.d/" in dropin
