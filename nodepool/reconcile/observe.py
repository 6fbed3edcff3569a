"""Observe: everything one tick looks at, each listing a Snapshot.

A listing that fails (an exception of any kind, a page that errored, a master not registered
yet) becomes an incomplete Snapshot with the reason: it never raises into the tick, and the
planner refuses to act on it. Reads only; nothing here writes.

Reconcile manages one scale set (NODEPOOL_SCALE_SET): registry rows of nodes that joined from
another one (an autoscale pool's, say the Regular fallback) are left out, so their instance ids
are never looked up in this scale set: "instance 0" there is another VM, and ARM's 404 for it here
would be no evidence at all about theirs.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from nodepool.core.model import NodeState, Snapshot, same_scale_set
from nodepool.drain.state import NODE_EVENTS_QUEUE, POISON_QUEUE, node_of
from nodepool.reconcile.plan import Observation, PoisonMessage, Policy, TickState
from nodepool.reconcile.ports import MAX_PEEK, ReconcilePorts


def observe(ports: ReconcilePorts, state: TickState, now: datetime, policy: Policy) -> Observation:
    instances = listing(ports.scaleset.instances)
    capacity = _capacity(ports) if instances.complete and not instances.error else None
    nodes = listing(ports.kube.nodes) if ports.kube else Snapshot(
        (), complete=False, error="no Kubernetes client: the master has not registered, or its row is unreadable")
    rows = listing(lambda: Snapshot(tuple(r for r in ports.registry.all_nodes() if _here(r.scale_set, ports))))
    events = listing(lambda: Snapshot(tuple(ports.registry.events_before(now - policy.event_retention))))
    poison, drains = _queues(ports, rows)
    claims = {n.provider_id: ports.scaleset.claim(n.provider_id) for n in nodes.items if n.provider_id}
    return Observation(instances, nodes, rows, events, poison, drains, state, claims, capacity=capacity)


def _here(scale_set: str, ports: ReconcilePorts) -> bool:
    return not scale_set or same_scale_set(scale_set, ports.scaleset.name)


def _capacity(ports: ReconcilePorts) -> int | None:
    """The scale set's own sku.capacity, read after the listing; None when ARM would not say
    (the planner then falls back to the last trusted count and the registry)."""
    try:
        return ports.scaleset.info().capacity
    except Exception:
        return None


def probe(get: Callable[[str], object | None], keys: tuple[str, ...]) -> dict[str, bool]:
    """GET each thing a listing lacked (an instance from ARM, a Node from Kubernetes): True (it
    exists), False (404). The first GET that fails otherwise (throttled, down, the scale set
    itself not found) ends the round: the keys left have no evidence either way, and more
    calls would only prolong the tick."""
    answers: dict[str, bool] = {}
    for key in keys:
        try:
            answers[key] = get(key) is not None
        except Exception:
            break
    return answers


def listing(read: Callable[[], Snapshot]) -> Snapshot:
    try:
        return read()
    except Exception as err:  # whatever went wrong, the picture is incomplete; the tick goes on
        return Snapshot((), complete=False, error=f"{type(err).__name__}: {getattr(err, 'message', err)}")


def _queues(ports: ReconcilePorts, rows: Snapshot) -> tuple[Snapshot[PoisonMessage], frozenset[str]]:
    """Poison messages, and the nodes whose drain message still waits in `node-events`.

    A peek sees at most 32 messages: when it comes back full, more may wait behind them, so
    every cordoned row counts as a pending drain too (their repairs wait a tick; nothing is lost).
    Both peeks share the poison listing's completeness: if either fails, the tick does nothing.
    """
    try:
        waiting = ports.queues.peek(NODE_EVENTS_QUEUE, MAX_PEEK)
        poisoned = ports.queues.peek(POISON_QUEUE, MAX_PEEK)
    except Exception as err:
        return Snapshot((), complete=False, error=f"queues: {getattr(err, 'message', err)}"), frozenset()
    drains = {node for m in waiting if (node := node_of(m.body))}
    if len(waiting) >= MAX_PEEK:
        drains |= {r.name for r in rows.items if r.state is NodeState.CORDONED}
    return Snapshot(tuple(PoisonMessage(m.message_id, m.inserted_at) for m in poisoned)), frozenset(drains)
