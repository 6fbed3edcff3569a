"""The one place that wires settings -> adapters -> services. Cached per worker process.

Triggers call `services()` and then one service. Tests build `Services(settings, registry=...,
scaleset=..., verifier=..., audit=..., ...)`: each keyword replaces one adapter with a fake (None: the real one). Heavy
clients (azure-mgmt-compute, the Kubernetes client) are built on first use, so a cold start
that only serves /healthz or a drain does not pay for ARM. No use-case step lives here.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import datetime
from functools import cached_property

from nodepool.adapters.attest_tables import TableNodeCredentials, TableNonceStore
from nodepool.adapters.attestation import verifier_from_settings
from nodepool.adapters.audit_table import TableAuditLog
from nodepool.adapters.queue_peek import QueuePeek as StorageQueuePeek
from nodepool.adapters.queues import NodeEventQueue, Queues
from nodepool.adapters.registry import TableRegistry
from nodepool.adapters.tables import Tables
from nodepool.adapters.tickstate import TableTickStore
from nodepool.domain.autoscale_settings import policy_from_settings
from nodepool.domain.reconcile import Policy
from nodepool.domain.registry import ClusterInfo
from nodepool.errors import TransientError, Unavailable
from nodepool.ports import (
    AttestationVerifier,
    AuditLog,
    EventQueue,
    IdentityVerifier,
    Kube,
    NodeCredentials,
    NonceStore,
    QueuePeek,
    Registry,
    ScaleSet,
    TickStore,
)
from nodepool.ports_autoscale import AutoscaleStore, PoolScaleSet
from nodepool.ports_status import DecisionLog
from nodepool.services.attested_join import AttestationPolicy, AttestedJoin
from nodepool.services.audit import WRITERS as AUDIT_WRITERS
from nodepool.services.audit import AuditTrail
from nodepool.services.autoscale import Autoscaler
from nodepool.services.autoscale_observe import AutoscalePorts, PoolPort
from nodepool.services.autoscale_ports import EventTablePreemptNotices, QueuedScaleDownDrains
from nodepool.services.caches import InstanceDirectory
from nodepool.services.cluster import RegisteredCluster
from nodepool.services.drain import DrainPolicy, DrainService
from nodepool.services.drain_start import DrainStarter, NoStart
from nodepool.services.events import EventsService
from nodepool.services.join import JoinPolicy, JoinService
from nodepool.services.node_auth import NodeGuard
from nodepool.services.nodes import NodeDirectory
from nodepool.services.observed import ObservedDrains, ObservedEvents, ObservedJoins, ObservedTicks
from nodepool.services.reconcile import Reconciler
from nodepool.services.reconcile_ports import ReconcilePorts
from nodepool.services.status import RecordedTicks, StatusService
from nodepool.services.tokens import TokenCleaner
from nodepool.settings import Settings
from nodepool.telemetry import NullTelemetry, Telemetry, install_json_logs


class Services:
    def __init__(self, settings: Settings, *, registry: Registry | None = None, scaleset: ScaleSet | None = None,
                 identity: IdentityVerifier | None = None, queue: EventQueue | None = None,
                 peek: QueuePeek | None = None, tick_store: TickStore | None = None,
                 kube_for: Callable[[ClusterInfo], Kube] | None = None,
                 pool_scaleset: Callable[[str], PoolScaleSet] | None = None,
                 autoscale_store: AutoscaleStore | None = None, decisions: DecisionLog | None = None,
                 telemetry: Telemetry | NullTelemetry | None = None,
                 verifier: AttestationVerifier | None = None, nonces: NonceStore | None = None,
                 credentials: NodeCredentials | None = None, audit: AuditLog | None = None):
        self.settings = settings
        self._registry, self._scaleset, self._identity, self._queue = registry, scaleset, identity, queue
        self._peek, self._tick_store, self._kube_for = peek, tick_store, kube_for
        self._pool_scaleset, self._autoscale_store, self._decisions = pool_scaleset, autoscale_store, decisions
        self._telemetry = telemetry
        self._pool_sets: dict[str, PoolScaleSet] = {}
        self._autoscaler: Autoscaler | None = None
        self._verifier, self._nonces, self._credentials, self._audit = verifier, nonces, credentials, audit
        self._kube_lock = threading.Lock()
        self._kube_key: tuple | None = None
        self._kube: Kube | None = None

    # -- adapters -----------------------------------------------------------------------------------
    @cached_property
    def telemetry(self) -> Telemetry | NullTelemetry:
        """OpenTelemetry to Application Insights when the platform's connection string is set, else nothing."""
        if self._telemetry is not None:
            return self._telemetry
        return Telemetry.from_connection_string(os.environ.get("APPLICATIONINSIGHTS_CONNECTION_STRING"),
                                                os.environ.get("AZURE_CLIENT_ID"))

    @cached_property
    def tables(self) -> Tables:
        return Tables(self.settings)

    @cached_property
    def queues(self) -> Queues:
        return Queues(self.settings)

    @cached_property
    def registry(self) -> Registry:
        return self._registry or TableRegistry(self.tables, self.settings.cluster)

    @cached_property
    def queue(self) -> EventQueue:
        return self._queue or NodeEventQueue(self.queues)

    @cached_property
    def identity(self) -> IdentityVerifier:
        if self._identity:
            return self._identity
        from nodepool.adapters.identity import JwtVerifier
        return JwtVerifier(self.settings)

    @cached_property
    def scaleset(self) -> ScaleSet:
        if self._scaleset:
            return self._scaleset
        from nodepool.adapters.scaleset import AzureScaleSet
        # ARM operations are started, not waited for: a reimage takes minutes and the next
        # reconcile tick observes how it went, so a tick with a few repairs stays inside its minute.
        return AzureScaleSet(self.settings, lro_wait_s=0)

    def kube_for(self, cluster: ClusterInfo) -> Kube:
        """The Kubernetes client for the registered cluster; rebuilt when the master re-registers."""
        if self._kube_for:
            return self._kube_for(cluster)
        key = (cluster.server, cluster.credential, cluster.ca_cert)
        with self._kube_lock:
            if self._kube is None or key != self._kube_key:
                from nodepool.adapters.kube import KubeClient
                self._kube = KubeClient(cluster.server, cluster.credential, cluster.ca_cert)
                self._kube_key = key
            return self._kube

    # -- services -----------------------------------------------------------------------------------
    @cached_property
    def instances(self) -> InstanceDirectory:
        """Over every agent scale set the app manages: VMs of a fallback pool join like the main set's."""
        main, seen, extra = self.scaleset, {self.settings.scale_set.casefold()}, []
        for pool in self.settings.autoscale_pools:
            if pool.scale_set.casefold() not in seen:
                seen.add(pool.scale_set.casefold())
                extra.append(self.pool_scaleset(pool.scale_set))
        return InstanceDirectory([main, *extra])

    @cached_property
    def cluster(self) -> RegisteredCluster:
        return RegisteredCluster(self.registry, self.kube_for)

    @cached_property
    def attestation(self) -> AttestedJoin:
        s = self.settings
        verifier = self._verifier or verifier_from_settings(s)
        policy = AttestationPolicy(s.nonce_ttl_s, s.subscription_id)
        return AttestedJoin(verifier, self.nonce_store, self.credentials, policy)

    @cached_property
    def nonce_store(self) -> NonceStore:
        return self._nonces or TableNonceStore(self.tables, self.settings.cluster)

    @cached_property
    def credentials(self) -> NodeCredentials:
        return self._credentials or TableNodeCredentials(self.tables, self.settings.cluster)

    @cached_property
    def guard(self) -> NodeGuard:
        return NodeGuard(self.credentials)

    @cached_property
    def audit(self) -> AuditTrail:
        return AuditTrail(self._audit or TableAuditLog(self.tables, self.settings.cluster), writers=AUDIT_WRITERS)

    @cached_property
    def joins(self) -> JoinService:
        s = self.settings
        policy = JoinPolicy(s.join_token_ttl_s, s.bootstrap_tokens, s.node_labels, s.node_taints,
                            master_vm_id=s.master_vm_id)
        return ObservedJoins(JoinService(self.registry, self.instances, self.cluster, self.queue, policy,
                                         self.attestation, self.guard, self.audit), self.telemetry)

    @cached_property
    def events(self) -> EventsService:
        return ObservedEvents(EventsService(self.registry, self.cluster, self.queue, self.instances, self.scaleset,
                                            self.guard, self.audit, self.drain_starter), self.telemetry)

    @cached_property
    def drain_starter(self) -> DrainStarter | NoStart:
        """POST /api/events starts drains here at once; the queue message is their durable record."""
        if not self.settings.drain_workers:
            return NoStart()
        return DrainStarter(lambda request: self.drains.drain(request, wait=False), self.settings.drain_workers)

    @cached_property
    def drains(self) -> DrainService:
        s = self.settings
        policy = DrainPolicy(s.drain_margin_s, s.force_delete_pods, s.pod_grace_s)
        return ObservedDrains(DrainService(self.registry, self.cluster, policy, trail=self.audit), self.telemetry)

    @cached_property
    def nodes(self) -> NodeDirectory:
        return NodeDirectory(self.registry, self.guard)

    @cached_property
    def tokens(self) -> TokenCleaner:
        return TokenCleaner(self.registry, self.cluster, self.nonce_store)

    def kube_or_none(self, now: datetime) -> Kube | None:
        return self.cluster.kube_or_none(now)

    def reconciler(self, now: datetime) -> Reconciler:
        """One reconcile tick's wiring. Without a registered cluster (or while its row cannot be
        read) there is no Kubernetes client: the tick sees an incomplete picture and does nothing."""
        try:
            kube = self.kube_or_none(now)
        except TransientError:
            kube = None
        store = self._tick_store or TableTickStore(self.tables, self.settings.cluster)
        ports = ReconcilePorts(scaleset=self.scaleset, kube=kube, registry=self.registry,
                               queues=self._peek or StorageQueuePeek(self.queues), store=store, trail=self.audit)
        reconciler = Reconciler(ports, Policy.from_settings(self.settings), dry_run=self.settings.dry_run)
        return RecordedTicks(ObservedTicks(reconciler, self.telemetry, "reconcile"), self.decisions, "reconcile")

    def pool_scaleset(self, scale_set: str) -> PoolScaleSet:
        """One autoscale pool's scale set (built once). Capacity writes poll their operation for up to
        3 s (every second, or as ARM's Retry-After says): an allocation failure ARM reports that fast
        is seen in the same tick; a later one shows as Failed instances, which the next tick backs off."""
        if scale_set not in self._pool_sets:
            if self._pool_scaleset:
                self._pool_sets[scale_set] = self._pool_scaleset(scale_set)
            else:
                from nodepool.adapters.scaleset import AzureScaleSet
                self._pool_sets[scale_set] = AzureScaleSet(self.settings, name=scale_set, lro_wait_s=3,
                                                           polling_interval=1)
        return self._pool_sets[scale_set]

    def autoscaler(self, now: datetime) -> Autoscaler:
        """One autoscale tick's wiring over the pools of NODEPOOL_AUTOSCALE_POOLS. Like reconcile, no
        registered cluster means incomplete listings and a tick that does nothing. One Autoscaler per
        worker, its ports renewed each tick: a dry run keeps its would-be state in it."""
        from nodepool.adapters.autoscale_kube import KubeClusterView
        from nodepool.adapters.autoscale_store import TableAutoscaleStore
        s = self.settings
        try:
            kube = self.kube_or_none(now)
        except TransientError:
            kube = None
        policy = policy_from_settings(s)
        ports = AutoscalePorts(
            tuple(PoolPort(p.pool, self.pool_scaleset(p.scale_set)) for p in s.autoscale_pools),
            KubeClusterView(kube), EventTablePreemptNotices(self.registry, now),
            QueuedScaleDownDrains(self.registry, kube, self.queue, now, policy.drain_timeout),
            self._autoscale_store or TableAutoscaleStore(self.tables, s.cluster), self.audit)
        if self._autoscaler is None:
            self._autoscaler = Autoscaler(ports, policy, dry_run=s.dry_run)
            self._autoscale_ticks = RecordedTicks(ObservedTicks(self._autoscaler, self.telemetry, "autoscale"),
                                                  self.decisions, "autoscale")
        self._autoscaler.ports = ports
        return self._autoscale_ticks

    @cached_property
    def decisions(self) -> DecisionLog:
        if self._decisions:
            return self._decisions
        from nodepool.adapters.decisions import TableDecisionLog
        return TableDecisionLog(self.tables, self.settings.cluster)

    def node_pools(self) -> dict[str, str]:
        """Node name -> pool, from each pool's scale-set listing (the one scale set when no pools are set)."""
        pools = [(p.pool.name, self.pool_scaleset(p.scale_set)) for p in self.settings.autoscale_pools]
        out: dict[str, str] = {}
        for pool, scaleset in pools or [(self.settings.scale_set, self.scaleset)]:
            listing = scaleset.instances()
            if not listing.complete:
                raise Unavailable(f"pool {pool}: {listing.error or 'listing incomplete'}", code="pool_listing_failed")
            out.update({i.name: pool for i in listing.items})
        return out

    @cached_property
    def status(self) -> StatusService:
        return StatusService(self.registry, self.kube_or_none, self.node_pools, self.decisions)

    def health_probes(self) -> dict:
        return {"tables": self.tables.ping, "queues": self.queues.ping}


_lock = threading.Lock()
_services: Services | None = None


def services() -> Services:
    """Build once per process; raises InvalidSettings (not cached) while settings are wrong."""
    global _services
    if _services is None:
        with _lock:
            if _services is None:
                install_json_logs()  # one JSON object a line for Application Insights' traces
                _services = Services(Settings.from_env().complete())
    return _services


def reset() -> None:
    """Forget the wiring (tests that change the environment)."""
    global _services
    with _lock:
        _services = None
