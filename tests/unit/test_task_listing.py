"""`python3 tasks.py --list` on a fresh clone answers at once, from the source, with the tasks invoke knows."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import tasks
from localenv.devhost_process import ROOT


def test_the_listing_read_from_the_source_is_invokes():
    listed = subprocess.run([sys.executable, "tasks.py", "--list", "--list-format", "json"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60).stdout
    by_invoke = {t["name"]: t["help"] or "" for t in json.loads(listed)["tasks"]}
    from_source = dict(tasks.task_listing())
    assert sorted(from_source) == sorted(by_invoke)
    assert all(from_source[name] and by_invoke[name].startswith(from_source[name][:40]) for name in by_invoke)


def test_listing_on_a_fresh_clone_needs_no_virtual_environment(tmp_path):
    """The task files alone, run by the machine's Python (not the venv's): a listing, and no .venv made."""
    (tmp_path / "ops").mkdir()
    modules = [m.replace(".", "/") + ".py" for m in tasks.OPS_TASK_MODULES]
    for name in ["tasks.py", "requirements.txt", "requirements-dev.txt", *modules]:
        (tmp_path / name).write_text((ROOT / name).read_text())
    python = shutil.which("python3", path=os.defpath) or sys._base_executable
    for argv in ([], ["--list"], ["-h"]):
        done = subprocess.run([python, "tasks.py", *argv], cwd=tmp_path, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        assert "\n  deploy-compute " in done.stdout and "\n  test " in done.stdout
    assert not (tmp_path / ".venv").exists()
