"""The composition root: the one place that chooses adapters and wires settings -> adapters -> services.

It holds no use case: each trigger calls `services()` and then one service method. One clock (the
system's in the app) reaches every service. Tests build `Services(settings, clock=..., registry=...,
scaleset=..., ...)`: each keyword replaces one adapter with a fake (None: the real one). Heavy clients
(azure-mgmt-compute, the Kubernetes client) are built on first use, so a cold start that only serves
/healthz or a drain does not pay for ARM. Every part is built once per process, under a lock: two
requests on a cold worker never build two caches.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from nodepool.adapters.attest_tables import TableNodeCredentials, TableNonceStore
from nodepool.adapters.attestation import verifier_from_settings
from nodepool.adapters.audit_table import TableAuditLog
from nodepool.adapters.queue_peek import QueuePeek as StorageQueuePeek
from nodepool.adapters.queues import NodeEventQueue, Queues
from nodepool.adapters.registry import TableRegistry
from nodepool.adapters.tables import Tables
from nodepool.adapters.tickstate import TableTickStore
from nodepool.autoscale.drain_path import EventTablePreemptNotices, QueuedScaleDownDrains
from nodepool.autoscale.policy import policy_from_settings
from nodepool.autoscale.ports import AutoscalePorts, AutoscaleStore, PoolPort
from nodepool.autoscale.tick import Autoscaler, DryRunMemory
from nodepool.core.clock import SYSTEM, Clock
from nodepool.core.cluster import RegisteredCluster
from nodepool.core.errors import TransientError
from nodepool.core.instruments import Instruments
from nodepool.core.limits import FUNCTION_TIMEOUT_S, Pools
from nodepool.core.logs import logger
from nodepool.core.ports import AuditLog, EventQueue, Kube, Registry, ScaleSet
from nodepool.core.records import ClusterInfo
from nodepool.core.trail import AuditTrail
from nodepool.drain.events import EventsService
from nodepool.drain.evict import DrainPolicy
from nodepool.drain.service import DrainService
from nodepool.identity.attested import AttestationPolicy, AttestedJoin
from nodepool.identity.guard import NodeGuard
from nodepool.identity.instances import InstanceDirectory
from nodepool.identity.ports import AttestationVerifier, IdentityVerifier, NodeCredentials, NonceStore
from nodepool.join.service import JoinPolicy, JoinService
from nodepool.join.tokens import TokenCleaner
from nodepool.reconcile.plan import Policy
from nodepool.reconcile.ports import QueuePeek, ReconcilePorts, TickStore
from nodepool.reconcile.tick import Reconciler
from nodepool.settings import InvalidSettings, Settings
from nodepool.status.decisions import DecisionLog
from nodepool.status.nodes import NodeDirectory
from nodepool.status.service import StatusService
from nodepool.telemetry import Telemetry, install_json_logs

if TYPE_CHECKING:
    from nodepool.adapters.kube import KubeClient

T = TypeVar("T")
RETIRE_S = FUNCTION_TIMEOUT_S  # the longest a call on a replaced Kubernetes client can still run (a drain under it)


class once(Generic[T]):
    """A property built on first use, once per Services, under its lock (functools.cached_property
    stopped locking in Python 3.12); builds may use other parts, so the lock is re-entrant."""

    def __init__(self, build: Callable[[Any], T]):
        self.build, self.name = build, build.__name__
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, obj: None, owner: type) -> once[T]: ...
    @overload
    def __get__(self, obj: object, owner: type) -> T: ...

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        try:
            return obj.__dict__[self.name]
        except KeyError:
            pass
        with obj._build_lock:
            if self.name not in obj.__dict__:
                obj.__dict__[self.name] = self.build(obj)
            return obj.__dict__[self.name]


class Services:
    def __init__(self, settings: Settings, *, clock: Clock = SYSTEM, registry: Registry | None = None,
                 scaleset: ScaleSet | None = None, identity: IdentityVerifier | None = None,
                 queue: EventQueue | None = None, peek: QueuePeek | None = None, tick_store: TickStore | None = None,
                 kube_for: Callable[[ClusterInfo], Kube] | None = None,
                 pool_scaleset: Callable[[str], ScaleSet] | None = None,
                 autoscale_store: AutoscaleStore | None = None, decisions: DecisionLog | None = None,
                 telemetry: Instruments | None = None,
                 verifier: AttestationVerifier | None = None, nonces: NonceStore | None = None,
                 credentials: NodeCredentials | None = None, audit: AuditLog | None = None):
        self.settings, self.clock = settings, clock
        self.pools = Pools(settings.drain_workers)  # every thread and connection pool, from one setting
        self._registry, self._scaleset, self._identity, self._queue = registry, scaleset, identity, queue
        self._peek, self._tick_store, self._kube_for = peek, tick_store, kube_for
        self._pool_scaleset, self._autoscale_store, self._decisions = pool_scaleset, autoscale_store, decisions
        self._telemetry = telemetry
        self._verifier, self._nonces, self._credentials, self._audit = verifier, nonces, credentials, audit
        self._build_lock = threading.RLock()
        self._pool_sets: dict[str, ScaleSet] = {}
        self._kube_key: tuple | None = None
        self._kube: KubeClient | None = None
        self._retired: list[tuple[KubeClient, float]] = []  # clients replaced by a re-registration

    # -- adapters -----------------------------------------------------------------------------------
    @once
    def telemetry(self) -> Instruments:
        """OpenTelemetry to Application Insights when the platform's connection string is set, else nothing."""
        if self._telemetry is not None:
            return self._telemetry
        return Telemetry.from_connection_string(os.environ.get("APPLICATIONINSIGHTS_CONNECTION_STRING"),
                                                os.environ.get("AZURE_CLIENT_ID"))

    @once
    def tables(self) -> Tables:
        return Tables(self.settings)

    @once
    def queues(self) -> Queues:
        return Queues(self.settings)

    @once
    def registry(self) -> Registry:
        return self._registry or TableRegistry(self.tables, self.settings.cluster)

    @once
    def queue(self) -> EventQueue:
        return self._queue or NodeEventQueue(self.queues)

    @once
    def identity(self) -> IdentityVerifier:
        if self._identity:
            return self._identity
        from nodepool.adapters.identity import JwtVerifier
        return JwtVerifier(self.settings)

    @once
    def scaleset(self) -> ScaleSet:
        if self._scaleset:
            return self._scaleset
        from nodepool.adapters.scaleset import AzureScaleSet
        # ARM operations are started, not waited for: a reimage takes minutes and the next
        # reconcile tick observes how it went, so a tick with a few repairs stays inside its minute.
        return AzureScaleSet(self.settings, lro_wait_s=0)

    def kube_for(self, cluster: ClusterInfo) -> Kube:
        """The Kubernetes client for the registered cluster; rebuilt when the master re-registers. A client
        replaced may still be in use by a drain: it is closed once RETIRE_S have passed, never at once."""
        if self._kube_for:
            return self._kube_for(cluster)
        key = (cluster.server, cluster.credential, cluster.ca_cert)
        with self._build_lock:
            if self._kube is None or key != self._kube_key:
                from nodepool.adapters.kube import KubeClient
                if self._kube is not None:
                    self._retired.append((self._kube, self.clock.monotonic()))
                self._kube = KubeClient(cluster.server, cluster.credential, cluster.ca_cert,
                                        pool_size=self.pools.kube_connections)
                self._kube_key = key
            while self._retired and self.clock.monotonic() - self._retired[0][1] >= RETIRE_S:
                self._retired.pop(0)[0].close()
            return self._kube

    def pool_scaleset(self, scale_set: str) -> ScaleSet:
        """One autoscale pool's scale set (built once). Capacity writes poll their operation for up to
        3 s (every second, or as ARM's Retry-After says): an allocation failure ARM reports that fast
        is seen in the same tick; a later one shows as Failed instances, which the next tick backs off."""
        with self._build_lock:
            if scale_set not in self._pool_sets:
                if self._pool_scaleset:
                    self._pool_sets[scale_set] = self._pool_scaleset(scale_set)
                else:
                    from nodepool.adapters.scaleset import AzureScaleSet
                    self._pool_sets[scale_set] = AzureScaleSet(self.settings, name=scale_set, lro_wait_s=3,
                                                               polling_interval=1)
            return self._pool_sets[scale_set]

    @once
    def nonce_store(self) -> NonceStore:
        return self._nonces or TableNonceStore(self.tables, self.settings.cluster)

    @once
    def credentials(self) -> NodeCredentials:
        return self._credentials or TableNodeCredentials(self.tables, self.settings.cluster)

    @once
    def decisions(self) -> DecisionLog:
        if self._decisions:
            return self._decisions
        from nodepool.adapters.decisions import TableDecisionLog
        return TableDecisionLog(self.tables, self.settings.cluster)

    @once
    def tick_store(self) -> TickStore:
        return self._tick_store or TableTickStore(self.tables, self.settings.cluster)

    @once
    def autoscale_store(self) -> AutoscaleStore:
        if self._autoscale_store:
            return self._autoscale_store
        from nodepool.adapters.autoscale_store import TableAutoscaleStore
        return TableAutoscaleStore(self.tables, self.settings.cluster)

    def health_probes(self) -> dict:
        return {"tables": self.tables.ping, "queues": self.queues.ping}

    # -- services -----------------------------------------------------------------------------------
    def other_scalesets(self) -> list[ScaleSet]:
        """Every agent scale set the app manages besides NODEPOOL_SCALE_SET: the autoscale pools' (once each)."""
        seen, extra = {self.settings.scale_set.casefold()}, []
        for pool in self.settings.autoscale_pools:
            if pool.scale_set.casefold() not in seen:
                seen.add(pool.scale_set.casefold())
                extra.append(self.pool_scaleset(pool.scale_set))
        return extra

    @once
    def instances(self) -> InstanceDirectory:
        """Over every agent scale set the app manages: VMs of a fallback pool join like the main set's."""
        return InstanceDirectory([self.scaleset, *self.other_scalesets()])

    @once
    def cluster(self) -> RegisteredCluster:
        return RegisteredCluster(self.registry, self.kube_for)

    @once
    def attestation(self) -> AttestedJoin:
        s = self.settings
        verifier = self._verifier or verifier_from_settings(s)
        policy = AttestationPolicy(s.nonce_ttl_s, s.subscription_id)
        return AttestedJoin(verifier, self.nonce_store, self.credentials, policy)

    @once
    def guard(self) -> NodeGuard:
        return NodeGuard(self.credentials)

    @once
    def audit(self) -> AuditTrail:
        return AuditTrail(self._audit or TableAuditLog(self.tables, self.settings.cluster),
                          writers=self.pools.audit_writers)

    @once
    def joins(self) -> JoinService:
        s = self.settings
        policy = JoinPolicy(s.join_token_ttl_s, s.bootstrap_tokens, s.node_labels, s.node_taints,
                            master_vm_id=s.master_vm_id)
        return JoinService(self.registry, self.instances, self.cluster, policy, self.attestation, self.guard,
                           self.audit, self.telemetry)

    @once
    def drains(self) -> DrainService:
        """Also what POST /api/events starts drains with, at once, in this process (NODEPOOL_DRAIN_WORKERS);
        the queue message is their durable record."""
        s = self.settings
        policy = DrainPolicy(s.drain_margin_s, s.force_delete_pods, s.pod_grace_s)
        return DrainService(self.registry, self.cluster, policy, self.clock, trail=self.audit,
                            telemetry=self.telemetry, pools=self.pools, instances=self.instances,
                            queue=self.queue)

    @once
    def events(self) -> EventsService:
        return EventsService(self.registry, self.cluster, self.queue, self.instances, self.guard, self.audit,
                             starter=self.drains, clock=self.clock, telemetry=self.telemetry)

    @once
    def nodes(self) -> NodeDirectory:
        return NodeDirectory(self.registry, self.guard)

    @once
    def tokens(self) -> TokenCleaner:
        return TokenCleaner(self.registry, self.cluster, self.nonce_store)

    @once
    def status(self) -> StatusService:
        pools = [(p.pool.name, self.pool_scaleset(p.scale_set)) for p in self.settings.autoscale_pools]
        return StatusService(self.registry, self.kube_or_none, pools or [(self.settings.scale_set, self.scaleset)],
                             self.decisions, lambda now: self.attestation.verifier.describe(now))

    @once
    def dry_run_memory(self) -> DryRunMemory:
        return DryRunMemory()

    def kube_or_none(self, now: datetime) -> Kube | None:
        """The timers' Kubernetes client: None without a registered cluster (or while its row cannot be
        read), so the tick sees an incomplete picture and does nothing."""
        try:
            return self.cluster.kube_or_none(now)
        except TransientError:
            return None

    def reconciler(self, now: datetime) -> Reconciler:
        """One reconcile tick's wiring over every scale set the app manages (its Kubernetes client is
        the registered cluster's now)."""
        ports = ReconcilePorts(scaleset=self.scaleset, kube=self.kube_or_none(now), registry=self.registry,
                               queues=self._peek or StorageQueuePeek(self.queues), store=self.tick_store,
                               trail=self.audit, pools=tuple(self.other_scalesets()))
        return Reconciler(ports, Policy.from_settings(self.settings), dry_run=self.settings.dry_run, clock=self.clock,
                          decisions=self.decisions, telemetry=self.telemetry)

    def autoscaler(self, now: datetime) -> Autoscaler:
        """One autoscale tick's wiring over the pools of NODEPOOL_AUTOSCALE_POOLS. Like reconcile, no
        registered cluster means incomplete listings and a tick that does nothing."""
        from nodepool.adapters.autoscale_kube import KubeClusterView
        s, kube = self.settings, self.kube_or_none(now)
        policy = policy_from_settings(s)
        ports = AutoscalePorts(
            tuple(PoolPort(p.pool, self.pool_scaleset(p.scale_set)) for p in s.autoscale_pools),
            KubeClusterView(kube), EventTablePreemptNotices(self.registry, now),
            QueuedScaleDownDrains(self.registry, kube, self.queue, now, policy.drain_timeout),
            self.autoscale_store, self.audit)
        return Autoscaler(ports, policy, dry_run=s.dry_run, memory=self.dry_run_memory, decisions=self.decisions,
                          telemetry=self.telemetry)


log = logger(__name__)
_lock = threading.Lock()
_services: Services | None = None
_refused: str | None = None  # the settings problem already logged by this worker


def services() -> Services:
    """Build once per process; raises InvalidSettings (not cached) while settings are wrong, and logs
    that once per worker, however many requests meet it."""
    global _services, _refused
    if _services is None:
        with _lock:
            if _services is None:
                install_json_logs()  # one JSON object a line for Application Insights' traces
                try:
                    _services = Services(Settings.from_env().complete())
                except InvalidSettings as err:
                    if err.message != _refused:
                        log.error("the app cannot run on its settings; every request answers 503 until they are "
                                  "fixed: %s", err.message, extra={"error": err.code})
                        _refused = err.message
                    raise
    return _services


def install(services: Services | None) -> None:
    """Use these services (tests that drive the triggers over fakes); None forgets the wiring, so the
    next call builds it again from the environment."""
    global _services
    with _lock:
        _services = services


def reset() -> None:
    """Forget the wiring (tests that change the environment)."""
    install(None)
