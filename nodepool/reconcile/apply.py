"""The single write point of a reconcile tick: the dry_run switch, then one action at a time.

Every action is isolated: a TransientError is logged as "retry next tick", a PermanentError
(typically a Conflict: the object changed since it was observed) and any other exception are
logged, and the next action runs. Nothing is retried here: the next tick observes afresh and
plans again. `report_poison` only logs, so it runs in a dry run too. A row marked deleted
`after_delete` is written only if this tick's delete of that node's Node or VM succeeded.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from nodepool.core import audit
from nodepool.core.audit import Actor
from nodepool.core.errors import Conflict, NotFound, PermanentError, TransientError, Unavailable
from nodepool.core.k3s import KUBE_SYSTEM
from nodepool.core.ports import Kube
from nodepool.core.rows import update_node
from nodepool.drain.state import POISON_QUEUE
from nodepool.reconcile.plan import Action, after_delete
from nodepool.reconcile.ports import ReconcilePorts

LOG_ONLY = frozenset({"report_poison"})
DELETES = frozenset({"delete_node", "delete_instance"})
# Action kinds that are control actions of the audit trail (capacity writes join when planned here).
AUDITED = {"delete_node": audit.NODE_DELETE, "delete_instance": audit.INSTANCE_DELETE,
           "reimage_instance": audit.INSTANCE_REIMAGE, "set_capacity": audit.CAPACITY_WRITE}
RECONCILER = Actor.system("reconcile")


@dataclass
class Applied:
    applied: int = 0
    failed: int = 0  # permanent errors and surprises
    retry: int = 0  # transient errors: the next tick plans it again

    def __add__(self, other: Applied) -> Applied:
        return Applied(self.applied + other.applied, self.failed + other.failed, self.retry + other.retry)


def apply(actions: tuple[Action, ...], ports: ReconcilePorts, now: datetime, dry_run: bool,
          log: logging.Logger) -> Applied:
    out, execute, deleted = Applied(), Executor(ports, now, log), set()
    for action in actions:
        fields = action.log_fields()
        if after_delete(action) and not dry_run and action.node not in deleted:
            out.retry += 1  # the delete it rests on did not happen: the row keeps saying what is true
            continue
        if dry_run and action.kind not in LOG_ONLY:
            log.info("reconcile would %s %s: %s", action.kind, action.target, action.reason, extra=fields)
            continue
        try:
            execute(action)
        except TransientError as err:
            out.retry += 1
            log.warning("reconcile %s %s: retry next tick (%s)", action.kind, action.target, err.message,
                        extra={**fields, "error": err.code})
        except PermanentError as err:
            out.failed += 1
            log.warning("reconcile %s %s failed: %s", action.kind, action.target, err.message,
                        extra={**fields, "error": err.code})
        except Exception:
            out.failed += 1
            log.exception("reconcile %s %s failed unexpectedly", action.kind, action.target, extra=fields)
        else:
            out.applied += 1
            if action.kind in DELETES:
                deleted.add(action.node)
            if action.kind not in LOG_ONLY:
                log.info("reconcile %s %s: %s", action.kind, action.target, action.reason, extra=fields)
            if ports.trail and action.kind in AUDITED:
                ports.trail.record(RECONCILER, AUDITED[action.kind], action.node,
                                   action.reason, now, detail=str(action.target))
    return out


class Executor:
    """One method per action kind; each does exactly what its action class documents."""

    def __init__(self, ports: ReconcilePorts, now: datetime, log: logging.Logger):
        self._kube, self.scaleset, self.registry = ports.kube, ports.scaleset, ports.registry
        self.now, self.log = now, log
        self._versions: dict[str, str] = {}  # node -> resourceVersion of our own patch this tick

    @property
    def kube(self) -> Kube:
        if self._kube is None:  # the planner acts on nothing without a Node listing: never reached
            raise Unavailable("no Kubernetes client: the master has not registered")
        return self._kube

    def __call__(self, action: Action) -> None:
        getattr(self, action.kind)(action)

    def delete_node(self, a) -> None:
        self.kube.delete_node(a.node)
        self.kube.delete_secret(KUBE_SYSTEM, a.secret_name)

    def restart_instance(self, a) -> None:
        self.scaleset.restart_instances([a.instance_id])

    def reimage_instance(self, a) -> None:
        self.kube.delete_secret(KUBE_SYSTEM, a.secret_name)  # first, so the fresh disk may join under its name
        self.scaleset.reimage_instances([a.instance_id])

    def delete_instance(self, a) -> None:
        try:
            self.scaleset.delete_instances([a.instance_id])
        except NotFound:
            pass  # already gone: what we wanted
        self.kube.delete_node(a.node)
        self.kube.delete_secret(KUBE_SYSTEM, a.secret_name)

    def label_node(self, a) -> None:
        self._patch(a.node, a.resource_version, labels=a.patch() or None, taints=a.taints)

    def uncordon_node(self, a) -> None:
        self._patch(a.node, a.resource_version, unschedulable=False)

        def ready(row):
            if row is None or not row.can("uncordon"):
                return row  # gone, or a new drain took it meanwhile: leave it to that
            return row.uncordoned(self.now)
        update_node(self.registry, a.node, ready)

    def mark_ready(self, a) -> None:
        row = self.registry.node(a.node)
        if row is None or not row.can("ready"):
            return  # an event or a drain took the row meanwhile: not ours to overwrite
        if a.etag and row.etag != a.etag:
            raise Conflict(f"nodes/{a.node}: changed since observed; not marked ready")
        self.registry.save_node(row.became_ready(self.now))

    def mark_stale(self, a) -> None:
        row = self.registry.node(a.node)
        if row is None:
            return
        if a.etag and row.etag != a.etag:
            raise Conflict(f"nodes/{a.node}: changed since observed; not marked stale")
        self.registry.save_node(row.stale(a.at, a.reason))

    def remove_row(self, a) -> None:
        self.registry.delete_node(a.node, a.etag)

    def expire_event(self, a) -> None:
        self.registry.delete_event(a.node, a.event_id)

    def report_poison(self, a) -> None:
        self.log.warning("reconcile: %d message(s) in %s (%d new, oldest %s): drains that "
                         "failed 5 times; look at those nodes", a.count, POISON_QUEUE, len(a.new_ids),
                         a.oldest.isoformat() if a.oldest else "unknown", extra=a.log_fields())

    def _patch(self, node: str, observed_version: str, **change) -> None:
        """With a precondition when the action has one; after our own patch, on our own version."""
        version = observed_version and self._versions.get(node, observed_version)
        patched = self.kube.patch_node(node, resource_version=version or None, **change)
        self._versions[node] = patched.resource_version
