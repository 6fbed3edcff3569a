"""Look at the first messages of a queue without taking them (Queue Storage peeks at most 32).

The reconcile tick uses it to see drains still waiting in `node-events` and what sits in
`node-events-poison`; peeking changes nothing, so it is not a write.
"""
from __future__ import annotations

import json

from nodepool.adapters.queues import Queues
from nodepool.adapters.tables import storage_errors
from nodepool.reconcile.ports import MAX_PEEK, PeekedMessage


def _json(content) -> dict | None:
    try:
        body = json.loads(content)
    except (TypeError, ValueError):
        return None
    return body if isinstance(body, dict) else None


class QueuePeek:
    def __init__(self, queues: Queues):
        self._queues = queues

    def peek(self, name: str, limit: int = MAX_PEEK) -> list[PeekedMessage]:
        client = self._queues.client(name)
        with storage_errors(f"queue {name}"):
            messages = client.peek_messages(max_messages=max(1, min(limit, MAX_PEEK)))
        return [PeekedMessage(m.id, m.inserted_on, _json(m.content)) for m in messages]
