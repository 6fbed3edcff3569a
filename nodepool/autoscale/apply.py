"""The autoscaler's one write point. Every write checks `dry_run` here and nowhere else.

- Capacity: read fresh (capacity and ETag), write min(capacity + add, max) with If-Match;
  a lost race is read and tried once more, never computed from a size cached earlier.
- Deletes name the instance: before deleting, a fresh, complete listing must show that very
  instance, with the node's name and not protected from scale-in. Anything else keeps it.
  Once deleted (or absent from a complete listing) its Node and node-password secret go.
- Errors are logged and counted; a capacity error is handed back so the tick can back the
  pool off and move the demand on.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from nodepool.autoscale.decide import AbandonScaleDown, DeleteFailed, FinishScaleDown
from nodepool.autoscale.down import ScaleDown
from nodepool.autoscale.ports import AutoscalePorts
from nodepool.autoscale.up import ScaleUp
from nodepool.core import audit
from nodepool.core.errors import CapacityUnavailable, Conflict, NodepoolError


@dataclass
class Outcome:
    applied: int = 0
    failed: int = 0
    capacity_errors: dict[str, str] = field(default_factory=dict)  # pool -> Azure's code
    deleted: set[str] = field(default_factory=set)  # nodes whose instance is gone
    not_started: set[str] = field(default_factory=set)  # scale-downs whose drain could not start


AUTOSCALER = audit.Actor.system("autoscale")


class Executor:
    """One method per kind of autoscale action; each checks dry_run, then writes."""

    def __init__(self, ports: AutoscalePorts, dry_run: bool, log: logging.Logger, now: datetime):
        self.ports, self.dry_run, self.log, self.now = ports, dry_run, log, now
        self.outcome = Outcome()

    def _audit(self, action: str, node: str, reason: str, detail: str) -> None:
        if self.ports.trail is not None:
            self.ports.trail.record(AUTOSCALER, action, node, reason, self.now, detail)

    def _would(self, what: str, reason: str, **fields) -> bool:
        if self.dry_run:
            self.log.info("autoscale would %s: %s", what, reason,
                          extra={"autoscale_dry_run": True, "reason": reason, **fields})
        return self.dry_run

    def _failed(self, what: str, err: NodepoolError, **fields) -> None:
        self.outcome.failed += 1
        self.log.warning("autoscale %s failed, next tick decides again: %s: %s", what, err.code, err.message,
                         extra={"error": err.code, **fields})

    def scale_up(self, up: ScaleUp) -> None:
        pool, scaleset = self.ports.pool(up.pool), self.ports.scaleset(up.pool)
        for attempt in (1, 2):
            try:
                info = scaleset.info()
                target = min(info.capacity + up.add, pool.max)
                if target <= info.capacity or self._would(f"set {pool.name} capacity {target}", up.reason,
                                                          pool=pool.name, capacity=target):
                    return
                scaleset.set_capacity(target, info.etag)
                self.outcome.applied += 1
                self.log.info("autoscale %s capacity %d -> %d: %s", pool.name, info.capacity, target, up.reason,
                              extra={"pool": pool.name, "capacity": target, "was": info.capacity, "reason": up.reason})
                self._audit(audit.CAPACITY_WRITE, "", up.reason, f"{pool.name} {info.capacity} -> {target}")
                return
            except CapacityUnavailable as err:
                self.outcome.capacity_errors[pool.name] = err.code
                self.log.warning("autoscale %s: no capacity (%s): %s", pool.name, err.code, err.message,
                                 extra={"pool": pool.name, "error": err.code})
                return
            except Conflict as err:
                if attempt == 2:
                    self._failed(f"capacity of {pool.name}", err, pool=pool.name)
            except NodepoolError as err:
                return self._failed(f"capacity of {pool.name}", err, pool=pool.name)

    def delete_failed(self, failed: DeleteFailed) -> None:
        if not self._would(f"delete instances {list(failed.instance_ids)} of {failed.pool}", failed.reason,
                           pool=failed.pool, instance_ids=list(failed.instance_ids)):
            self._delete(failed.pool, failed.instance_ids, failed.reason)

    def scale_down(self, down: ScaleDown) -> None:
        if self._would(f"drain {down.node} and delete its instance {down.instance_id}", down.reason,
                       pool=down.pool, node=down.node, instance_id=down.instance_id):
            return
        try:
            self.ports.drains.start(down.node, down.reason)
        except NodepoolError as err:
            self.outcome.not_started.add(down.node)
            return self._failed(f"drain of {down.node}", err, node=down.node)
        self.log.info("autoscale scale-down %s (%d pods to move): %s", down.node, down.pods, down.reason,
                      extra={"pool": down.pool, "node": down.node, "instance_id": down.instance_id,
                             "pods": down.pods, "reason": down.reason})
        if down.pods == 0:  # nothing to wait for: its instance goes now
            self.finish(FinishScaleDown(down.pool, down.node, down.instance_id, "empty node"))

    def finish(self, done: FinishScaleDown) -> None:
        if self._would(f"delete instance {done.instance_id} ({done.node})", done.reason,
                       pool=done.pool, node=done.node, instance_id=done.instance_id):
            return
        try:
            listing = self.ports.scaleset(done.pool).instances()
        except NodepoolError as err:
            return self._failed(f"listing before deleting {done.node}", err, node=done.node)
        if not listing.complete:
            return self._failed(f"listing before deleting {done.node}", NodepoolError(listing.error or "incomplete"),
                                node=done.node)
        instance = next((i for i in listing.items if i.instance_id == done.instance_id), None)
        if instance is not None and (instance.name != done.node or instance.protected):
            self.log.warning("autoscale keeps instance %s: not %s's or protected now", done.instance_id, done.node,
                             extra={"pool": done.pool, "node": done.node, "instance_id": done.instance_id})
            self.outcome.deleted.add(done.node)  # nothing of ours to delete: stop tracking it
            return
        if instance is None or self._delete(done.pool, (done.instance_id,), done.reason, done.node):
            self._remove_node(done.node)  # a complete listing without it, or our own delete: positive evidence

    def _remove_node(self, node: str) -> None:
        try:
            self.ports.drains.removed(node)
        except NodepoolError as err:
            self.log.warning("autoscale: Node %s not removed (%s), reconcile's ghost rule will", node, err.code,
                             extra={"node": node, "error": err.code})
        self.outcome.deleted.add(node)

    def abandon(self, gave_up: AbandonScaleDown) -> None:
        if not self._would(f"uncordon {gave_up.node}", gave_up.reason, node=gave_up.node):
            try:
                self.ports.drains.cancel(gave_up.node)
                self.outcome.applied += 1
            except NodepoolError as err:
                self._failed(f"uncordon of {gave_up.node}", err, node=gave_up.node)

    def _delete(self, pool: str, ids: tuple[str, ...], reason: str, node: str = "") -> bool:
        try:
            self.ports.scaleset(pool).delete_instances(ids)
        except NodepoolError as err:
            self._failed(f"delete of {pool} instances {list(ids)}", err, pool=pool, instance_ids=list(ids))
            return False
        self.outcome.applied += 1
        self.log.info("autoscale deleted %s instances %s: %s", pool, list(ids), reason,
                      extra={"pool": pool, "instance_ids": list(ids), "node": node, "reason": reason})
        for instance_id in ids:
            self._audit(audit.INSTANCE_DELETE, node, reason, f"{pool} instance {instance_id}")
        return True
