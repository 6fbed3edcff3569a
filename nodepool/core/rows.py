"""The one read-modify-write loop every node row update goes through (join, events, drain, reconcile, autoscale)."""
from __future__ import annotations

import random
from dataclasses import replace
from typing import Callable

from nodepool.core.clock import SYSTEM
from nodepool.core.errors import Conflict, Unavailable
from nodepool.core.ports import Registry
from nodepool.core.records import NodeRecord

_UNREAD = object()


def update_node(registry: Registry, name: str, change: Callable[[NodeRecord | None], NodeRecord | None],
                current=_UNREAD, attempts: int = 16,
                pause: Callable[[float], None] = SYSTEM.sleep) -> NodeRecord | None:
    """Apply `change` to the row with ETag concurrency, re-reading after a lost race.

    `change` gets the current row (or None) and returns the new one, or None/the same row
    to write nothing. `current` saves the first read when the caller already has the row.
    With N writers racing for one row, the last one can lose N-1 times: `attempts` is sized
    for the 10 concurrent joins of one hostname a retrying agent can cause, and a short
    random pause after each lost race spreads the re-reads out.
    """
    for attempt in range(attempts):
        if attempt > 1:
            pause(random.uniform(0, 0.005 * attempt))  # noqa: S311 (jitter, not a secret)
        row = registry.node(name) if attempt or current is _UNREAD else current
        new = change(row)
        if new is None or new == row:
            return row
        try:
            return registry.save_node(replace(new, name=name, etag=row.etag if row else None))
        except Conflict:
            continue
    raise Unavailable(f"node {name}: too many concurrent updates", code="registry_contention", retry_after=1)
