"""Start a drain at once, in this process, without waiting for the queue's next poll.

POST /api/events hands the drain to a bounded pool right after the cordon, the event row and
the (delayed) queue message, and answers 202 without waiting. The queue message stays the
durable record: should this process die, the drain trigger finds the lease run out and takes
over (drain/claim.py). `workers` bounds the threads (NODEPOOL_DRAIN_WORKERS) of drains
that are short of time (deadline within URGENT_S); drains with time to spare share a quarter as
many, so a long-notice mass eviction does not crowd out the reports still arriving (on 2 cores,
64 drains at once tripled the 30 s bench's cordon p99). More drains than threads wait their turn,
and the queue message covers them too.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Callable

from nodepool.core.clock import utcnow
from nodepool.drain.state import DrainRequest

log = logging.getLogger(__name__)
URGENT_S = 15.0


class DrainStarter:
    starts = True  # the queue message can wait: it is only the fallback

    def __init__(self, drain: Callable[[DrainRequest], dict], workers: int,
                 now: Callable[[], datetime] = utcnow):
        self._drain, self._now = drain, now
        self._sizes = {True: workers, False: max(1, workers // 4)}  # urgent? -> threads
        self._pools: dict[bool, ThreadPoolExecutor] = {}
        self._lock = threading.Lock()

    def start(self, request: DrainRequest) -> None:
        urgent = (request.deadline - self._now()).total_seconds() < URGENT_S
        with self._lock:
            if urgent not in self._pools:  # created on first use: a process that never drains has no threads
                name = "drain-urgent" if urgent else "drain"
                self._pools[urgent] = ThreadPoolExecutor(self._sizes[urgent], thread_name_prefix=name)
            pool = self._pools[urgent]
        pool.submit(self._run, request)

    def _run(self, request: DrainRequest) -> None:
        try:
            self._drain(request)
        except Exception as err:  # the queue message retries it; nothing here may kill the pool
            log.warning("in-process drain of %s for %s stopped (%s: %s); the queue message takes over",
                        request.node, request.event_id, type(err).__name__, err)

    def shutdown(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.shutdown(wait=True)


class NoStart:
    """Drains from the queue message only (NODEPOOL_DRAIN_WORKERS=0): the message goes out visible."""
    starts = False

    def shutdown(self) -> None:
        return None

    def start(self, request: DrainRequest) -> None:
        return None
