"""The single-step rules of the planner: ghosts, labels and taints, uncordon, registry, events, poison."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

from nodepool.core.k3s import node_password_secret
from nodepool.core.labels import desired_labels, label_changes, taints_for
from nodepool.core.model import NodeState
from nodepool.drain.state import POISON_QUEUE
from nodepool.reconcile.absence import Absence
from nodepool.reconcile.actions import (
    Action,
    DeleteNode,
    ExpireEvent,
    LabelNode,
    MarkReady,
    MarkStale,
    RemoveRow,
    ReportPoison,
    UncordonNode,
)
from nodepool.reconcile.model import Policy
from nodepool.reconcile.view import View, since_or

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
REBOOTS = frozenset({"reboot", "redeploy"})
CORDONED_BY_EVENT = frozenset({NodeState.CORDONED, NodeState.DRAINING, NodeState.LEFT})


def ghosts(view: View, absence: Absence) -> Iterator[DeleteNode]:
    """Nodes of ours whose VM ARM says is gone: delete the Node and its node-password secret.
    A VM that is merely missing from a listing is not gone (see reconcile_absence)."""
    for node in view.ghosts:
        evidence = absence.gone(node.name)
        if node.name in view.draining or evidence is None:
            continue  # a drain deletes it when done; without evidence nothing is deleted
        instance_id = absence.candidates.get(node.name, "")
        yield DeleteNode(node=node.name, instance_id=instance_id, secret_name=node_password_secret(node.name),
                         since=node.ready_since or EPOCH,
                         reason=f"ghost: VM {instance_id or node.name} is gone ({evidence}) and the Node is NotReady")


def labels(view: View, policy: Policy) -> Iterator[Action]:
    """Agent labels and taints, in one patch per node, only where they differ."""
    for node, instance in view.agents:
        changes = label_changes(node.labels, desired_labels(instance, policy.labels, policy.instance_id_label))
        taints = taints_for(node.taints, policy.taints, policy.remove_taint_keys)
        if not changes and taints is None:
            continue
        added = tuple(t for t in taints if t not in node.taints) if taints is not None else ()
        removed = tuple(t for t in node.taints if t not in taints) if taints is not None else ()
        why = [f"labels {', '.join(sorted(changes))}"] if changes else []
        why += [f"taints +{len(added)} -{len(removed)}"] if taints is not None else []
        yield LabelNode(node=node.name, labels=tuple(sorted(changes.items())), taints=taints, added_taints=added,
                        removed_taints=removed, resource_version=node.resource_version if taints is not None else "",
                        reason="agent differs from policy: " + "; ".join(why))


def uncordons(view: View) -> Iterator[Action]:
    """A node cordoned for a Reboot/Redeploy that has since come back Ready."""
    for node, _ in view.agents:
        row = view.rows.get(node.name)
        if (not node.unschedulable or node.ready is not True or row is None or node.name in view.draining
                or row.state not in CORDONED_BY_EVENT or row.last_event_type.lower() not in REBOOTS):
            continue
        went_down_after = row.drained_at or row.deadline
        if went_down_after is None or node.ready_since is None or node.ready_since <= went_down_after:
            continue  # not back yet: Ready since before the event took the node down
        yield UncordonNode(node=node.name, resource_version=node.resource_version, row_etag=row.etag,
                           reason=f"back Ready since {node.ready_since.isoformat()} after "
                                  f"{row.last_event_type} {row.last_event_id}".strip())


def joined(view: View) -> Iterator[Action]:
    """Rows still `joining` whose Node registered and is Ready: the join finished."""
    joining, rows = NodeState.JOINING, view.rows  # hoisted: this runs once per agent on every tick
    for node, _ in view.agents:
        row = rows.get(node.name)
        if row is not None and row.state is joining and node.ready is True:
            yield MarkReady(node=node.name, etag=row.etag, reason="Node registered and Ready")


def registry(view: View, now: datetime, policy: Policy, deleted_nodes: set[str],
             deleted_ids: set[str], absence: Absence) -> Iterator[Action]:
    """Rows whose node and VM are both gone (or go in this plan): mark stale; long stale: remove.
    A row changes only for what is true: a Node still there (a ghost held back by the per-tick
    limit included) keeps its row, and a VM missing from a listing must be known gone. A row
    whose Node or VM this plan deletes is marked only once that delete succeeded (`after_delete`)."""
    for name in sorted(view.rows):
        row = view.rows[name]
        if name in view.draining:
            continue  # the drain writes this row
        node, vm = view.nodes.get(name), view.instance_of_row(name, row.instance_id)
        if node is not None and name not in deleted_nodes:
            continue
        if vm is not None and vm.instance_id not in deleted_ids:
            continue
        deleting = name in deleted_nodes or vm is not None  # a VM still listed here is deleted by this plan
        if row.state is not NodeState.DELETED or row.updated_at is None:
            evidence = "deleted now" if deleting else absence.gone(name)
            if evidence is not None:
                yield MarkStale(node=name, at=now, etag=row.etag, after_delete=deleting,
                                reason=f"stale: Node and VM {row.instance_id or name} are gone ({evidence})")
        elif node is None and vm is None and now - row.updated_at >= policy.stale_row_retention:
            yield RemoveRow(node=name, etag=row.etag,
                            reason=f"gone since {row.updated_at.isoformat()} (> {policy.stale_row_retention})")


def events(view: View, now: datetime, policy: Policy) -> Iterator[Action]:
    old = [e for e in view.obs.events.items if now - e.received_at > policy.event_retention]
    for event in sorted(old, key=lambda e: (e.received_at, e.node, e.event_id)):
        yield ExpireEvent(node=event.node, event_id=event.event_id,
                          reason=f"{event.type} event received {event.received_at.isoformat()}, "
                                 f"older than {policy.event_retention}")


def poison(view: View, now: datetime) -> tuple[list[Action], frozenset[str]]:
    """Report poison messages once: again only when new ones arrive."""
    messages = view.obs.poison.items
    ids = frozenset(m.message_id for m in messages)
    new = ids - view.state.reported_poison
    if not new:
        return [], ids
    oldest = min((since_or(m.inserted_at, now) for m in messages), default=None)
    return [ReportPoison(count=len(ids), message_ids=tuple(sorted(ids)), new_ids=tuple(sorted(new)), oldest=oldest,
                         reason=f"{len(ids)} node event(s) failed 5 times and sit in {POISON_QUEUE}")], ids
