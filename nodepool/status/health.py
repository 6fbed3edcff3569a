"""Health: are the settings valid and do the services we depend on answer?"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nodepool.core.clock import SYSTEM, Clock
from nodepool.core.errors import NodepoolError


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    ms: float

    def as_dict(self) -> dict:
        return {"ok": self.ok, "detail": self.detail, "ms": round(self.ms, 1)}


def run_check(name: str, probe: Callable[[], object], clock: Clock = SYSTEM) -> Check:
    started = clock.monotonic()
    try:
        probe()
    except NodepoolError as err:
        return Check(name, False, err.message, (clock.monotonic() - started) * 1000)
    return Check(name, True, "ok", (clock.monotonic() - started) * 1000)


def health(probes: dict[str, Callable[[], object]], clock: Clock = SYSTEM) -> tuple[bool, dict]:
    checks = [run_check(name, probe, clock) for name, probe in probes.items()]
    healthy = all(c.ok for c in checks)
    return healthy, {"status": "ok" if healthy else "failing", "checks": {c.name: c.as_dict() for c in checks}}
