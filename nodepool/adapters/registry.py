"""The Registry port on Table Storage: tables `cluster`, `nodes`, `jointokens`, `events`.

nodes: PK = cluster name, RK = node name; every write is ETag-conditional.
jointokens: PK = cluster name, RK = token id (never the token secret).
events: PK = cluster name, two rows an event, written and deleted together in one transaction:
  `e|<node>|<event id>`, the record (the dedup point and the drain's lease), and
  `t|<received at, UTC, sortable>|<node>|<event id>`, its entry in the time index, which the
  autoscaler's Preempt notices and reconcile's expiry read by key range: a tick reads the events of
  its last minutes, not every event of the last week, and two clusters sharing a storage account
  never see (or expire) each other's.
"""
from __future__ import annotations

from dataclasses import fields, replace
from datetime import datetime, timezone

from nodepool.adapters.tables import Tables
from nodepool.core.errors import NotFound
from nodepool.core.model import NodeState
from nodepool.core.records import ClusterInfo, JoinTokenRecord, NodeRecord
from nodepool.drain.state import EventRecord, ReceivedEvent


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


RECORD, RECEIVED = "e|", "t|"
RECEIVED_END = "t}"  # sorts just after every "t|..." key: the end of the time index
_TIME = "%Y%m%dT%H%M%S.%fZ"


def _record_key(node: str, event_id: str) -> str:
    return f"{RECORD}{node}|{event_id}"


def _received_key(when: datetime) -> str:
    return RECEIVED + when.astimezone(timezone.utc).strftime(_TIME)


def _index_key(event: ReceivedEvent) -> str:
    return f"{_received_key(event.received_at)}|{event.node}|{event.event_id}"


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
        row = self._events.get(self._cluster_name, _record_key(node, event_id))
        return self._event(row) if row else None

    def add_event(self, record: EventRecord) -> EventRecord:
        """The record and its time-index entry, both or neither; AlreadyExists: the dedup point."""
        entity = _to_entity(self._cluster_name, _record_key(record.node, record.event_id), record)
        index = ReceivedEvent.of(record)
        etags = self._events.transact([("create", entity),
                                       ("create", _to_entity(self._cluster_name, _index_key(index), index))])
        return replace(record, etag=etags[0])

    def save_event(self, record: EventRecord) -> EventRecord:
        """Only if unchanged since `record.etag` (Conflict otherwise); no ETag: unconditionally."""
        entity = _to_entity(self._cluster_name, _record_key(record.node, record.event_id), record)
        etag = self._events.upsert(entity) if record.etag is None else self._events.update(entity, record.etag)
        return replace(record, etag=etag)

    def events_received(self, *, since: datetime | None = None, before: datetime | None = None
                        ) -> list[ReceivedEvent]:
        low = _received_key(since) if since else RECEIVED
        high = _received_key(before) if before else RECEIVED_END
        rows = self._events.query("PartitionKey eq @pk and RowKey ge @low and RowKey lt @high",
                                  {"pk": self._cluster_name, "low": low, "high": high})
        return [_from_entity(ReceivedEvent, r) for r in rows]

    @staticmethod
    def _event(row: dict) -> EventRecord:
        return _from_entity(EventRecord, row, etag=row.get("etag"))

    def delete_event(self, node: str, event_id: str) -> None:
        """The record and its index entry together; an event already gone is fine."""
        row = self.event(node, event_id)
        if row is None:
            return
        try:
            self._events.transact([
                ("delete", {"PartitionKey": self._cluster_name, "RowKey": _record_key(node, event_id)}),
                ("delete", {"PartitionKey": self._cluster_name, "RowKey": _index_key(ReceivedEvent.of(row))})])
        except NotFound:
            pass  # deleted meanwhile
