"""Where the real control plane cannot be built, the reason is said (and its tier skipped); Go is
needed only for that tier."""
from __future__ import annotations

import subprocess

from localenv.control_plane import binaries


def test_without_go_the_reason_says_so_and_nothing_is_built(monkeypatch):
    monkeypatch.setattr(binaries, "built", lambda: False)
    monkeypatch.setattr(binaries.shutil, "which", lambda name: None)
    assert "Go is not installed" in binaries.missing()
    assert binaries.build(lambda line: None) == binaries.missing()


def test_a_go_older_than_the_modules_go_line_is_named(monkeypatch):
    monkeypatch.setattr(binaries, "built", lambda: False)
    monkeypatch.setattr(binaries.shutil, "which", lambda name: "/usr/bin/go")
    monkeypatch.setattr(binaries.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0, "go1.22.5\n"))
    assert "(found go1.22.5)" in binaries.missing() and "1.26 or newer" in binaries.missing()


def test_the_release_is_read_from_go_mod():
    assert binaries.kubernetes_version().startswith("v1.37.")
