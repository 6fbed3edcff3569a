"""The audit trail: one row per control action, saying who did what to which node, why, and when.

Who is the verified managed identity (its role and principal id) and, for a node's own requests,
the id of the node credential it presented (a prefix of the credential's stored hash: it names the
credential without revealing anything usable). System actors (the reconcile timer, the drain
worker) have role "system". Rows are written after the action they record, so a failed audit
insert never holds back a cordon; they never contain a token or a secret.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from nodepool.core.model import Caller

# What: the control actions the audit trail records.
JOIN = "join"
TOKEN_MINT = "token_mint"
CORDON = "cordon"
UNCORDON = "uncordon"
DRAIN = "drain"
LEAVE = "leave"
NODE_DELETE = "node_delete"
CAPACITY_WRITE = "capacity_write"
INSTANCE_DELETE = "instance_delete"
INSTANCE_REIMAGE = "instance_reimage"
REGISTER = "cluster_register"
ACTIONS = (JOIN, TOKEN_MINT, CORDON, UNCORDON, DRAIN, LEAVE, NODE_DELETE, CAPACITY_WRITE, INSTANCE_DELETE,
           INSTANCE_REIMAGE, REGISTER)
_MAX_TICKS = 10**19  # row keys sort newest first: (max - microseconds since epoch), zero-padded


@dataclass(frozen=True)
class Actor:
    role: str  # "agent", "master" or "system"
    principal_id: str = ""
    credential_id: str = ""  # the node credential presented, by id (never the secret)

    @classmethod
    def of(cls, caller: Caller, credential_id: str = "") -> Actor:
        return cls(caller.role.value, caller.principal_id, credential_id)

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls("system", name)


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    action: str
    node: str  # the node acted on ("" for cluster-wide actions such as a capacity write)
    reason: str  # why: the event id and type, "leave", a reconcile rule, ...
    role: str
    principal_id: str = ""
    credential_id: str = ""
    detail: str = ""  # a short, secret-free note (token id, instance id, new capacity)
    entry_id: str = ""  # set by the store; sorts newest first

    @classmethod
    def of(cls, actor: Actor, action: str, node: str, reason: str, now: datetime, detail: str = "") -> AuditEntry:
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        return cls(at=now, action=action, node=node, reason=reason, role=actor.role,
                   principal_id=actor.principal_id, credential_id=actor.credential_id, detail=detail)

    def public(self) -> dict:
        return {"id": self.entry_id, "at": self.at.isoformat(), "action": self.action, "node": self.node,
                "reason": self.reason, "who": {"role": self.role, "principal_id": self.principal_id,
                                               "credential_id": self.credential_id}, "detail": self.detail}


def newest_first_key(at: datetime, suffix: str) -> str:
    """A row key that sorts newer entries first; `suffix` keeps same-microsecond entries apart."""
    micros = int(at.astimezone(timezone.utc).timestamp() * 1_000_000)
    return f"{_MAX_TICKS - micros:020d}-{suffix}"
