"""Start a drain at once, in this process, without waiting for the queue's next poll.

POST /api/events hands the drain to a bounded pool right after the cordon, the event row and
the (delayed) queue message, and answers 202 without waiting. The queue message stays the
durable record: should this process die, the drain trigger finds the lease run out and takes
over (services/drain_claim.py). `workers` bounds the threads (NODEPOOL_DRAIN_WORKERS); more
drains than that wait their turn in the pool, and the queue message covers them too.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from nodepool.domain.drain_message import DrainRequest

log = logging.getLogger(__name__)


class DrainStarter:
    starts = True  # the queue message can wait: it is only the fallback

    def __init__(self, drain: Callable[[DrainRequest], dict], workers: int):
        self._drain, self._workers = drain, workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def start(self, request: DrainRequest) -> None:
        with self._lock:
            if self._pool is None:  # created on the first drain: a process that never drains has no threads
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="drain")
            pool = self._pool
        pool.submit(self._run, request)

    def _run(self, request: DrainRequest) -> None:
        try:
            self._drain(request)
        except Exception as err:  # the queue message retries it; nothing here may kill the pool
            log.warning("in-process drain of %s for %s stopped (%s: %s); the queue message takes over",
                        request.node, request.event_id, type(err).__name__, err)

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool:
            pool.shutdown(wait=True)


class NoStart:
    """Drains from the queue message only (NODEPOOL_DRAIN_WORKERS=0): the message goes out visible."""
    starts = False

    def shutdown(self) -> None:
        return None

    def start(self, request: DrainRequest) -> None:
        return None
