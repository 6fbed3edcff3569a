"""The Registry port on Table Storage: tables `cluster`, `nodes`, `jointokens`, `events`.

nodes: PK = cluster name, RK = node name; every write is ETag-conditional.
jointokens: PK = cluster name, RK = token id (never the token secret).
events: PK = node name, RK = scheduled-event id.
"""
from __future__ import annotations

from dataclasses import fields, replace
from datetime import datetime, timezone

from nodepool.adapters.tables import Tables
from nodepool.core.model import NodeState
from nodepool.core.records import ClusterInfo, JoinTokenRecord, NodeRecord
from nodepool.drain.state import EventRecord


def _utc(value):
    """Table Storage returns its own datetime subclass; normalise to an aware datetime."""
    if isinstance(value, datetime):
        return datetime.fromtimestamp(value.timestamp(), tz=timezone.utc)
    return value


def _to_entity(pk: str, rk: str, record, skip=("etag",)) -> dict:
    entity = {"PartitionKey": pk, "RowKey": rk}
    for f in fields(record):
        value = getattr(record, f.name)
        if f.name in skip or value is None:
            continue
        entity[f.name] = value.value if isinstance(value, NodeState) else value
    return entity


def _from_entity(cls, entity: dict, **extra):
    names = {f.name for f in fields(cls)}
    values = {k: _utc(v) for k, v in entity.items() if k in names}
    return cls(**{**values, **extra})


_EVENT_KEYS = ("node", "event_id", "etag")


class TableRegistry:
    def __init__(self, tables: Tables, cluster: str):
        self._cluster_name = cluster
        self._clusters = tables("cluster")
        self._nodes = tables("nodes")
        self._tokens = tables("jointokens")
        self._events = tables("events")

    # cluster
    def cluster(self) -> ClusterInfo | None:
        row = self._clusters.get("cluster", self._cluster_name)
        return _from_entity(ClusterInfo, row) if row else None

    def save_cluster(self, info: ClusterInfo) -> None:
        self._clusters.upsert(_to_entity("cluster", self._cluster_name, info))

    # nodes
    def node(self, name: str) -> NodeRecord | None:
        row = self._nodes.get(self._cluster_name, name)
        return self._node(row) if row else None

    def save_node(self, record: NodeRecord) -> NodeRecord:
        entity = _to_entity(self._cluster_name, record.name, record, skip=("etag", "name"))
        if record.etag is None:
            etag = self._nodes.insert(entity)
        else:
            etag = self._nodes.update(entity, record.etag)
        return replace(record, etag=etag)

    def nodes_page(self, limit: int, token: str | None) -> tuple[list[NodeRecord], str | None]:
        rows, next_token = self._nodes.page("PartitionKey eq @pk", {"pk": self._cluster_name}, limit, token)
        return [self._node(r) for r in rows], next_token

    def all_nodes(self) -> list[NodeRecord]:
        return [self._node(r) for r in self._nodes.query("PartitionKey eq @pk", {"pk": self._cluster_name})]

    def delete_node(self, name: str, etag: str | None) -> None:
        """Only if unchanged since `etag` (Conflict otherwise; None: unconditionally); a missing row is fine."""
        self._nodes.delete(self._cluster_name, name, etag)

    def _node(self, row: dict) -> NodeRecord:
        return _from_entity(NodeRecord, row, name=row["RowKey"], state=NodeState(row["state"]), etag=row["etag"])

    # join tokens
    def add_join_token(self, record: JoinTokenRecord) -> None:
        self._tokens.insert(_to_entity(self._cluster_name, record.token_id, record, skip=("token_id",)))

    def join_tokens(self) -> list[JoinTokenRecord]:
        rows = self._tokens.query("PartitionKey eq @pk", {"pk": self._cluster_name})
        return [_from_entity(JoinTokenRecord, r, token_id=r["RowKey"]) for r in rows]

    def delete_join_token(self, token_id: str) -> None:
        self._tokens.delete(self._cluster_name, token_id)

    # events
    def event(self, node: str, event_id: str) -> EventRecord | None:
        row = self._events.get(node, event_id)
        return self._event(row) if row else None

    def add_event(self, record: EventRecord) -> EventRecord:
        etag = self._events.insert(_to_entity(record.node, record.event_id, record, skip=_EVENT_KEYS))
        return replace(record, etag=etag)

    def save_event(self, record: EventRecord) -> EventRecord:
        """Only if unchanged since `record.etag` (Conflict otherwise); no ETag: unconditionally."""
        entity = _to_entity(record.node, record.event_id, record, skip=_EVENT_KEYS)
        etag = self._events.upsert(entity) if record.etag is None else self._events.update(entity, record.etag)
        return replace(record, etag=etag)

    def events_before(self, when: datetime) -> list[EventRecord]:
        rows = self._events.query("received_at lt @when", {"when": when})
        return [self._event(r) for r in rows]

    @staticmethod
    def _event(row: dict) -> EventRecord:
        legacy = {} if "status" in row else {"status": "enqueued" if row.get("enqueued") else "recorded"}
        return _from_entity(EventRecord, row, node=row["PartitionKey"], event_id=row["RowKey"], etag=row.get("etag"),
                            **legacy)

    def delete_event(self, node: str, event_id: str) -> None:
        self._events.delete(node, event_id)
