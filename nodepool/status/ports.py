"""Ports of the operator's view (GET /api/status)."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol


class DecisionLog(Protocol):
    """What the last ticks decided, newest first (one Table Storage row a tick in production)."""
    def record(self, kind: str, at: datetime, decision: dict) -> None: ...  # kind: reconcile | autoscale
    def recent(self, kind: str, limit: int = 5) -> list[dict]: ...  # [{"at": iso, "line": ..., ...}]
