"""In-memory Registry with the same concurrency semantics as the Table Storage one."""
from __future__ import annotations

import itertools
import threading
from dataclasses import replace
from datetime import datetime

from nodepool.core.errors import AlreadyExists, Conflict
from nodepool.core.records import ClusterInfo, JoinTokenRecord, NodeRecord
from nodepool.drain.state import EventRecord, ReceivedEvent


class FakeRegistry:
    def __init__(self):
        self._cluster: ClusterInfo | None = None
        self._nodes: dict[str, NodeRecord] = {}
        self._tokens: dict[str, JoinTokenRecord] = {}
        self._events: dict[tuple[str, str], EventRecord] = {}
        self._etags = itertools.count(1)
        self._lock = threading.Lock()
        self.writes = 0

    def cluster(self) -> ClusterInfo | None:
        return self._cluster

    def save_cluster(self, info: ClusterInfo) -> None:
        self._cluster = info
        self.writes += 1

    def node(self, name: str) -> NodeRecord | None:
        return self._nodes.get(name)

    def save_node(self, record: NodeRecord) -> NodeRecord:
        with self._lock:
            current = self._nodes.get(record.name)
            if record.etag is None and current is not None:
                raise AlreadyExists(f"nodes/{record.name}: already exists")
            if record.etag is not None and (current is None or current.etag != record.etag):
                raise Conflict(f"nodes/{record.name}: changed by another writer")
            saved = replace(record, etag=f'W/"{next(self._etags)}"')
            self._nodes[record.name] = saved
            self.writes += 1
            return saved

    def nodes_page(self, limit: int, token: str | None) -> tuple[list[NodeRecord], str | None]:
        names = sorted(self._nodes)
        start = names.index(token) if token in names else 0
        page = names[start:start + limit]
        rest = names[start + limit:]
        return [self._nodes[n] for n in page], (rest[0] if rest else None)

    def all_nodes(self) -> list[NodeRecord]:
        return [self._nodes[n] for n in sorted(self._nodes)]

    def delete_node(self, name: str, etag: str | None) -> None:
        with self._lock:
            current = self._nodes.get(name)
            if current is None:
                return
            if etag is not None and current.etag != etag:
                raise Conflict(f"nodes/{name}: changed by another writer")
            del self._nodes[name]
            self.writes += 1

    def add_join_token(self, record: JoinTokenRecord) -> None:
        if record.token_id in self._tokens:
            raise AlreadyExists(f"jointokens/{record.token_id}: already exists")
        self._tokens[record.token_id] = record
        self.writes += 1

    def join_tokens(self) -> list[JoinTokenRecord]:
        return list(self._tokens.values())

    def delete_join_token(self, token_id: str) -> None:
        self._tokens.pop(token_id, None)
        self.writes += 1

    def event(self, node: str, event_id: str) -> EventRecord | None:
        return self._events.get((node, event_id))

    def add_event(self, record: EventRecord) -> EventRecord:
        with self._lock:
            if (record.node, record.event_id) in self._events:
                raise AlreadyExists(f"events/{record.node}/{record.event_id}: already exists")
            return self._store_event(record)

    def save_event(self, record: EventRecord) -> EventRecord:
        """ETag-conditional like Table Storage's update; no ETag: an unconditional upsert."""
        with self._lock:
            current = self._events.get((record.node, record.event_id))
            if record.etag is not None and (current is None or current.etag != record.etag):
                raise Conflict(f"events/{record.node}/{record.event_id}: changed by another writer")
            return self._store_event(record)

    def _store_event(self, record: EventRecord) -> EventRecord:
        saved = replace(record, etag=f'W/"{next(self._etags)}"')
        self._events[(record.node, record.event_id)] = saved
        self.writes += 1
        return saved

    def events_received(self, *, since: datetime | None = None, before: datetime | None = None
                        ) -> list[ReceivedEvent]:
        found = [e for e in self._events.values()
                 if (since is None or e.received_at >= since) and (before is None or e.received_at < before)]
        return [ReceivedEvent.of(e) for e in sorted(found, key=lambda e: (e.received_at, e.node, e.event_id))]

    def delete_event(self, node: str, event_id: str) -> None:
        self._events.pop((node, event_id), None)
        self.writes += 1
