"""Compile infra/bicep/*.bicep to ARM JSON with the `bicep` CLI, or `az bicep` when only az is there.

A task compiles only the template it deploys: a template that does not compile must not stop
another one's deployment. A compiled template is stale when any source is newer: every .bicep file
and bicepconfig.json (which pins the Graph extension's types).
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from ops.config import ROOT
from ops.errors import OpsError

SOURCES = ROOT / "infra" / "bicep"
BUILT = ROOT / ".run" / "arm"
TEMPLATES = ("storage", "compute")
INSTALL_HINT = ("no Bicep compiler found: install the bicep CLI "
                "(https://learn.microsoft.com/azure/azure-resource-manager/bicep/install) "
                "or the Azure CLI and run `az bicep install`")


def compiler() -> list[str]:
    if shutil.which("bicep"):
        return ["bicep", "build"]
    if shutil.which("az"):
        return ["az", "bicep", "build", "--file"]
    raise OpsError(INSTALL_HINT)


def compile_one(name: str, out: Path = BUILT, say=print) -> Path:
    """Compile one top-level template; fails naming it and the compiler's last line."""
    if name not in TEMPLATES:
        raise OpsError(f"no template {name!r}: one of {', '.join(TEMPLATES)}")
    command, out = compiler(), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{name}.json"
    done = subprocess.run([*command, str(SOURCES / f"{name}.bicep"), "--outfile", str(target)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise OpsError(f"bicep build {name}.bicep failed: " + (done.stderr.strip().splitlines() or ["?"])[-1])
    json.loads(target.read_text())  # a compiler that wrote no JSON is a failure too
    say(f"{name}.bicep -> {target}")
    return target


def build(out: Path = BUILT, say=print, names: tuple[str, ...] = TEMPLATES) -> dict[str, Path]:
    """`tasks.py build`: compile each named template; return name -> JSON path."""
    return {name: compile_one(name, out, say) for name in names}


def newest_source() -> float:
    sources = [*SOURCES.rglob("*.bicep"), *SOURCES.rglob("bicepconfig.json")]
    return max(p.stat().st_mtime for p in sources)


def template(name: str, out: Path = BUILT) -> dict:
    """The compiled template; compiles it (and only it) when missing or older than its sources."""
    target = Path(out) / f"{name}.json"
    if not target.exists() or target.stat().st_mtime < newest_source():
        compile_one(name, out, say=lambda _: None)
    return json.loads(target.read_text())
