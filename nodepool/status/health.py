"""Health: are the settings valid and do the services we depend on answer?"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from nodepool.core.errors import NodepoolError


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    ms: float

    def as_dict(self) -> dict:
        return {"ok": self.ok, "detail": self.detail, "ms": round(self.ms, 1)}


def run_check(name: str, probe: Callable[[], object]) -> Check:
    started = time.perf_counter()
    try:
        probe()
    except NodepoolError as err:
        return Check(name, False, err.message, (time.perf_counter() - started) * 1000)
    return Check(name, True, "ok", (time.perf_counter() - started) * 1000)


def health(probes: dict[str, Callable[[], object]]) -> tuple[bool, dict]:
    checks = [run_check(name, probe) for name, probe in probes.items()]
    healthy = all(c.ok for c in checks)
    return healthy, {"status": "ok" if healthy else "failing", "checks": {c.name: c.as_dict() for c in checks}}
