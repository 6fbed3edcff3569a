"""The one source of time. The wiring hands one Clock to every service (SystemClock in the app, a
ManualClock in tests, nodepool/fakes/clock.py); triggers ask the services' clock for `now`; pure
decisions take `now` as a parameter and never read a clock themselves."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...  # wall time, UTC: deadlines, row timestamps, what ARM and IMDS say
    def monotonic(self) -> float: ...  # seconds, only ever compared with itself: durations
    def sleep(self, seconds: float) -> None: ...  # a wait between retries or polls


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM = SystemClock()


def utcnow() -> datetime:
    """The system clock's `now`, for code outside the wiring (the demo, tools)."""
    return SYSTEM.now()
