"""What the reconcile planner reads: the observation, the state carried between ticks, the policy.

All plain frozen values. `TickState` round-trips through `to_dict`/`from_dict` (JSON-safe)
so the service can keep it in Table Storage: Function instances come and go. A stored state
that cannot be read is not an empty one: it loads as `TickState(lost=True)`, whose baselines
are unknown, so the planner leans on durable knowledge (the scale set's capacity, the
registry's rows) or waits for consecutive observations to agree.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from nodepool.core.labels import INSTANCE_ID_LABEL, parse_labels, parse_taints
from nodepool.core.model import Instance, Node, ProviderClaim, Snapshot, Taint
from nodepool.core.records import NodeRecord
from nodepool.core.skew import MAX_SKEW
from nodepool.drain.state import ReceivedEvent
from nodepool.reconcile.versions import Marks


@dataclass(frozen=True)
class PoisonMessage:
    """A message of `node-events-poison` (peeked, not dequeued)."""
    message_id: str
    inserted_at: datetime | None = None


@dataclass(frozen=True)
class NodeRepair:
    """A NotReady agent: since when, and the last repair step taken (1 restart, 2 reimage, 3 delete)."""
    instance_id: str
    not_ready_since: datetime
    step: int = 0
    step_at: datetime | None = None


@dataclass(frozen=True)
class UnjoinedVm:
    """A VM without a Node: since when, and the last step taken (1 reimage, 2 delete)."""
    name: str
    since: datetime
    step: int = 0
    step_at: datetime | None = None


@dataclass(frozen=True)
class Baseline:
    """What one listing (ARM instances, Kubernetes Nodes) is expected to hold.

    `count` is the size of the last trusted listing; it does not follow a distrusted one.
    A distrusted count is remembered as `suspect`, first seen at `since`: it is believed only
    when every observation since agreed on it for `policy.sanity_confirm` (a staircase of
    ever shorter lists restarts the clock at every step)."""
    count: int | None = None
    suspect: int | None = None
    since: datetime | None = None

    def to_list(self) -> list:
        return [self.count, self.suspect, _iso(self.since)]

    @classmethod
    def from_list(cls, data: list | None) -> Baseline:
        count, suspect, since = data or (None, None, None)
        return cls(count, suspect, _dt(since))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _when(value: str) -> datetime:
    """A time the state must have: a row without it is not a TickState (ValueError: it loads as lost)."""
    return datetime.fromisoformat(value)


@dataclass(frozen=True)
class TickState:
    """Carried from one tick to the next; empty maps on a healthy pool."""
    repairs: dict[str, NodeRepair] = field(default_factory=dict)  # by node name; treat as read-only
    unjoined: dict[str, UnjoinedVm] = field(default_factory=dict)  # by instance id
    instances: Baseline = Baseline()  # ARM's instance listing
    nodes: Baseline = Baseline()  # the Kubernetes Node listing
    missing: dict[str, datetime] = field(default_factory=dict)  # node name -> VM absent from trusted lists since
    reported_poison: frozenset[str] = frozenset()  # poison message ids already reported
    lost: bool = False  # the stored state was unreadable: nothing above is known (never saved as such)

    @property
    def instance_count(self) -> int | None:
        return self.instances.count

    def to_dict(self) -> dict[str, Any]:
        return {
            "repairs": {name: [r.instance_id, _iso(r.not_ready_since), r.step, _iso(r.step_at)]
                        for name, r in self.repairs.items()},
            "unjoined": {iid: [u.name, _iso(u.since), u.step, _iso(u.step_at)] for iid, u in self.unjoined.items()},
            "instances": self.instances.to_list(),
            "nodes": self.nodes.to_list(),
            "missing": {name: _iso(since) for name, since in self.missing.items()},
            "reported_poison": sorted(self.reported_poison),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TickState:
        return cls(
            repairs={name: NodeRepair(iid, _when(since), step, _dt(at))
                     for name, (iid, since, step, at) in data.get("repairs", {}).items()},
            unjoined={iid: UnjoinedVm(name, _when(since), step, _dt(at))
                      for iid, (name, since, step, at) in data.get("unjoined", {}).items()},
            instances=Baseline.from_list(data.get("instances") or [data.get("instance_count"), None, None]),
            nodes=Baseline.from_list(data.get("nodes")),
            missing={name: _when(since) for name, since in data.get("missing", {}).items()},
            reported_poison=frozenset(data.get("reported_poison", ())),
        )


LEGACY = ""  # the key of a state written before every pool was reconciled: the main scale set's


def pool_key(scale_set: str) -> str:
    return scale_set.casefold()  # Azure compares resource names case-insensitively


@dataclass(frozen=True)
class ReconcileState:
    """What the tick store keeps: each managed scale set's TickState, and the Node list's marks
    (reconcile/versions.py), which are the cluster's."""
    pools: dict[str, TickState] = field(default_factory=dict)  # pool_key(scale set) -> its state
    marks: Marks = Marks()
    lost: bool = False  # unreadable: every pool's baselines are unknown (never saved as such)

    def pool(self, scale_set: str, main: bool = False) -> TickState:
        """That scale set's state; the main one's may still sit under LEGACY (one TickState)."""
        found = self.pools.get(pool_key(scale_set)) or (self.pools.get(LEGACY) if main else None)
        return found or TickState(lost=self.lost)

    def to_dict(self) -> dict[str, Any]:
        return {"pools": {k: s.to_dict() for k, s in sorted(self.pools.items())}, "marks": self.marks.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReconcileState:
        if "pools" not in data:
            return cls({LEGACY: TickState.from_dict(data)})
        return cls({k: TickState.from_dict(v) for k, v in data["pools"].items()}, Marks.from_dict(data.get("marks")))


@dataclass(frozen=True)
class Observation:
    """Everything one tick saw, plus the state the previous tick left."""
    instances: Snapshot[Instance]
    nodes: Snapshot[Node]
    registry: Snapshot[NodeRecord] = Snapshot(())
    events: Snapshot[ReceivedEvent] = Snapshot(())  # those past their retention, by the registry's time index
    poison: Snapshot[PoisonMessage] = Snapshot(())
    pending_drains: frozenset[str] = frozenset()  # node names with a drain in flight
    state: TickState = field(default_factory=TickState)
    claims: Mapping[str, ProviderClaim] = field(default_factory=dict)  # providerID -> ScaleSet.claim of it
    capacity: int | None = None  # the scale set's own sku.capacity from ARM; None: could not be read
    probed: dict[str, bool] = field(default_factory=dict)  # instance id -> a per-instance GET found it (False: 404)
    nodes_probed: dict[str, bool] = field(default_factory=dict)  # Node name -> a GET of it found it (False: 404)
    hold: str | None = None  # why destructive actions wait, from outside this pool (another pool's bad listing)

    def claim(self, node: Node) -> ProviderClaim:
        return self.claims.get(node.provider_id) or ProviderClaim(None)

    def failures(self) -> list[str]:
        """Why this observation cannot be trusted; empty when every listing is complete."""
        lists: dict[str, Snapshot] = {"instances": self.instances, "nodes": self.nodes, "registry": self.registry,
                 "events": self.events, "poison": self.poison}
        return [f"{name}: {snap.error or 'incomplete'}" for name, snap in lists.items()
                if not snap.complete or snap.error]


@dataclass(frozen=True)
class Policy:
    """The planner's knobs; `from_settings` for production, keyword overrides for the rest."""
    scale_set: str = "agents"
    repair_after: timedelta = timedelta(minutes=10)
    provisioning_timeout: timedelta = timedelta(minutes=15)
    survivor_hold: timedelta = timedelta(minutes=3)  # a VM running this long past the event its Node went for
    max_destructive_per_tick: int = 3
    outage_min_not_ready: int = 3  # an outage: more than this many agents NotReady ...
    outage_ratio: float = 0.45  # ... and more than this share of them (cluster-autoscaler's rule)
    sanity_drop_min: int = 2  # distrust a listing with more than this many items fewer than the capacity, or ...
    sanity_drop_ratio: float = 0.1  # ... also more than this share fewer than the last trusted / registry count ...
    sanity_confirm: timedelta | None = timedelta(minutes=10)  # ... until all lists agreed this long (None: never)
    ghost_hold: timedelta = timedelta(minutes=15)  # absent from every trusted list this long: gone (without a 404)
    max_probes_per_tick: int = 20  # per-instance GETs asking ARM about VMs a listing lacked
    max_clock_skew: timedelta = MAX_SKEW  # Kubernetes' or ARM's timestamps further ahead of ours: act on nothing
    rebase_after: timedelta = timedelta(minutes=30)  # Node lists behind the marks this long, moving: new baseline
    stale_row_retention: timedelta = timedelta(days=1)
    event_retention: timedelta = timedelta(days=7)
    labels: tuple[tuple[str, str], ...] = ()  # extra agent labels
    taints: tuple[Taint, ...] = ()  # agent taints
    remove_taint_keys: tuple[str, ...] = ()  # taint keys to take off agents (e.g. dropped from settings)
    instance_id_label: str = INSTANCE_ID_LABEL

    def __post_init__(self) -> None:
        if self.max_destructive_per_tick < 0 or not 0 <= self.outage_ratio <= 1 or not 0 <= self.sanity_drop_ratio <= 1:
            raise ValueError("reconcile policy out of range")

    @classmethod
    def from_settings(cls, settings, **overrides: Any) -> Policy:
        """Raises ValueError on malformed NODEPOOL_NODE_LABELS / NODEPOOL_NODE_TAINTS."""
        policy = cls(
            scale_set=settings.scale_set,
            repair_after=timedelta(seconds=settings.repair_after_s),
            provisioning_timeout=timedelta(seconds=settings.provisioning_timeout_s),
            max_destructive_per_tick=settings.max_destructive_per_tick,
            labels=parse_labels(settings.node_labels),
            taints=parse_taints(settings.node_taints),
        )
        return replace(policy, **overrides)
