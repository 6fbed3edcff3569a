"""Observe: everything one tick looks at, each listing a Snapshot.

A listing that fails (a typed error of the port: storage, ARM or Kubernetes down or refusing, a page
that errored, a master not registered yet) becomes an incomplete Snapshot with the reason: it never
raises into the tick, and the planner refuses to act on it. Anything else is a bug: it raises, with
its stack, rather than pass for an incomplete picture and silently stop reconcile. Reads only.

Every scale set the app manages gets its own Observation over the one Node listing: its own
instances, capacity and claims, and the registry rows of the nodes that joined from it (rows
without a scale set are the main one's, from before pools). A row of one pool is never looked up
in another: "instance 0" there is another VM, and ARM's 404 for it here would be no evidence at
all about theirs. The cluster's event rows and poison queue go with the main scale set only.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from nodepool.core.errors import NodepoolError
from nodepool.core.model import NodeState, Snapshot, same_scale_set
from nodepool.core.ports import ScaleSet
from nodepool.core.records import NodeRecord
from nodepool.drain.state import NODE_EVENTS_QUEUE, POISON_QUEUE, node_of
from nodepool.reconcile.model import ReconcileState
from nodepool.reconcile.plan import Observation, PoisonMessage, Policy
from nodepool.reconcile.ports import MAX_PEEK, ReconcilePorts


def observe(ports: ReconcilePorts, state: ReconcileState, now: datetime, policy: Policy) -> dict[str, Observation]:
    """Each managed scale set's observation, by its name, the main one first."""
    nodes = listing(ports.kube.nodes) if ports.kube else Snapshot(
        (), complete=False, error="no Kubernetes client: the master has not registered, or its row is unreadable")
    rows = listing(lambda: Snapshot(tuple(ports.registry.all_nodes())))
    events = listing(lambda: Snapshot(tuple(ports.registry.events_before(now - policy.event_retention))))
    poison, drains = _queues(ports, rows)
    observed = {}
    for scaleset in ports.scalesets:
        main = scaleset is ports.scaleset
        instances = listing(scaleset.instances)
        capacity = _capacity(scaleset) if instances.complete and not instances.error else None
        claims = {n.provider_id: scaleset.claim(n.provider_id) for n in nodes.items if n.provider_id}
        observed[scaleset.name] = Observation(
            instances, nodes, _rows_of(rows, scaleset.name, main), events if main else Snapshot(()),
            poison if main else Snapshot(()), drains, state.pool(scaleset.name, main), claims, capacity=capacity)
    return observed


def _rows_of(rows: Snapshot[NodeRecord], scale_set: str, main: bool) -> Snapshot[NodeRecord]:
    mine = tuple(r for r in rows.items
                 if same_scale_set(r.scale_set, scale_set) or (main and not r.scale_set))
    return Snapshot(mine, rows.complete, rows.error)


def _capacity(scaleset: ScaleSet) -> int | None:
    """The scale set's own sku.capacity, read after the listing; None when ARM would not say
    (the planner then falls back to the last trusted count and the registry)."""
    try:
        return scaleset.info().capacity
    except NodepoolError:
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
        except NodepoolError:
            break
    return answers


def listing(read: Callable[[], Snapshot]) -> Snapshot:
    try:
        return read()
    except NodepoolError as err:  # the port could not say: the picture is incomplete; the tick goes on
        return Snapshot((), complete=False, error=f"{type(err).__name__}: {err.message}")


def _queues(ports: ReconcilePorts, rows: Snapshot) -> tuple[Snapshot[PoisonMessage], frozenset[str]]:
    """Poison messages, and the nodes whose drain message still waits in `node-events`.

    A peek sees at most 32 messages: when it comes back full, more may wait behind them, so
    every cordoned row counts as a pending drain too (their repairs wait a tick; nothing is lost).
    Both peeks share the poison listing's completeness: if either fails, the tick does nothing.
    """
    try:
        waiting = ports.queues.peek(NODE_EVENTS_QUEUE, MAX_PEEK)
        poisoned = ports.queues.peek(POISON_QUEUE, MAX_PEEK)
    except NodepoolError as err:
        return Snapshot((), complete=False, error=f"queues: {err.message}"), frozenset()
    drains = {node for m in waiting if (node := node_of(m.body))}
    if len(waiting) >= MAX_PEEK:
        drains |= {r.name for r in rows.items if r.state is NodeState.CORDONED}
    return Snapshot(tuple(PoisonMessage(m.message_id, m.inserted_at) for m in poisoned)), frozenset(drains)
