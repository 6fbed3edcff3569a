"""Records the control plane keeps in Table Storage (cluster, nodes, jointokens).

Secrets in these records (`ClusterInfo.credential`, `agent_token`) are excluded from
`repr` so that an accidental log line cannot carry them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from nodepool.domain.model import NodeState


@dataclass(frozen=True)
class ClusterInfo:
    """What the master registered: how to reach and authenticate to its API server."""
    server: str
    ca_hash: str
    ca_cert: str
    k3s_version: str
    registered_at: datetime
    credential: str = field(repr=False)  # ServiceAccount token for the control plane
    agent_token: str = field(default="", repr=False)  # fallback when bootstrap tokens are off


@dataclass(frozen=True)
class NodeRecord:
    """One node of the registry; `etag` is the row version for optimistic concurrency."""
    name: str
    state: NodeState
    instance_id: str = ""
    vm_id: str = ""
    token_id: str = ""
    joined_at: datetime | None = None
    updated_at: datetime | None = None
    last_event_id: str = ""
    last_event_type: str = ""
    deadline: datetime | None = None
    drain_started_at: datetime | None = None
    drained_at: datetime | None = None
    pods_left: int | None = None
    note: str = ""
    etag: str | None = field(default=None, compare=False)

    def public(self) -> dict:
        """The registry view served by GET /api/nodes (no secrets live here anyway)."""
        out = {"name": self.name, "state": self.state.value}
        for key in ("instance_id", "vm_id", "last_event_id", "last_event_type", "pods_left", "note"):
            value = getattr(self, key)
            if value not in ("", None):
                out[key] = value
        for key in ("joined_at", "updated_at", "deadline", "drain_started_at", "drained_at"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value.isoformat()
        return out


@dataclass(frozen=True)
class JoinTokenRecord:
    """A bootstrap token we minted: its id only, never its secret."""
    token_id: str
    node: str
    instance_id: str
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


@dataclass(frozen=True)
class EventRecord:
    """One scheduled event of one node (table `events`: PK = node, RK = EventId): dedup + audit."""
    node: str
    event_id: str
    type: str
    received_at: datetime
    deadline: datetime
    not_before: datetime | None = None
    enqueued: bool = False  # the drain message went out; a duplicate now just gets the answer
    drained_at: datetime | None = None
    pods_left: int | None = None

    def answer(self) -> dict:
        return {"event_id": self.event_id, "type": self.type, "deadline": self.deadline.isoformat(),
                "action": "drain" if self.type != "Freeze" else "record"}
