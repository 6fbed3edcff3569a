"""The Bicep templates as pycep-parser reads them, and their resources with literal bodies."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pycep import BicepParser

BICEP = Path(__file__).resolve().parents[2] / "infra" / "bicep"
FILES = sorted(BICEP.rglob("*.bicep"))


@lru_cache(maxsize=None)
def parsed(path: Path) -> dict:
    return BicepParser().parse(text=path.read_text())


def declared_names(tree: dict) -> set[str]:
    return set(tree.get("parameters") or {}) | set(tree.get("variables") or {})


def body(resource: dict) -> dict:
    """The resource's object, through `for` loops and `if` conditions."""
    config = resource.get("config") or {}
    while isinstance(config, dict) and "config" in config and ("loop_type" in config or "condition" in config):
        config = config["config"]
    return config


def resources() -> list[tuple[Path, str, dict]]:
    found = []
    for path in FILES:
        for name, res in (parsed(path).get("resources") or {}).items():
            found.append((path, name, res))
    return found
