"""The node lifecycle: which move a registry row may make from which state.

One table, read by `NodeRecord`'s transition methods (core/records.py). A row that does
not exist yet is `NodeState.NEW` (never stored). A refused move raises IllegalTransition;
callers whose rule is "leave the row to whoever took it" ask `row.can(move)` first.

The drain's end moves (`drained`, `removed`) are allowed from any state: the drain worker
re-reads the row, and whatever happened to it during the drain, the drain's outcome is what
the agent and reconcile must see.
"""
from __future__ import annotations

from nodepool.core.errors import PermanentError
from nodepool.core.model import NodeState as S

ANY = frozenset(S)
RECORDED = ANY - {S.NEW}

TRANSITIONS: dict[str, tuple[frozenset[S], S]] = {
    "join": (ANY, S.JOINING),                     # a (re)join: a new VM or disk may reuse any name
    "ready": (frozenset({S.JOINING}), S.READY),   # the joined node's kubelet reported Ready
    "uncordon": (frozenset({S.CORDONED, S.LEFT}), S.READY),  # an event's cordon ended, the VM stayed
    "cordon": (ANY - {S.DELETED}, S.CORDONED),    # a scheduled event; a deleted node stays deleted
    "leave": (ANY, S.LEFT),                       # the agent shuts down on purpose
    "drain": (ANY, S.DRAINING),                   # the drain worker started (or resumed)
    "drained": (ANY, S.CORDONED),                 # drained; the VM stays (Reboot, Redeploy)
    "removed": (ANY, S.DELETED),                  # drained; the VM goes: Node and password deleted
    "stale": (RECORDED, S.DELETED),               # reconcile: the row's VM is gone
}


class IllegalTransition(PermanentError):
    code = "illegal_transition"


def allowed(state: S, move: str) -> bool:
    sources, _ = TRANSITIONS[move]
    return state in sources


def target(state: S, move: str, node: str = "") -> S:
    """The state after `move`, or IllegalTransition."""
    sources, to = TRANSITIONS[move]
    if state not in sources:
        raise IllegalTransition(f"node {node}: cannot {move} from {state.value}")
    return to
