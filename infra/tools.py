"""Make sure Debian tools the tests need (cloud-init, shellcheck) are installed.

`tasks.py test` calls ensure_debian_tools(["cloud-init", "shellcheck"]) before pytest: it installs
what is missing with apt-get when running as root (saying so first; NODEPOOL_NO_APT=1 opts out), and
otherwise says what to install.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence

# The executable each package provides, when it differs from the package name.
COMMANDS = {"cloud-init": "cloud-init", "shellcheck": "shellcheck", "systemd": "systemd-analyze"}


def missing(packages: Sequence[str], which: Callable[[str], str | None] = shutil.which) -> list[str]:
    return [p for p in packages if which(COMMANDS.get(p, p)) is None]


def ensure_debian_tools(packages: Sequence[str], *, say: Callable[[str], None] = print,
                        run: Callable[..., subprocess.CompletedProcess] = subprocess.run,
                        which: Callable[[str], str | None] = shutil.which,
                        is_root: bool | None = None) -> list[str]:
    """Install the missing packages with apt-get; returns those still missing afterwards."""
    absent = missing(packages, which)
    if not absent:
        return []
    is_root = (os.geteuid() == 0) if is_root is None else is_root
    if not is_root or which("apt-get") is None:
        say("missing %s: install with `sudo apt-get install -y %s`; the tests that need them are skipped"
            % (", ".join(absent), " ".join(absent)))
        return absent
    if os.environ.get("NODEPOOL_NO_APT"):
        say("missing %s (NODEPOOL_NO_APT is set, so nothing is installed); the tests that need them are skipped"
            % ", ".join(absent))
        return absent
    say("installing %s with apt-get (Debian packages the cloud-init tests validate with; "
        "set NODEPOOL_NO_APT=1 to skip them instead)" % ", ".join(absent))
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-q"], check=False, env=env)
    done = run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *absent], check=False, env=env)
    if done.returncode != 0:
        say("apt-get install %s failed (exit %d)" % (" ".join(absent), done.returncode))
    return missing(packages, which)


def ensure_tool_venv(folder, requirements, *, say: Callable[[str], None] = print,
                     run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> bool:
    """A separate venv for a tool whose pins clash with ours (checkov); reinstalled when the file changes."""
    import hashlib
    import sys
    from pathlib import Path

    folder, requirements = Path(folder), Path(requirements)
    stamp = folder / ".requirements.sha256"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return True
    say(f"installing {requirements.name} into {folder} (first run takes a few minutes)")
    if not (folder / "bin" / "python").exists():
        run([sys.executable, "-m", "venv", str(folder)], check=True)
    done = run([str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                "-r", str(requirements)], check=False)
    if done.returncode != 0:
        say(f"installing {requirements.name} failed (exit {done.returncode}); the tests that need it are skipped")
        return False
    stamp.write_text(digest)
    return True
