"""Helpers for the cloud-init tests: render, parse YAML with cloud-init's own Python, find tools.

The project's venv has no YAML library; cloud-init (installed by `tasks.py test` through
infra.tools.ensure_debian_tools) brings PyYAML and its schema, so we ask its interpreter.
"""
from __future__ import annotations

import functools
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.cloud_init import EXAMPLE, render_cloud_init

ROLES = ("master", "agent")
ALL_ON = {**EXAMPLE, "PRIVATE_REGISTRY": "true", "TAILSCALE": "true", "NVIDIA": "true", "PACKAGE_UPGRADE": "false",
          "AGENT_LABELS": "nodepool/pool=gpu,tier=batch"}


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip("%s is not installed (tasks.py test installs it with apt-get: infra.tools)" % name)
    return path


@functools.lru_cache(maxsize=None)
def cloud_init_python() -> str | None:
    path = shutil.which("cloud-init")
    if path is None:
        return None
    first = Path(path).read_text(errors="replace").splitlines()[0]
    return first[2:].strip().split()[0] if first.startswith("#!") else None


def _ask(program: str, stdin: str) -> object:
    python = cloud_init_python()
    if python is None:
        pytest.skip("cloud-init is not installed (tasks.py test installs it with apt-get: infra.tools)")
    done = subprocess.run([python, "-c", program], input=stdin, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def load_yaml(text: str) -> object:
    return _ask("import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))", text)


def load_yaml_documents(text: str) -> list:
    return _ask("import json, sys, yaml; print(json.dumps([d for d in yaml.safe_load_all(sys.stdin) if d]))", text)


@functools.lru_cache(maxsize=None)
def schema_top_level_keys() -> frozenset:
    """Every top-level key cloud-init's schema knows: the union over its allOf $defs' properties."""
    program = (
        "import json\nfrom cloudinit.config.schema import get_schema\n"
        "s = get_schema(); keys = set(s.get('properties', {}))\n"
        "for ref in s.get('allOf', []):\n"
        "    d = s['$defs'][ref['$ref'].rsplit('/', 1)[-1]] if '$ref' in ref else ref\n"
        "    keys |= set(d.get('properties', {}))\n"
        "print(json.dumps(sorted(keys)))\n")
    return frozenset(_ask(program, ""))


@functools.lru_cache(maxsize=None)
def rendered(role: str, all_on: bool = False) -> str:
    return render_cloud_init(role, ALL_ON if all_on else EXAMPLE)


@functools.lru_cache(maxsize=None)
def parsed(role: str, all_on: bool = False) -> dict:
    return load_yaml(rendered(role, all_on))


def files(role: str) -> dict:
    """write_files of a rendered role, by path."""
    return {entry["path"]: entry for entry in parsed(role)["write_files"]}


def scripts(role: str) -> dict:
    return {path: e["content"] for path, e in files(role).items()
            if not e.get("encoding") and e.get("content", "").startswith(("#!/bin/sh", "#!/bin/bash"))}


def units(role: str) -> dict:
    return {path: e["content"] for path, e in files(role).items() if path.startswith("/etc/systemd/system/")}


def env_file(role: str) -> dict:
    out = {}
    for line in files(role)["/etc/nodepool/node.env"]["content"].splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key] = value
    return out
