"""Faults for the simulated API server: fail (500/503/429), slow down, or hang requests
for a while or for the next N requests, optionally only some paths or only continued pages.
Every injected fault is counted, so a test can tell that its retry path really ran.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass


@dataclass
class Fault:
    kind: str  # fail | slow | hang
    status: int = 503
    delay_s: float = 0.0
    until: float | None = None  # monotonic deadline, or None
    times: int | None = None  # remaining requests, or None
    path: str | None = None  # only paths containing this
    paged_only: bool = False  # only requests carrying a continue token

    def applies(self, path: str, query: dict, now: float) -> bool:
        if self.until is not None and now >= self.until:
            return False
        if self.times is not None and self.times <= 0:
            return False
        if self.path and self.path not in path:
            return False
        return not self.paged_only or bool(query.get("continue"))


class Chaos:
    def __init__(self):
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.counts: Counter = Counter()
        self.released = threading.Event()  # set on clear()/stop: hung requests give up at once

    def _add(self, fault: Fault, seconds: float | None) -> Fault:
        if seconds is not None:
            fault.until = time.monotonic() + seconds
        if seconds is None and fault.times is None:
            fault.times = 1
        with self._lock:
            self.released.clear()
            self._faults.append(fault)
        return fault

    def fail(self, status: int = 503, *, seconds: float | None = None, times: int | None = None,
             path: str | None = None, paged_only: bool = False) -> Fault:
        """Answer `status` (500, 503, 429 ...) with a Status body; the next request by default."""
        return self._add(Fault("fail", status=status, times=times, path=path, paged_only=paged_only), seconds)

    def slow(self, delay_s: float, *, seconds: float | None = None, times: int | None = None,
             path: str | None = None) -> Fault:
        return self._add(Fault("slow", delay_s=delay_s, times=times, path=path), seconds)

    def hang(self, *, seconds: float | None = None, times: int | None = None, path: str | None = None,
             hold_s: float = 30.0) -> Fault:
        """Accept the request and never answer (until `hold_s` or clear()): a client read timeout."""
        return self._add(Fault("hang", delay_s=hold_s, times=times, path=path), seconds)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
        self.released.set()

    def pick(self, path: str, query: dict) -> Fault | None:
        now = time.monotonic()
        with self._lock:
            self._faults = [f for f in self._faults if (f.until is None or now < f.until)
                            and (f.times is None or f.times > 0)]
            for fault in self._faults:
                if fault.applies(path, query, now):
                    if fault.times is not None:
                        fault.times -= 1
                    self.counts[fault.kind] += 1
                    if fault.kind == "fail":
                        self.counts[str(fault.status)] += 1
                    return fault
        return None
