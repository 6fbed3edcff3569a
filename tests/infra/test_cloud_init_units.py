"""The systemd units in the cloud-init files: systemd-analyze verify, and what they run."""
from __future__ import annotations

import configparser
import os
import shlex
import shutil
import subprocess

import pytest

from agent.cli import parser
from tests.infra.cloud_init_support import ROLES, env_file, files, scripts, units

EXPECTED = {
    "master": {"k3s.service", "nodepool-register.service", "nodepool-autostart.service",
               "nodepool-srv-credentials.service", "srv.mount"},
    "agent": {"k3s-agent.service", "nodepool-join.service", "nodepool-watch.service", "nodepool-leave.service",
              "nodepool-scratch.service", "nodepool-srv-credentials.service", "srv.mount"},
}


def _ini(text: str) -> configparser.ConfigParser:
    ini = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    ini.optionxform = str
    ini.read_string(text)
    return ini


def _execs(text: str) -> list:
    return [shlex.split(line.split("=", 1)[1].lstrip("-@+!:"))
            for line in text.splitlines() if line.startswith(("ExecStart", "ExecStop"))]


@pytest.mark.parametrize("role", ROLES)
def test_the_expected_units_are_written(role):
    assert {p.rsplit("/", 1)[1] for p in units(role)} == EXPECTED[role]


def _verify(unit_texts: dict, tmp_path) -> list:
    """systemd-analyze verify; executables that exist only on a node (k3s, our scripts) are stubbed."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not available on this machine")
    stubs = tmp_path / "bin"
    stubs.mkdir(exist_ok=True)
    paths = []
    for path, text in unit_texts.items():
        for argv in _execs(text):
            if not os.access(argv[0], os.X_OK):
                stub = stubs / argv[0].strip("/").replace("/", "_")
                stub.write_text("#!/bin/sh\n")
                stub.chmod(0o755)
                text = text.replace(argv[0], str(stub))
        unit = tmp_path / path.rsplit("/", 1)[1]
        unit.write_text(text)
        paths.append(str(unit))
    done = subprocess.run([analyze, "verify", "--man=no", *paths], capture_output=True, text=True)
    problems = [line for line in (done.stdout + done.stderr).splitlines()
                if line.strip() and "Failed to create" not in line and "sysinit.target" not in line]
    return problems + ([] if done.returncode == 0 else ["exit %d" % done.returncode])


@pytest.mark.parametrize("role", ROLES)
def test_systemd_analyze_verify(role, tmp_path):
    problems = _verify(units(role), tmp_path)
    assert not problems, "\n".join(problems)


def test_systemd_analyze_verify_catches_a_typo(tmp_path):
    path = "/etc/systemd/system/nodepool-watch.service"
    broken = units("agent")[path].replace("Restart=always", "Restart=always\nRestartSecs=2")
    assert any("RestartSecs" in line for line in _verify({path: broken}, tmp_path))


@pytest.mark.parametrize("role", ROLES)
def test_agent_invocations_parse_with_the_role_environment(role):
    """Every `agent.pyz COMMAND ...` in units and scripts is a valid command line for the helper."""
    env = env_file(role)
    texts = list(units(role).values()) + list(scripts(role).values())
    seen = set()
    for text in texts:
        joined = text.replace("\\\n", " ")
        for line in joined.splitlines():
            if "agent.pyz" not in line:
                continue
            argv = shlex.split(line.split("agent.pyz", 1)[1].replace('"$agent_token"', "/x"))
            args = parser(env).parse_args(argv)
            seen.add(args.command)
            if args.command != "storage-credentials":
                assert args.api_url == env["NODEPOOL_API_URL"]
                assert args.identity_client_id == env["NODEPOOL_IDENTITY_CLIENT_ID"]
    assert seen == ({"join", "leave", "watch", "storage-credentials"} if role == "agent"
                    else {"register", "storage-credentials"})


def test_leave_is_bounded_below_the_units_stop_timeout():
    leave = _ini(units("agent")["/etc/systemd/system/nodepool-leave.service"])
    assert int(leave["Service"]["TimeoutStopSec"]) >= float(env_file("agent")["NODEPOOL_LEAVE_TIMEOUT"]) + 10
    assert "k3s-agent.service" in leave["Unit"]["After"]  # stopped before k3s-agent at shutdown
    assert leave["Service"]["ExecStop"].endswith("agent.pyz leave")


def test_join_retries_and_watch_always_runs():
    agent = units("agent")
    join = _ini(agent["/etc/systemd/system/nodepool-join.service"])
    watch = _ini(agent["/etc/systemd/system/nodepool-watch.service"])
    k3s = _ini(agent["/etc/systemd/system/k3s-agent.service"])
    assert join["Service"]["Restart"] == "on-failure"
    assert watch["Service"]["Restart"] == "always"
    assert "Install" not in k3s  # only nodepool-join starts it, with a fresh config
    assert "nodepool-join.service" in k3s["Unit"]["After"]


@pytest.mark.parametrize("role", ROLES)
def test_share_is_mounted_with_credentials_fetched_at_boot(role):
    mount = _ini(units(role)["/etc/systemd/system/srv.mount"])
    assert mount["Mount"]["Where"] == "/srv"
    assert mount["Mount"]["What"] == "//k3sshared.file.core.windows.net/srv"
    assert "credentials=/etc/smbcredentials/nodepool-srv.cred" in mount["Mount"]["Options"]
    assert mount["Unit"]["Requires"] == "nodepool-srv-credentials.service"
    assert files(role)["/etc/systemd/system/nodepool-srv-credentials.service"]
