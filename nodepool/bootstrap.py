"""The one place that wires settings -> adapters -> services. Cached per worker process.

Triggers call `services()`; tests build `Services` with fakes directly.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from nodepool.adapters.queues import Queues
from nodepool.adapters.tables import Tables
from nodepool.settings import Settings


@dataclass
class Services:
    settings: Settings
    tables: Tables
    queues: Queues

    def health_probes(self) -> dict:
        return {"tables": self.tables.ping, "queues": self.queues.ping}


_lock = threading.Lock()
_services: Services | None = None


def services() -> Services:
    """Build once per process; raises InvalidSettings (not cached) while settings are wrong."""
    global _services
    if _services is None:
        with _lock:
            if _services is None:
                settings = Settings.from_env()
                _services = Services(settings=settings, tables=Tables(settings), queues=Queues(settings))
    return _services


def reset() -> None:
    """Forget the wiring (tests that change the environment)."""
    global _services
    with _lock:
        _services = None
