"""When things happened: conditions polled every few milliseconds, the first time each held recorded.

The simulator is in this process, so reading its state is cheap; a 5 ms poll gives timings to
about that resolution, on the same clock (time.time) as scheduled events' NotBefore.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from demo.timeline import StepFailed


class Milestones:
    def __init__(self, interval: float = 0.005):
        self.interval = interval
        self.times: dict[str, float] = {}
        self._probes: dict[str, Callable[[], object]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-milestones", daemon=True)
        self._thread.start()

    def watch(self, name: str, probe: Callable[[], object]) -> None:
        with self._lock:
            self._probes[name] = probe

    def at(self, name: str) -> float | None:
        with self._lock:
            return self.times.get(name)

    def wait(self, name: str, timeout: float, what: str) -> float:
        deadline = time.monotonic() + timeout
        while (at := self.at(name)) is None:
            if time.monotonic() > deadline:
                raise StepFailed(f"{what}: not within {timeout:.0f} s")
            time.sleep(0.01)
        return at

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                pending = [(n, p) for n, p in self._probes.items() if n not in self.times]
            for name, probe in pending:
                try:
                    held = probe()
                except Exception:  # a probe reading a half-updated world tries again next round
                    held = False
                if held:
                    with self._lock:
                        self.times[name] = time.time()
