"""Compile infra/bicep/*.bicep to ARM JSON with the `bicep` CLI, or `az bicep` when only az is there."""
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


def build(out: Path = BUILT, say=print) -> dict[str, Path]:
    """Compile each top-level template; return name -> JSON path. Fails naming the template."""
    command, out = compiler(), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    built = {}
    for name in TEMPLATES:
        target = out / f"{name}.json"
        done = subprocess.run([*command, str(SOURCES / f"{name}.bicep"), "--outfile", str(target)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise OpsError(f"bicep build {name}.bicep failed: " + (done.stderr.strip().splitlines() or ["?"])[-1])
        json.loads(target.read_text())  # a compiler that wrote no JSON is a failure too
        say(f"{name}.bicep -> {target}")
        built[name] = target
    return built


def template(name: str, out: Path = BUILT) -> dict:
    """The compiled template; compiles first when it is missing or older than its sources."""
    target = Path(out) / f"{name}.json"
    newest = max(p.stat().st_mtime for p in SOURCES.rglob("*.bicep"))
    if not target.exists() or target.stat().st_mtime < newest:
        build(out, say=lambda _: None)
    return json.loads(target.read_text())
