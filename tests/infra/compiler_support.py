"""`bicep` on PATH for a test: tests/infra/stand_in_bicep.py behind a shell script."""
from __future__ import annotations

import os
import sys
from pathlib import Path

STAND_IN = Path(__file__).with_name("stand_in_bicep.py")


def install(folder: Path) -> dict[str, str]:
    """Write `bicep` into folder; the environment that puts it first on PATH (and logs each build)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "bicep"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STAND_IN}" "$@"\n')
    script.chmod(0o755)
    return {"PATH": f"{folder}{os.pathsep}{os.environ.get('PATH', '')}",
            "STAND_IN_BICEP_LOG": str(folder / "builds.log")}
