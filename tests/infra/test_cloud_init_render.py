"""infra/render.py and infra/cloud_init.py: templates, parameters, derived payloads."""
from __future__ import annotations

import base64
import io
import subprocess
import sys
import zipfile

import pytest

from infra.cloud_init import (
    CUSTOM_DATA_LIMIT,
    EXAMPLE,
    TEMPLATES,
    VARIABLES,
    agent_zipapp,
    render_cloud_init,
    required,
    values,
)
from infra.render import TemplateError, render, variables
from tests.infra.cloud_init_support import ALL_ON, ROLES


def test_render_fills_variables_and_leaves_shell_variables_alone():
    assert render("a=${A} b=$b c=$${C}", {"A": "1"}) == "a=1 b=$b c=${C}"


def test_a_missing_value_is_an_error_naming_it_and_its_line():
    with pytest.raises(TemplateError) as err:
        render("x\ny=${Y}\nz=${Z}", {"Y": "1"}, source="t.yml")
    assert err.value.problems == ["t.yml:3: missing value for ${Z}"]


def test_an_unknown_variable_is_an_error_in_the_template_and_among_the_values():
    with pytest.raises(TemplateError) as err:
        render("${A} ${TYPO}", {"A": "1", "EXTRA": "2"}, known={"A", "B"}, source="t")
    assert err.value.problems == ["t:1: unknown variable ${TYPO}", "t: unknown variable EXTRA given"]


@pytest.mark.parametrize("template", ["${1A}", "${A", "${}", "${A B}", "${A-B}"])
def test_malformed_variables_are_errors(template):
    with pytest.raises(TemplateError, match="malformed"):
        render(template, {"A": "1"})


def test_every_problem_is_reported_at_once():
    with pytest.raises(TemplateError) as err:
        render("${A}\n${B}\n${C", {}, known={"A", "B", "C"})
    assert len(err.value.problems) == 3


def test_variables_lists_names_in_order_of_first_use():
    assert variables("${B} ${A} ${B} $${C} ${bad name}") == ["B", "A"]


def test_parameters_are_validated_against_their_patterns():
    with pytest.raises(TemplateError) as err:
        values({**EXAMPLE, "K3S_VERSION": "1.30", "TIMEZONE": "UTC\nruncmd: [reboot]", "NVIDIA": "yes",
                "FUNCTION_APP_URL": "https://x.net;reboot", "BOGUS": "1", "AGENT_PYZ_B64": "AAAA"})
    text = str(err.value)
    for name in ("K3S_VERSION", "TIMEZONE", "NVIDIA", "FUNCTION_APP_URL", "unknown variable BOGUS",
                 "AGENT_PYZ_B64 is derived"):
        assert name in text
    assert "reboot" not in text  # values are never echoed


def test_defaults_and_derived_values():
    got = values(EXAMPLE)
    assert got["TIMEZONE"] == "Europe/Lisbon" and got["MASTER_NAME"] == "master0" and got["NVIDIA"] == "false"
    assert got["STORAGE_ACCOUNT"] == "k3sshared"
    assert got["LEAVE_STOP_TIMEOUT"] == "120"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("params", [EXAMPLE, ALL_ON], ids=["defaults", "all-options"])
def test_rendering_with_all_variables_set_leaves_no_placeholder(role, params):
    text = render_cloud_init(role, params)
    assert "${" not in text
    assert text.startswith("#cloud-config\n")
    assert len(text.encode()) <= CUSTOM_DATA_LIMIT


@pytest.mark.parametrize("role", ROLES)
def test_each_missing_required_parameter_is_named(role):
    with pytest.raises(TemplateError) as err:
        render_cloud_init(role, {})
    named = sorted(p.split("missing parameter ", 1)[1].split(" ", 1)[0] for p in err.value.problems)
    assert named == sorted(required(role))
    assert "K3S_SHA256" in required(role) and "FUNCTION_APP_URL" in required(role)


def test_templates_use_only_catalogued_variables_and_every_parameter_is_used():
    used = set()
    for path in TEMPLATES.values():
        used |= set(variables(path.read_text()))
    assert used <= set(VARIABLES)
    assert {n for n, v in VARIABLES.items() if not v.derived} <= used


def test_the_agent_zipapp_is_reproducible_and_runs(tmp_path):
    first, second = agent_zipapp(), agent_zipapp()
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        names = set(archive.namelist())
    assert {"__main__.py", "agent/cli.py", "agent/watch.py", "agent/events.py"} <= names
    assert not any("__pycache__" in n or n.startswith("tests") for n in names)
    pyz = tmp_path / "agent.pyz"
    pyz.write_bytes(first)
    for command in ("join", "leave", "watch", "register", "storage-credentials"):
        done = subprocess.run([sys.executable, str(pyz), command, "--help"], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "usage: nodepool-agent " + command in done.stdout


def test_the_embedded_helper_is_the_current_one():
    text = render_cloud_init("agent", EXAMPLE)
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("content: ") and len(ln) > 1000)
    assert base64.b64decode(line.split("content: ", 1)[1]) == agent_zipapp()


@pytest.mark.parametrize("role", ["master", "agent"])
def test_sshd_listens_on_the_port_the_nsg_opens(role):
    text = render_cloud_init(role, {**EXAMPLE, "SSH_PORT": "2222"})
    assert "/etc/ssh/sshd_config.d/50-nodepool-port.conf" in text and "      Port 2222\n" in text
    assert "systemctl restart ssh.socket" in text
