"""The docs follow the code: docs/settings.md's table is nodepool/settings.py's, docs/deploy.md's cost table
is console/cost.py's, every task of tasks.py is in docs/operate.md's "Every task", and the demo's
left-out chapters are said in docs/development.md."""
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

DOCS = ROOT / "docs"


def section(page: str, heading: str) -> str:
    """The text of `## heading` in docs/<page>, up to the next heading of its level."""
    text = (DOCS / page).read_text()
    assert f"\n## {heading}\n" in text, f"docs/{page} has no section '## {heading}'"
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_every_setting_is_in_the_settings_page_with_its_default_and_a_description():
    page = (DOCS / "settings.md").read_text()
    names = [f.metadata["env"] for f in fields(Settings) if "env" in f.metadata]
    assert sorted(names) == sorted(settings_doc.WHAT), "settings_doc.WHAT must describe every setting"
    assert settings_doc.markdown() in page, "docs/settings.md's table is stale: python -m console.settings_doc"
    for env, default in settings_doc.rows():
        assert f"| `{env}` |" in page and (not default or f"`{default}`" in page)


def test_the_cost_table_is_the_models():
    page = section("deploy.md", "What it costs: the control plane, a month")
    assert cost.markdown() in page, "docs/deploy.md's cost table is stale: python -m console.cost"
    assert "2.59 M transactions a month" in page  # the measured idle polling it rests on


def test_every_task_is_listed():
    listed = subprocess.run([sys.executable, "tasks.py", "--list", "--list-format", "json"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60).stdout
    tasks = {t["name"] for t in json.loads(listed)["tasks"]}
    assert {"demo", "status", "test", "deploy-compute"} <= tasks
    every = section("operate.md", "Every task")
    missing = sorted(t for t in tasks if not re.search(rf"`{re.escape(t)}[` ]", every))
    assert not missing, f"tasks missing from docs/operate.md's 'Every task': {missing}"


def test_the_demo_chapters_left_out_are_named():
    demo = section("development.md", "The demo").lower()
    for name in LEFT_OUT:
        word = name.split("-")[0].split()[0]  # spoofed, pending, spot, idle, reboot
        assert word in demo, name
