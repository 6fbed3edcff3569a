"""The README follows the code: its settings table is nodepool/settings.py's, its cost table is
console/cost.py's, every task of tasks.py is in "Every task", and the demo's left-out chapters are said."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import fields

from console import cost, settings_doc
from demo.chapters import LEFT_OUT
from localenv.devhost_process import ROOT
from nodepool.settings import Settings

README = (ROOT / "README.md").read_text()


def test_every_setting_is_in_the_readme_with_its_default_and_a_description():
    names = [f.metadata["env"] for f in fields(Settings) if "env" in f.metadata]
    assert sorted(names) == sorted(settings_doc.WHAT), "settings_doc.WHAT must describe every setting"
    assert settings_doc.markdown() in README, "README's settings table is stale: python -m console.settings_doc"
    for env, default in settings_doc.rows():
        assert f"| `{env}` |" in README and (not default or f"`{default}`" in README)


def test_the_cost_table_is_the_models():
    assert cost.markdown() in README, "README's cost table is stale: python -m console.cost"
    assert "2.59 M transactions a month" in README  # the measured idle polling it rests on


def test_every_task_is_listed():
    listed = subprocess.run([sys.executable, "tasks.py", "--list", "--list-format", "json"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60).stdout
    tasks = {t["name"] for t in json.loads(listed)["tasks"]}
    assert {"demo", "status", "test", "deploy-compute"} <= tasks
    section = README.split("## Every task", 1)[1].split("\n## ", 1)[0]
    missing = sorted(t for t in tasks if not re.search(rf"`{re.escape(t)}[` ]", section))
    assert not missing, f"tasks missing from README's 'Every task': {missing}"


def test_the_demo_chapters_left_out_are_named():
    for name in LEFT_OUT:
        word = name.split("-")[0].split()[0]  # spoofed, pending, spot, idle, reboot
        assert word in README.split("## Quick start", 1)[1].split("\n## ", 1)[0].lower(), name
