"""The audit trail as services use it: `record` after an action, `page` for GET /api/audit.

A write is one insert, made after the action it records: a storage fault while auditing never
undoes or holds back a cordon or a join. It is logged instead (as the entry, which holds no
secret), so the trail survives in the logs when the table is unreachable. With `writers` (the
app's trail), the rows of one action (a join and the token it minted) are inserted side by side
and waited for: one round trip of latency, every row its own; same-instant rows have no set order.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from nodepool.core.audit import Actor, AuditEntry
from nodepool.core.errors import NodepoolError
from nodepool.core.logs import logger
from nodepool.core.ports import AuditLog

log = logger(__name__)
MAX_PAGE = 500


class AuditTrail:
    def __init__(self, store: AuditLog, writers: int = 0):
        self.store = store
        self._writers = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="audit") if writers else None

    def record(self, actor: Actor, action: str, node: str, reason: str, now: datetime, detail: str = "") -> None:
        self._write(AuditEntry.of(actor, action, node, reason, now, detail))

    def record_all(self, entries: list[AuditEntry]) -> None:
        """Several rows of one action (AuditEntry.of each), inserted side by side; back once all are written.
        Without writers, one after the other in the order given."""
        if self._writers is None:
            for entry in entries:
                self._write(entry)
            return
        pending = [self._writers.submit(self._write, entry) for entry in entries[1:]]
        for entry in entries[:1]:
            self._write(entry)
        for write in pending:
            write.result()

    def _write(self, entry: AuditEntry) -> None:
        try:
            self.store.add(entry)
        except NodepoolError as err:
            log.warning("audit row not written (%s): %s", err.code, entry.public())

    def page(self, limit: int, token: str | None) -> dict:
        rows, next_token = self.store.page(max(1, min(limit, MAX_PAGE)), token)
        return {"entries": [r.public() for r in rows], "next": next_token}
