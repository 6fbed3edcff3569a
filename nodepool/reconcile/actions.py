"""What the reconcile planner asks for: frozen values with a kind, a target and a reason.

Execution lives in the service's single write point (with the dry_run switch); each class
documents what its executor does. Destructive actions carry `since` (when the problem began)
so the planner can take the oldest problems first.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import ClassVar

from nodepool.core.model import Taint
from nodepool.drain.state import POISON_QUEUE


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Taint):
        return f"{value.key}={value.value}:{value.effect}" if value.value else f"{value.key}:{value.effect}"
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True, kw_only=True)
class Action:
    kind: ClassVar[str] = ""
    destructive: ClassVar[bool] = False
    reason: str
    node: str = ""  # the node acted on ("" only for what concerns the cluster: a poison report)

    @property
    def target(self) -> str:
        return self.node  # node-targeted actions; the others override it

    def log_fields(self) -> dict[str, object]:
        """Flat, JSON-safe fields for a log record's `extra` (no key clashes with LogRecord's)."""
        out: dict[str, object] = {"action": self.kind, "target": self.target, "destructive": self.destructive}
        out.update((f.name, _plain(getattr(self, f.name))) for f in fields(self))
        return out


@dataclass(frozen=True, kw_only=True)
class DestructiveAction(Action):
    destructive: ClassVar[bool] = True
    since: datetime  # when the problem began: the oldest goes first


@dataclass(frozen=True, kw_only=True)
class DeleteNode(DestructiveAction):
    """A ghost: delete the Node and its k3s node-password secret (kube-system)."""
    kind: ClassVar[str] = "delete_node"
    node: str
    instance_id: str = ""
    secret_name: str


@dataclass(frozen=True, kw_only=True)
class LabelNode(Action):
    """One patch of the Node: these labels (None removes one) and, unless None, this full taint list.

    Labels alone are a merge patch (no precondition); a taint list replaces the Node's, so it
    carries the observed resource_version (a concurrent writer makes it a Conflict, retried next tick).
    """
    kind: ClassVar[str] = "label_node"
    node: str
    labels: tuple[tuple[str, str | None], ...] = ()
    taints: tuple[Taint, ...] | None = None
    added_taints: tuple[Taint, ...] = ()
    removed_taints: tuple[Taint, ...] = ()
    resource_version: str = ""

    def patch(self) -> dict[str, str | None]:
        return dict(self.labels)


@dataclass(frozen=True, kw_only=True)
class MarkReady(Action):
    """A joining node whose Node is registered and Ready: its registry row becomes `ready` (if unchanged)."""
    kind: ClassVar[str] = "mark_ready"
    node: str
    etag: str | None = None


@dataclass(frozen=True, kw_only=True)
class UncordonNode(Action):
    """Mark the Node schedulable, then set its registry row to `ready` (row ETag `row_etag`)."""
    kind: ClassVar[str] = "uncordon_node"
    node: str
    resource_version: str = ""
    row_etag: str | None = None


@dataclass(frozen=True, kw_only=True)
class InstanceAction(DestructiveAction):
    """One step of a ladder: `repair` (NotReady node) or `unjoined` (VM without a Node)."""
    instance_id: str
    node: str  # the VM's computer name = its Node name
    ladder: str
    step: int

    @property
    def target(self) -> str:
        return self.instance_id


@dataclass(frozen=True, kw_only=True)
class RestartInstance(InstanceAction):
    kind: ClassVar[str] = "restart_instance"


@dataclass(frozen=True, kw_only=True)
class ReimageInstance(InstanceAction):
    """Reimage the VM and delete its node-password secret, so the fresh disk can join under its name."""
    kind: ClassVar[str] = "reimage_instance"
    secret_name: str


@dataclass(frozen=True, kw_only=True)
class DeleteInstance(InstanceAction):
    """Delete the VM, then its Node (if any) and node-password secret."""
    kind: ClassVar[str] = "delete_instance"
    secret_name: str


@dataclass(frozen=True, kw_only=True)
class MarkStale(Action):
    """Set the row's state to `deleted`, updated_at=`at`, with a note (row ETag `etag`).
    `after_delete`: the plan deletes this node's Node or VM first; only if that succeeded."""
    kind: ClassVar[str] = "mark_stale"
    node: str
    at: datetime
    etag: str | None = None
    after_delete: bool = False


@dataclass(frozen=True, kw_only=True)
class RemoveRow(Action):
    """Delete the registry row (only if unchanged: row ETag `etag`)."""
    kind: ClassVar[str] = "remove_row"
    node: str
    etag: str | None = None


@dataclass(frozen=True, kw_only=True)
class ExpireEvent(Action):
    kind: ClassVar[str] = "expire_event"
    node: str
    event_id: str

    @property
    def target(self) -> str:
        return f"{self.node}/{self.event_id}"


@dataclass(frozen=True, kw_only=True)
class ReportPoison(Action):
    """Log an error-level report (and a metric) of what sits in node-events-poison."""
    kind: ClassVar[str] = "report_poison"
    count: int
    message_ids: tuple[str, ...]
    new_ids: tuple[str, ...]
    oldest: datetime | None = None

    @property
    def target(self) -> str:
        return POISON_QUEUE
