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


def test_an_empty_or_all_zero_k3s_sha256_is_refused_naming_where_the_real_one_is(tmp_path):
    from ops.keys import generate

    generate(tmp_path / "key", say=lambda _: None)
    for sha in ("", "0" * 64):
        done = tasks("params", "--file", "cluster.env.example", "--out", str(tmp_path / "out"),
                     "--arm-out", str(tmp_path / "arm"), SSH_KEY=str(tmp_path / "key"), K3S_SHA256=sha,
                     AZURE_SUBSCRIPTION_ID="00000000-1111-2222-3333-444444444444", SSH_ALLOWED_CIDRS="203.0.113.7/32")
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        assert "K3S_SHA256" in done.stderr and "sha256sum-amd64.txt" in done.stderr
        assert not (tmp_path / "out").exists() and not (tmp_path / "arm").exists()


def test_every_task_summary_in_help_is_a_whole_sentence():
    listed = json.loads(tasks("--list", "--list-format", "json").stdout)["tasks"]
    cut = [t["name"] for t in listed if not (t["help"] or "").rstrip().endswith((".", ")", "`"))]
    assert listed and not cut, f"summaries cut mid-sentence: {cut}"
