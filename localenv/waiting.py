"""Waiting on a condition, the one polling helper of tests, benchmarks and the demo."""
from __future__ import annotations

import time


def wait_for(probe, timeout: float = 10.0, interval: float = 0.05, what: str = "condition",
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
