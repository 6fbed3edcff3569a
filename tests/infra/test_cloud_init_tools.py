"""infra.tools.ensure_debian_tools: installs missing Debian tools only when it can."""
from __future__ import annotations

import subprocess

from infra.tools import ensure_debian_tools


class Apt:
    def __init__(self, installed):
        self.installed, self.commands = set(installed), []

    def which(self, name):
        return "/usr/bin/" + name if name in self.installed else None

    def run(self, argv, **kwargs):
        self.commands.append(argv)
        if argv[:2] == ["apt-get", "install"]:
            self.installed |= {a for a in argv[2:] if not a.startswith("-")}
        return subprocess.CompletedProcess(argv, 0)


def test_nothing_happens_when_everything_is_there():
    apt = Apt({"cloud-init", "shellcheck", "apt-get"})
    assert ensure_debian_tools(["cloud-init", "shellcheck"], run=apt.run, which=apt.which, is_root=True) == []
    assert apt.commands == []


def test_missing_tools_are_installed_as_root():
    apt = Apt({"shellcheck", "apt-get"})
    said = []
    left = ensure_debian_tools(["cloud-init", "shellcheck"], run=apt.run, which=apt.which, is_root=True,
                               say=said.append)
    assert left == []
    assert apt.commands[-1][:4] == ["apt-get", "install", "-y", "-q"] and apt.commands[-1][-1] == "cloud-init"
    assert "installing cloud-init" in said[0]


def test_without_root_it_only_says_what_to_install():
    apt = Apt({"apt-get"})
    said = []
    left = ensure_debian_tools(["cloud-init", "shellcheck"], run=apt.run, which=apt.which, is_root=False,
                               say=said.append)
    assert left == ["cloud-init", "shellcheck"] and apt.commands == []
    assert "apt-get install -y cloud-init shellcheck" in said[0]


def test_no_apt_setting_installs_nothing_even_as_root(monkeypatch):
    monkeypatch.setenv("NODEPOOL_NO_APT", "1")
    apt = Apt({"apt-get"})
    said = []
    left = ensure_debian_tools(["cloud-init"], run=apt.run, which=apt.which, is_root=True, say=said.append)
    assert left == ["cloud-init"] and apt.commands == []
    assert "NODEPOOL_NO_APT" in said[0]
