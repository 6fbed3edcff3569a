"""Fault knobs for a simulated service: throttling, errors, slowness, short VM listings.

A fault applies to requests whose method and path match, for `count` requests or until
`seconds` have passed (or until cleared when neither is given). Kinds:
- throttle: 429 with Retry-After (the way ARM says "back off")
- error: a status, 500 by default
- slow: answer after `delay` seconds
- short_list: a VM listing shows only the first `keep` VMs and no nextLink after them
  (the silent partial answer behind the worst autoscaler incidents)
- fail_page: the `page`-th page of a VM listing (1 = first) answers 500
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sim.http import Response

KINDS = ("throttle", "error", "slow", "short_list", "fail_page")


@dataclass
class Fault:
    kind: str
    count: int | None = None
    until: float | None = None
    retry_after: float = 1
    status: int = 500
    delay: float = 0.0
    keep: int = 0
    page: int = 2
    method: str | None = None
    path: str | None = None  # a substring of the path, case-insensitive

    def alive(self, now: float) -> bool:
        return (self.count is None or self.count > 0) and (self.until is None or now < self.until)

    def matches(self, method: str, path: str, now: float) -> bool:
        return self.alive(now) and (self.method is None or self.method.upper() == method.upper()) and (
            self.path is None or self.path.lower() in path.lower())

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class Faults:
    def __init__(self, clock=time.time):
        self.clock = clock
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, kind: str, *, seconds: float | None = None, **knobs) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(KINDS)}")
        until = self.clock() + seconds if seconds is not None else None
        fault = Fault(kind, until=until, **knobs)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> list[Fault]:
        now = self.clock()
        with self._lock:
            self._faults = [f for f in self._faults if f.alive(now)]
            return list(self._faults)

    def take(self, kind: str, method: str, path: str, page: int | None = None) -> Fault | None:
        """The first matching fault of this kind, using up one of its `count`."""
        now = self.clock()
        with self._lock:
            for fault in self._faults:
                if fault.kind == kind and fault.matches(method, path, now) and (page is None or fault.page == page):
                    if fault.count is not None:
                        fault.count -= 1
                    return fault
        return None

    def respond(self, method: str, path: str) -> Response | None:
        """Apply slow / throttle / error faults to a request: an answer to send instead, or None."""
        slow = self.take("slow", method, path)
        if slow:
            time.sleep(slow.delay)
        throttle = self.take("throttle", method, path)
        if throttle:
            return Response(429, _error("TooManyRequests", "The request is being throttled."),
                            {"Retry-After": f"{throttle.retry_after:g}"})
        failure = self.take("error", method, path)
        if failure:
            return Response(failure.status, _error("InternalServerError", "An internal error occurred."))
        return None


def _error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}
