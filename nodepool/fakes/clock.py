"""A Clock for tests: it says the time it was set to, and sleeping only moves it forward."""
from __future__ import annotations

from datetime import datetime, timedelta


class ManualClock:
    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("a ManualClock starts at an aware time, as the system clock's is")
        self.current = start
        self.slept = 0.0  # seconds of sleep asked for so far
        self._monotonic = 1000.0

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return self._monotonic

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        self.slept += seconds

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)
        self._monotonic += seconds
