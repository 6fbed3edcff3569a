"""Records the control plane keeps in Table Storage (cluster, nodes, jointokens), and the node lifecycle.
The drain's event row is nodepool/drain/state.py's.

Secrets in these records (`ClusterInfo.credential`, `agent_token`) are excluded from
`repr` so that an accidental log line cannot carry them.

The node lifecycle is one table (TRANSITIONS), read by `NodeRecord`'s transition methods: which
move a registry row may make from which state. A row that does not exist yet is `NodeState.NEW`
(never stored). A refused move raises IllegalTransition; callers whose rule is "leave the row to
whoever took it" ask `row.can(move)` first. The drain's end moves (`drained`, `removed`) are
allowed from any state: the drain worker re-reads the row, and whatever happened to it during the
drain, the drain's outcome is what the agent and reconcile must see.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from nodepool.core.errors import IllegalTransition
from nodepool.core.model import NodeState

S = NodeState
ANY = frozenset(S)
RECORDED = ANY - {S.NEW}

TRANSITIONS: dict[str, tuple[frozenset[S], S]] = {
    "join": (ANY, S.JOINING),                     # a (re)join: a new VM or disk may reuse any name
    "ready": (frozenset({S.JOINING}), S.READY),   # the joined node's kubelet reported Ready
    "uncordon": (frozenset({S.CORDONED, S.LEFT}), S.READY),  # an event's cordon ended, the VM stayed
    "withdrawn": (frozenset({S.CORDONED, S.DRAINING}), S.READY),  # Azure cancelled the event: back in service
    "cordon": (ANY - {S.DELETED}, S.CORDONED),    # a scheduled event; a deleted node stays deleted
    "leave": (ANY, S.LEFT),                       # the agent shuts down on purpose
    "drain": (ANY, S.DRAINING),                   # the drain worker started (or resumed)
    "drained": (ANY, S.CORDONED),                 # drained; the VM stays (Reboot, Redeploy)
    "removed": (ANY, S.DELETED),                  # drained; the VM goes: Node and password deleted
    "stale": (RECORDED, S.DELETED),               # reconcile: the row's VM is gone
}


def allowed(state: S, move: str) -> bool:
    sources, _ = TRANSITIONS[move]
    return state in sources


def target(state: S, move: str, node: str = "") -> S:
    """The state after `move`, or IllegalTransition."""
    sources, to = TRANSITIONS[move]
    if state not in sources:
        raise IllegalTransition(f"node {node}: cannot {move} from {state.value}")
    return to


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
    # The scale set that listed the VM at join (instance ids repeat across scale sets); "" in rows
    # written before pools existed: the main one.
    scale_set: str = ""
    vm_id: str = ""
    token_id: str = ""
    joined_at: datetime | None = None
    updated_at: datetime | None = None
    last_event_id: str = ""
    last_event_type: str = ""
    deadline: datetime | None = None
    drain_started_at: datetime | None = None
    drained_at: datetime | None = None
    pods_left: int | None = None  # pods the drain could not evict
    pods_terminating: int | None = None  # evicted, but still on the Node when the drain stopped
    note: str = ""
    etag: str | None = field(default=None, compare=False)

    @classmethod
    def new(cls, name: str) -> "NodeRecord":
        """The row a node has before anything was recorded: every transition starts from here too."""
        return cls(name=name, state=NodeState.NEW)

    # -- the lifecycle (TRANSITIONS above); each returns the moved row ----------------------------
    def can(self, move: str) -> bool:
        return allowed(self.state, move)

    def joined(self, *, instance_id: str, vm_id: str, token_id: str, now: datetime,
               scale_set: str = "") -> "NodeRecord":
        return self._move("join", instance_id=instance_id, scale_set=scale_set, vm_id=vm_id, token_id=token_id,
                          joined_at=now, updated_at=now, note="")

    def became_ready(self, now: datetime) -> "NodeRecord":
        return self._move("ready", updated_at=now)

    def uncordoned(self, now: datetime) -> "NodeRecord":
        return self._move("uncordon", updated_at=now)

    def cordoned_for(self, event_id: str, event_type: str, deadline: datetime, now: datetime) -> "NodeRecord":
        return self._for_event(event_id, event_type, deadline, now)._move("cordon")

    def left(self, event_id: str, deadline: datetime, now: datetime) -> "NodeRecord":
        return self._for_event(event_id, "Leave", deadline, now)._move("leave")

    def draining(self, event_id: str, event_type: str, deadline: datetime, now: datetime) -> "NodeRecord":
        """Started, or resumed after a redelivery: a resumed drain keeps its start time."""
        row = self._for_event(event_id, event_type, deadline, now)
        return row._move("drain", drain_started_at=row.drain_started_at or now)

    def drained(self, event_id: str, event_type: str, deadline: datetime, now: datetime, *,
                removing: bool, pods_left: int, terminating: int = 0) -> "NodeRecord":
        """`removing`: the drain deleted the Node (its VM goes, and no pod was left on it)."""
        notes = [f"{pods_left} pods not evicted before the deadline" if pods_left else "",
                 f"{terminating} evicted pods still terminating at the deadline" if terminating else ""]
        return self._for_event(event_id, event_type, deadline, now)._move(
            "removed" if removing else "drained", drained_at=now, pods_left=pods_left, pods_terminating=terminating,
            note="; ".join(n for n in notes if n))

    def withdrawn(self, now: datetime) -> "NodeRecord":
        return self._move("withdrawn", updated_at=now, note="")

    def stale(self, now: datetime, reason: str) -> "NodeRecord":
        return self._move("stale", updated_at=now, note=reason[:200])

    def _move(self, move: str, **changes) -> "NodeRecord":
        return replace(self, state=target(self.state, move, self.name), **changes)

    def _for_event(self, event_id: str, event_type: str, deadline: datetime, now: datetime) -> "NodeRecord":
        """This row taking on `event_id`. A drain recorded for an earlier event (a Reboot's, say) says
        nothing about this one, so its fields are cleared: otherwise the agent, polling GET /nodes/{name},
        and the drain worker ("already drained") would both take it for this event's drain."""
        row = self if self.last_event_id == event_id else replace(self, drain_started_at=None, drained_at=None,
                                                                   pods_left=None, pods_terminating=None)
        return replace(row, last_event_id=event_id, last_event_type=event_type, deadline=deadline, updated_at=now)

    def public(self) -> dict:
        """The registry view served by GET /api/nodes (no secrets live here anyway)."""
        out = {"name": self.name, "state": self.state.value}
        for key in ("instance_id", "scale_set", "vm_id", "last_event_id", "last_event_type", "pods_left",
                    "pods_terminating", "note"):
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
