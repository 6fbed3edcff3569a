"""The audit trail as services use it: `record` after an action, `page` for GET /api/audit.

A write is one insert, made after the action it records: a storage fault while auditing never
undoes or holds back a cordon or a join. It is logged instead (as the entry, which holds no
secret), so the trail survives in the logs when the table is unreachable.
"""
from __future__ import annotations

import logging
from datetime import datetime

from nodepool.domain.audit import Actor, AuditEntry
from nodepool.errors import NodepoolError
from nodepool.ports import AuditLog

log = logging.getLogger("nodepool.audit")
MAX_PAGE = 500


class AuditTrail:
    def __init__(self, store: AuditLog):
        self.store = store

    def record(self, actor: Actor, action: str, node: str, reason: str, now: datetime, detail: str = "") -> None:
        entry = AuditEntry.of(actor, action, node, reason, now, detail)
        try:
            self.store.add(entry)
        except NodepoolError as err:
            log.warning("audit row not written (%s): %s", err.code, entry.public())

    def page(self, limit: int, token: str | None) -> dict:
        rows, next_token = self.store.page(max(1, min(limit, MAX_PAGE)), token)
        return {"entries": [r.public() for r in rows], "next": next_token}
