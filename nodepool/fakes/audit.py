"""In-memory audit trail with the Table Storage one's order (newest first) and paging."""
from __future__ import annotations

import itertools
from dataclasses import replace

from nodepool.core.audit import AuditEntry, newest_first_key
from nodepool.core.errors import InvalidInput


class FakeAuditLog:
    def __init__(self):
        self.rows: dict[str, AuditEntry] = {}
        self._seq = itertools.count(1)
        self.fail_with: Exception | None = None  # raised by the next add (a storage fault)

    def add(self, entry: AuditEntry) -> None:
        if self.fail_with is not None:
            err, self.fail_with = self.fail_with, None
            raise err
        key = newest_first_key(entry.at, f"{10**8 - next(self._seq):08d}")  # same time: newer first
        self.rows[key] = replace(entry, entry_id=key)

    @property
    def entries(self) -> list[AuditEntry]:
        """Oldest first, as a test reads a story."""
        return [self.rows[k] for k in sorted(self.rows, reverse=True)]

    def actions(self) -> list[tuple[str, str]]:
        return [(e.action, e.node) for e in self.entries]

    def page(self, limit: int, token: str | None) -> tuple[list[AuditEntry], str | None]:
        keys = sorted(self.rows)
        try:
            start = int(token) if token else 0
        except ValueError as err:
            raise InvalidInput("bad continuation token", code="invalid_token") from err
        chosen = keys[start:start + limit]
        more = start + limit < len(keys)
        return [self.rows[k] for k in chosen], str(start + limit) if more else None
