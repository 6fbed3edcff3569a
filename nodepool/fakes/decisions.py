"""In-memory DecisionLog: the same newest-first contract as adapters/decisions.py."""
from __future__ import annotations

from datetime import datetime


class FakeDecisionLog:
    def __init__(self):
        self.rows: dict[str, list[dict]] = {}

    def record(self, kind: str, at: datetime, decision: dict) -> None:
        self.rows.setdefault(kind, []).insert(0, {"at": at.isoformat(), **decision})

    def recent(self, kind: str, limit: int = 5) -> list[dict]:
        return self.rows.get(kind, [])[:limit]
