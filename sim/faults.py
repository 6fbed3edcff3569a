"""One fault injector for every simulated service (ARM, Kubernetes): errors, slowness, hangs,
short, stale and inconsistent listings, a skewed clock.

A fault applies to requests whose method and path match, for `count` requests or until
`seconds` have passed (or until cleared when neither is given). Kinds:
- throttle: 429 with Retry-After (the way ARM and the API server say "back off")
- error: a status, 500 by default (429 and 503 also carry Retry-After)
- slow: answer after `delay` seconds
- hang: accept the request and never answer (until `delay` or clear()): a client read timeout
- short_list: a VM listing shows only the first `keep` VMs and no nextLink after them
  (the silent partial answer behind the worst autoscaler incidents)
- fail_page: the `page`-th page of a VM listing (1 = first) answers 500
- no_view: a VM listing's VMs come without instanceView (`keep=1`: with it, but no PowerState)
- duplicate: a VM listing repeats the last `keep` (1) VMs of a page at the start of the next one, or
  at the end of a listing of one page: a page boundary that moved while the client paged; `state`
  gives the copies another PowerState (the VM changed between the two pages)
- stale_list: a Kubernetes list answers `snapshot` (`KubeSim.snapshot()`, taken earlier; by default
  the first list it matches), whole and unpaged, as a watch cache or a caching proxy behind a change
  does: older objects at older resourceVersions
- skew: the Kubernetes API server's clock runs `delay` seconds ahead (negative: behind), in every
  timestamp it writes (creation, condition transitions)
`paged_only` limits a fault to requests carrying a continue token. Every fault that fires is
counted in `counts` (by kind, and by status for errors), so a test can tell its retry path ran.
Each server says how a fault looks on its wire (`Faults.pick` returns the fault, not a body).
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass

KINDS = ("throttle", "error", "slow", "hang", "short_list", "fail_page", "no_view", "duplicate", "stale_list",
         "skew")
REQUEST_KINDS = ("slow", "hang", "throttle", "error")  # what `pick` applies to a whole request


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
    paged_only: bool = False  # only requests carrying a continue token
    state: str = ""  # duplicate: the PowerState of the repeated copies ("" as listed)
    snapshot: bytes | None = None  # stale_list: the answer it serves

    def alive(self, now: float) -> bool:
        return (self.count is None or self.count > 0) and (self.until is None or now < self.until)

    def matches(self, method: str, path: str, query: dict, now: float) -> bool:
        return self.alive(now) and (self.method is None or self.method.upper() == method.upper()) and (
            self.path is None or self.path.lower() in path.lower()) and (
            not self.paged_only or bool(query.get("continue")))

    @property
    def answer_status(self) -> int:
        return 429 if self.kind == "throttle" else self.status

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None and k != "snapshot"}


class Faults:
    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.counts: Counter = Counter()
        self.released = threading.Event()  # set on clear(): hung requests give up at once
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, kind: str, *, seconds: float | None = None, **knobs) -> Fault:
        """Until cleared unless `seconds` or `count` is given (the ARM control API's default)."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(KINDS)}")
        fault = Fault(kind, until=self.clock() + seconds if seconds is not None else None, **knobs)
        with self._lock:
            self.released.clear()
            self._faults.append(fault)
        return fault

    # -- the short forms tests use: the next request only, unless `seconds` or `times` says otherwise
    def fail(self, status: int = 503, *, seconds: float | None = None, times: int | None = None,
             path: str | None = None, paged_only: bool = False) -> Fault:
        return self.add("error", status=status, seconds=seconds, count=_once(seconds, times), path=path,
                        paged_only=paged_only)

    def slow(self, delay_s: float, *, seconds: float | None = None, times: int | None = None,
             path: str | None = None) -> Fault:
        return self.add("slow", delay=delay_s, seconds=seconds, count=_once(seconds, times), path=path)

    def hang(self, *, seconds: float | None = None, times: int | None = None, path: str | None = None,
             hold_s: float = 30.0) -> Fault:
        return self.add("hang", delay=hold_s, seconds=seconds, count=_once(seconds, times), path=path)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
        self.released.set()

    def active(self) -> list[Fault]:
        now = self.clock()
        with self._lock:
            self._faults = [f for f in self._faults if f.alive(now)]
            return list(self._faults)

    def take(self, kind: str, method: str, path: str, query: dict | None = None,
             page: int | None = None) -> Fault | None:
        """The first matching fault of this kind, using up one of its `count`, and counted."""
        now = self.clock()
        with self._lock:
            for fault in self._faults:
                if fault.kind == kind and fault.matches(method, path, query or {}, now) and (
                        page is None or fault.page == page):
                    if fault.count is not None:
                        fault.count -= 1
                    self.counts[kind] += 1
                    if kind in ("error", "throttle"):
                        self.counts[str(fault.answer_status)] += 1
                    return fault
        return None

    def pick(self, method: str, path: str, query: dict | None = None) -> Fault | None:
        """Sleeps through a slow fault, then returns the hang, throttle or error to answer, if any."""
        slow = self.take("slow", method, path, query)
        if slow:
            time.sleep(slow.delay)
        for kind in ("hang", "throttle", "error"):
            fault = self.take(kind, method, path, query)
            if fault:
                return fault
        return None

    def skew(self) -> float:
        """Seconds the service's clock is off by now (live `skew` faults)."""
        return sum(f.delay for f in self.active() if f.kind == "skew")

    def hold(self, fault: Fault) -> None:
        """Keep a hung request waiting: `delay` seconds or until clear()."""
        self.released.wait(fault.delay)


def _once(seconds: float | None, times: int | None) -> int | None:
    return 1 if seconds is None and times is None else times


def retry_after(fault: Fault) -> dict[str, str]:
    return {"Retry-After": f"{fault.retry_after:g}"} if fault.answer_status in (429, 503) else {}
