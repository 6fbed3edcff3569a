"""Registry reads and the one read-modify-write loop every node update goes through."""
from __future__ import annotations

import random
import time
from dataclasses import replace
from datetime import datetime
from typing import Callable

from nodepool.core.errors import Conflict, InvalidInput, NotFound, Unavailable
from nodepool.core.ports import Registry
from nodepool.core.records import NodeRecord
from nodepool.identity.guard import NodeClaim, NodeGuard
from nodepool.join.request import check_hostname

_UNREAD = object()
MAX_PAGE = 500
# A `next` token is what nodes_page handed out: two table keys (each at most 1 KiB), printable ASCII.
MAX_TOKEN = 2 * 1024 + 1


def update_node(registry: Registry, name: str, change: Callable[[NodeRecord | None], NodeRecord | None],
                current=_UNREAD, attempts: int = 16,
                pause: Callable[[float], None] = time.sleep) -> NodeRecord | None:
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


def get_node(registry: Registry, name: str) -> NodeRecord:
    row = registry.node(check_hostname(name))
    if row is None:
        raise NotFound(f"no node {name} in the registry", code="node_not_found")
    return row


def check_page_token(token: str | None) -> str | None:
    """Refuse what no page ever handed out, before storage sees it (it would answer 400, or worse)."""
    if token is None:
        return None
    if not token or len(token) > MAX_TOKEN or not all(" " < ch < "\x7f" for ch in token):
        raise InvalidInput("next is not a token this API handed out", code="invalid_next_token")
    return token


def list_nodes(registry: Registry, limit: int, token: str | None) -> dict:
    rows, next_token = registry.nodes_page(max(1, min(limit, MAX_PAGE)), token)
    return {"nodes": [r.public() for r in rows], "next": next_token}


class NodeDirectory:
    """GET /api/nodes and /api/nodes/{name}: the registry view (no secrets live in it)."""

    def __init__(self, registry: Registry, guard: NodeGuard):
        self.registry, self.guard = registry, guard

    def own(self, claim: NodeClaim, name: str, now: datetime) -> dict:
        """GET /api/nodes/{name}: a node's own status poll, with its credential."""
        self.guard.authenticate(claim, name, now)
        return get_node(self.registry, name).public()

    def page(self, limit: int, token: str | None) -> dict:
        return list_nodes(self.registry, limit, check_page_token(token))
