"""Waiting on a condition, the one polling helper of tests, benchmarks, the simulator and the demo.

Waits have generous bounds (a slow machine waits longer; it does not fail): a test says what it waits
for, never how fast it must come."""
from __future__ import annotations

import time

WAIT_S = 20.0  # generous: what a loaded 2-core machine needs, never what a quiet one does


def wait_for(probe, timeout: float = WAIT_S, interval: float = 0.05, what: str = "condition",
             error: type[Exception] = TimeoutError):
    """Call `probe` until it returns something truthy (returned) or `timeout` passes (`error` raised)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise error(f"{what}: not reached within {timeout:g} s (last: {value!r})")
        time.sleep(interval)
