"""Each fake is its port: mypy checks these assignments (`tasks.py lint`), so a fake that drifts from
the Protocol it stands for fails the type check, not a test far away. Never imported at run time."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nodepool.autoscale.ports import AutoscaleStore, ClusterView, PoolScaleSet, PreemptNotices, ScaleDownDrains
    from nodepool.core.clock import Clock
    from nodepool.core.ports import AuditLog, EventQueue, Kube, Registry, ScaleSet
    from nodepool.fakes.attest import FakeAttestationVerifier, FakeNodeCredentials, FakeNonceStore
    from nodepool.fakes.audit import FakeAuditLog
    from nodepool.fakes.autoscale_cluster import FakeClusterView, FakeDrains, FakePreemptNotices
    from nodepool.fakes.autoscale_scaleset import FakePoolScaleSet
    from nodepool.fakes.autoscale_store import FakeAutoscaleStore
    from nodepool.fakes.clock import ManualClock
    from nodepool.fakes.decisions import FakeDecisionLog
    from nodepool.fakes.event_queue import FakeEventQueue
    from nodepool.fakes.identity import FakeIdentity
    from nodepool.fakes.kube import FakeKube
    from nodepool.fakes.queues import FakeQueues
    from nodepool.fakes.registry import FakeRegistry
    from nodepool.fakes.scaleset import FakeScaleSet
    from nodepool.fakes.tickstate import FakeTickStore
    from nodepool.identity.ports import AttestationVerifier, IdentityVerifier, NodeCredentials, NonceStore
    from nodepool.reconcile.ports import QueuePeek, TickStore
    from nodepool.status.decisions import DecisionLog

    def fakes_fit_their_ports(
        registry: FakeRegistry, kube: FakeKube, scaleset: FakeScaleSet, queue: FakeEventQueue, audit: FakeAuditLog,
        identity: FakeIdentity, verifier: FakeAttestationVerifier, nonces: FakeNonceStore,
        credentials: FakeNodeCredentials, peek: FakeQueues, ticks: FakeTickStore, decisions: FakeDecisionLog,
        pool: FakePoolScaleSet, view: FakeClusterView, notices: FakePreemptNotices, drains: FakeDrains,
        store: FakeAutoscaleStore, clock: ManualClock,
    ) -> None:
        ports: tuple[Registry, Kube, ScaleSet, EventQueue, AuditLog, IdentityVerifier, AttestationVerifier, NonceStore,
                     NodeCredentials, QueuePeek, TickStore, DecisionLog, PoolScaleSet, ScaleSet, ClusterView,
                     PreemptNotices, ScaleDownDrains, AutoscaleStore, Clock] = (
            registry, kube, scaleset, queue, audit, identity, verifier, nonces, credentials, peek, ticks, decisions,
            pool, pool, view, notices, drains, store, clock)
        del ports
