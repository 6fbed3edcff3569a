"""Supply-chain checks for `tasks.py lint`/`audit` and CI: bandit over the code we ship, pip-audit over
the deployed app's pinned requirements (requirements.lock.txt, hashes required).

pip-audit asks PyPI's advisory database over the network. When PyPI cannot be reached the audit has
NOT run: that is printed as a warning naming it (never a pass), and with NODEPOOL_AUDIT_STRICT=1 it
fails instead. Accepted findings live in pyproject.toml: bandit's under [tool.bandit] (each skip with
its reason beside it), pip-audit's under [tool.nodepool.pip-audit] as {id, reason} entries.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import requests

# What runs in Azure (the Function App) or on our VMs (the node helper, cloud-init rendering).
BANDIT_TARGETS = ("function_app.py", "functions", "nodepool", "agent", "infra")
LOCK = "requirements.lock.txt"
ADVISORY_PROBE = "https://pypi.org/pypi/pip/json"


def accepted_vulns(root: Path) -> list[str]:
    """Ignored advisory ids; an entry without a reason is an error, not a silent ignore."""
    entries = tomllib.loads((root / "pyproject.toml").read_text()).get("tool", {}).get("nodepool", {})
    ids = []
    for entry in entries.get("pip-audit", {}).get("ignore", []):
        if not str(entry.get("reason", "")).strip():
            raise SystemExit(f"pyproject.toml: pip-audit ignore {entry.get('id')!r} has no reason")
        ids.append(entry["id"])
    return ids


def bandit(root: Path, python: str) -> int:
    cmd = [python, "-m", "bandit", "-q", "-c", "pyproject.toml", "-r", *BANDIT_TARGETS]
    return subprocess.run(cmd, cwd=root).returncode


def advisories_reachable(timeout: float = 10) -> str | None:
    """None when PyPI answers; otherwise why not."""
    try:
        requests.get(ADVISORY_PROBE, timeout=timeout).raise_for_status()
    except requests.RequestException as err:
        return type(err).__name__
    return None


def pip_audit(root: Path, python: str, say: Callable[[str], None]) -> int | None:
    """0 clean, 1 findings or failure, None: not run (PyPI unreachable)."""
    why = advisories_reachable()
    if why:
        say(f"WARNING: pip-audit NOT RUN: PyPI's advisory database is unreachable ({why}); "
            f"{LOCK} was not audited")
        return None
    cmd = [python, "-m", "pip_audit", "-r", LOCK, "--require-hashes", "--disable-pip", "--progress-spinner", "off",
           "-f", "json", *[arg for vuln in accepted_vulns(root) for arg in ("--ignore-vuln", vuln)]]
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    try:
        found = [(d["name"], d["version"], v["id"]) for d in json.loads(done.stdout)["dependencies"]
                 for v in d.get("vulns", [])]
    except (ValueError, KeyError):
        say(f"pip-audit failed (exit {done.returncode}): {done.stderr.strip()[-400:]}")
        return 1
    for name, version, vuln in found:
        say(f"pip-audit: {name} {version}: {vuln}")
    say(f"pip-audit: {len(found)} known vulnerabilities in {LOCK}")
    return 1 if found else 0


def lock_command(python: str) -> list[str]:
    """Regenerate the deployed app's pins with every distribution's sha256 (pip-compile)."""
    return [python, "-m", "piptools", "compile", "--quiet", "--generate-hashes", "--strip-extras", "--allow-unsafe",
            "--no-emit-index-url", "--no-emit-find-links", "--output-file", LOCK, "requirements.txt"]


def main(root: Path, python: str, say: Callable[[str], None]) -> int:
    results = {"bandit": bandit(root, python), "pip-audit": pip_audit(root, python, say)}
    failed = [name for name, code in results.items() if code]
    skipped = [name for name, code in results.items() if code is None]
    strict = os.environ.get("NODEPOOL_AUDIT_STRICT") == "1"
    passed = [name for name, code in results.items() if code == 0]
    say("supply chain: " + "; ".join(part for part in (
        f"FAILED: {', '.join(failed)}" if failed else "",
        f"NOT RUN: {', '.join(skipped)}" + (" (strict: a failure)" if strict else " (warning)") if skipped else "",
        f"passed: {', '.join(passed)}" if passed else "") if part))
    return 1 if failed or (skipped and strict) else 0


if __name__ == "__main__":
    sys.exit(main(Path(__file__).resolve().parent.parent, sys.executable, print))
