"""In-memory queues for peeking: `put(name, body)` adds a message; `peek` sees at most 32."""
from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import datetime, timezone

from nodepool.core.errors import NodepoolError
from nodepool.reconcile.ports import MAX_PEEK, PeekedMessage


class FakeQueues:
    def __init__(self):
        self.messages: dict[str, list[PeekedMessage]] = defaultdict(list)
        self._ids = itertools.count(1)
        self._failures: list[NodepoolError] = []

    def put(self, name: str, body: dict | None, inserted_at: datetime | None = None) -> str:
        message = PeekedMessage(f"m{next(self._ids)}", inserted_at or datetime.now(timezone.utc), body)
        self.messages[name].append(message)
        return message.message_id

    def fail_next(self, error: NodepoolError, times: int = 1) -> None:
        self._failures.extend([error] * times)

    def peek(self, name: str, limit: int = MAX_PEEK) -> list[PeekedMessage]:
        if self._failures:
            raise self._failures.pop(0)
        return list(self.messages[name][: min(limit, MAX_PEEK)])
