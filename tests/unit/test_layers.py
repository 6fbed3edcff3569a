"""The layer rules, checked on every import statement of the product (lazy ones inside functions too).

- Pure decisions import no I/O: only the standard library's pure parts and other pure modules; never a
  use case, a port bundle, an adapter, settings, Azure or requests. Every module of the core and the
  capability packages is pure unless it is named in USE_CASES or PORTS below, so a new module that
  does I/O fails here until someone decides what it is.
- Use cases see ports only: no adapter, no wiring, no Azure SDK or HTTP client, and no `time` (they
  read the Clock the wiring gives them).
- Adapters implement ports: they never import a use case, the wiring or a trigger.
- Only the wiring chooses adapters; only triggers (functions/) import azure.functions or the wiring.
- The product never imports the stand-ins or tools: sim, devhost, localenv, tests, demo, console, ops, infra.
- agent/ is the node-side helper shipped as one zipapp: the standard library and itself only.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from localenv.devhost_process import ROOT

CAPABILITIES = ("core", "identity", "join", "drain", "reconcile", "autoscale", "status")
USE_CASES = {
    "nodepool.core.cluster", "nodepool.core.rows", "nodepool.core.trail",
    "nodepool.identity.attested", "nodepool.identity.guard", "nodepool.identity.instances",
    "nodepool.join.service", "nodepool.join.tokens",
    "nodepool.drain.events", "nodepool.drain.service", "nodepool.drain.evict", "nodepool.drain.withdraw",
    "nodepool.drain.release",
    "nodepool.reconcile.tick", "nodepool.reconcile.observe", "nodepool.reconcile.apply",
    "nodepool.autoscale.tick", "nodepool.autoscale.apply", "nodepool.autoscale.observe",
    "nodepool.autoscale.drain_path",
    "nodepool.status.service", "nodepool.status.nodes", "nodepool.status.health", "nodepool.status.decisions",
}
PORTS = {"nodepool.core.ports", "nodepool.identity.ports", "nodepool.reconcile.ports", "nodepool.autoscale.ports"}
PURE_STDLIB = {"__future__", "abc", "base64", "bisect", "collections", "contextlib", "copy", "dataclasses",
               "datetime", "email", "enum", "functools", "hashlib", "heapq", "hmac", "ipaddress", "itertools",
               "json", "math", "operator", "re", "secrets", "statistics", "string", "typing", "urllib.parse"}
NOT_FOR_USE_CASES = ("time", "requests", "urllib3", "azure", "socket", "subprocess", "http", "urllib.request")
STAND_INS = ("sim", "devhost", "localenv", "tests", "demo", "console", "ops", "infra", "agent")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module an import statement names: `from a.b import c` gives a.b and, when c is a module, a.b.c."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            folder = ROOT / node.module.replace(".", "/")
            found |= {f"{node.module}.{a.name}" for a in node.names
                      if (folder / a.name).is_dir() or (folder / f"{a.name}.py").is_file()}
    return found


def product_modules() -> dict[str, set[str]]:
    files = [*ROOT.glob("nodepool/**/*.py"), *ROOT.glob("functions/*.py"), ROOT / "function_app.py"]
    return {module_name(p): imports_of(p) for p in files if "fakes" not in p.parts}


def kind(module: str) -> str:
    if module == "nodepool.core.clock":
        return "the clock"  # SystemClock: the one place the product reads the time
    if module == "nodepool.core.logs":
        return "the loggers"  # every layer but the pure one logs through them
    if module == "nodepool.core.jitter":
        return "the jitter"  # random waits: every layer but the pure one may draw them
    if module in USE_CASES:
        return "use case"
    if module in PORTS:
        return "port"
    parts = module.split(".")
    if parts[0] == "nodepool" and len(parts) > 1 and parts[1] in CAPABILITIES:
        return "pure"  # a capability's modules, and its package (a docstring)
    if module.startswith("nodepool.adapters"):
        return "adapter"
    if module.startswith(("functions", "function_app")):
        return "trigger"
    return module  # nodepool.wiring, nodepool.settings, nodepool.telemetry: each a kind of its own


def under(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(modules: dict[str, set[str]]) -> list[str]:
    found = []
    for module, imported in sorted(modules.items()):
        mine = kind(module)
        for name in sorted(imported):
            theirs = kind(name) if name.startswith(("nodepool", "functions")) else None
            if under(name, STAND_INS):
                found.append(f"{module}: the product imports the stand-in or tool {name}")
            if mine == "pure" and theirs is None and name.split(".")[0] in sys.stdlib_module_names \
                    and not under(name, PURE_STDLIB) and name not in PURE_STDLIB:
                found.append(f"{module} (pure): imports {name}, which does I/O or reads the clock")
            if mine == "pure" and theirs is None and name.split(".")[0] not in sys.stdlib_module_names:
                found.append(f"{module} (pure): imports the library {name}")
            if mine == "pure" and theirs not in (None, "pure"):
                found.append(f"{module} (pure): imports {name} ({theirs})")
            if mine == "use case" and (theirs in ("adapter", "trigger", "nodepool.wiring", "nodepool.settings",
                                                  "nodepool.telemetry") or under(name, NOT_FOR_USE_CASES)):
                found.append(f"{module} (use case): imports {name}; use cases see ports and the Clock only")
            if mine == "adapter" and theirs in ("use case", "trigger", "nodepool.wiring"):
                found.append(f"{module} (adapter): imports {name} ({theirs})")
            if theirs == "adapter" and mine not in ("adapter", "nodepool.wiring"):
                found.append(f"{module}: imports the adapter {name}; only the wiring chooses adapters")
            if name == "nodepool.wiring" and mine != "trigger":
                found.append(f"{module}: imports the wiring; only triggers do")
            if under(name, ("azure.functions", "functions", "function_app")) and mine != "trigger":
                found.append(f"{module}: imports {name}; the product is importable without azure.functions")
    return found


def test_the_product_keeps_its_layers():
    problems = violations(product_modules())
    assert not problems, "\n".join(problems)


def loggers_made_directly(path: Path) -> list[int]:
    """Lines that call logging.getLogger themselves instead of nodepool.core.logs.logger(__name__)."""
    return [node.lineno for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute) and node.func.attr == "getLogger"
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "logging"]


def test_every_product_logger_is_made_by_the_one_rule():
    """logger(__name__) names a logger after its module and redacts before any handler (core/logs.py)."""
    allowed = {ROOT / "nodepool/core/logs.py", ROOT / "nodepool/telemetry.py"}  # the rule itself; root's handlers
    files = [*ROOT.glob("nodepool/**/*.py"), *ROOT.glob("functions/*.py")]
    found = {str(p.relative_to(ROOT)): lines for p in files
             if p not in allowed and "fakes" not in p.parts and (lines := loggers_made_directly(p))}
    assert not found, f"use nodepool.core.logs.logger(__name__) instead: {found}"


def test_a_planted_violation_is_found():
    """The checks can fail: a pure decision that reads the clock and calls an adapter, a use case that
    imports an adapter, an adapter that imports a use case, and the product importing the simulator."""
    planted = {"nodepool.drain.budget": {"time", "nodepool.adapters.kube"},
               "nodepool.drain.service": {"nodepool.adapters.tables", "requests"},
               "nodepool.adapters.kube": {"nodepool.drain.service"},
               "nodepool.reconcile.plan": {"sim.cluster", "nodepool.wiring"}}
    found = violations(planted)
    for module, names in planted.items():
        for name in names:
            assert any(line.startswith(module) and name in line for line in found), (module, name, found)


@pytest.mark.parametrize("path", sorted(ROOT.glob("agent/*.py")), ids=lambda p: p.name)
def test_the_agent_is_standard_library_only(path):
    foreign = sorted(n for n in imports_of(path) if n.split(".")[0] not in sys.stdlib_module_names
                     and not under(n, ("agent",)))
    assert not foreign, f"{path.name} imports {foreign}: the node helper ships as one stdlib zipapp"
