"""What a newcomer met first: --dry honoured, a missing parameter file named, the example's
placeholder K3S_SHA256 warned about, and one-line summaries in --help."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from localenv.devhost_process import ROOT


def tasks(*args: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "tasks.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **env})


def test_dry_prints_what_params_would_do_and_writes_nothing(tmp_path):
    done = tasks("--dry", "params", "--file", "cluster.env.example", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "--dry: would run `params --file cluster.env.example" in done.stdout and "Nothing was done" in done.stdout
    assert not (tmp_path / "out").exists()


def test_a_missing_parameter_file_is_named(tmp_path):
    done = tasks("params", "--file", "missing.env", "--out", str(tmp_path / "out"))
    assert done.returncode == 1 and "missing.env: no such file" in done.stderr
    assert not (tmp_path / "out").exists()


def test_the_examples_all_zero_sha256_is_warned_about(tmp_path):
    from ops.keys import generate

    generate(tmp_path / "key", say=lambda _: None)
    done = tasks("params", "--file", "cluster.env.example", "--out", str(tmp_path / "out"),
                 "--arm-out", str(tmp_path / "arm"), SSH_KEY=str(tmp_path / "key"))
    assert done.returncode == 0, done.stderr
    assert "K3S_SHA256 is the example's all-zero placeholder" in done.stdout


def test_every_task_summary_in_help_is_a_whole_sentence():
    listed = json.loads(tasks("--list", "--list-format", "json").stdout)["tasks"]
    cut = [t["name"] for t in listed if not (t["help"] or "").rstrip().endswith((".", ")", "`"))]
    assert listed and not cut, f"summaries cut mid-sentence: {cut}"
