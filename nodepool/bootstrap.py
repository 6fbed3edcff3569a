"""The one place that wires settings -> adapters -> services. Cached per worker process.

Triggers call `services()`; tests build services over fakes with `Services(settings, ports=...)`.
Heavy clients (azure-mgmt-compute, the Kubernetes client) are built on first use, so a
cold start that only serves /healthz or a drain does not pay for ARM.
"""
from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import datetime
from functools import cached_property

from nodepool.adapters.queue_peek import QueuePeek
from nodepool.adapters.queues import Queues
from nodepool.adapters.registry import TableRegistry
from nodepool.adapters.tables import Tables
from nodepool.adapters.tickstate import TableTickStore
from nodepool.clock import utcnow
from nodepool.domain.join import JoinRequest, check_instance
from nodepool.domain.reconcile import Policy
from nodepool.domain.registry import ClusterInfo
from nodepool.errors import TransientError, Unavailable
from nodepool.ports import Kube
from nodepool.services.caches import InstanceDirectory
from nodepool.services.drain import Drainer, DrainPolicy, DrainRequest
from nodepool.services.events import record_events
from nodepool.services.join import JoinPolicy, JoinService
from nodepool.services.nodes import update_node
from nodepool.services.reconcile import Reconciler
from nodepool.services.reconcile_ports import ReconcilePorts
from nodepool.settings import Settings

NODE_EVENTS_QUEUE = "node-events"


class _NodeEventQueue:
    def __init__(self, queues: Queues):
        self._queues = queues

    def send(self, message: dict) -> None:
        self._queues.send(NODE_EVENTS_QUEUE, message)


class Services:
    def __init__(self, settings: Settings, **ports):
        self.settings = settings
        self.__dict__.update(ports)  # tests inject fakes for any of the cached properties below
        self._kube_lock = threading.Lock()
        self._kube_key: tuple | None = None
        self._kube: Kube | None = None

    @cached_property
    def tables(self) -> Tables:
        return Tables(self.settings)

    @cached_property
    def queues(self) -> Queues:
        return Queues(self.settings)

    @cached_property
    def registry(self):
        return TableRegistry(self.tables, self.settings.cluster)

    @cached_property
    def queue(self):
        return _NodeEventQueue(self.queues)

    @cached_property
    def identity(self):
        from nodepool.adapters.identity import JwtVerifier
        return JwtVerifier(self.settings)

    @cached_property
    def scaleset(self):
        from nodepool.adapters.scaleset import AzureScaleSet
        # ARM operations are started, not waited for: a reimage takes minutes and the next
        # reconcile tick observes how it went, so a tick with a few repairs stays inside its minute.
        return AzureScaleSet(self.settings, lro_wait_s=0)

    @cached_property
    def instances(self) -> InstanceDirectory:
        return InstanceDirectory(self.scaleset)

    @cached_property
    def joins(self) -> JoinService:
        s = self.settings
        policy = JoinPolicy(s.join_token_ttl_s, s.bootstrap_tokens, s.node_labels, s.node_taints)
        return JoinService(self.registry, self.instances, self.kube_for, self.queue, policy)

    def kube_for(self, cluster: ClusterInfo) -> Kube:
        """The Kubernetes client for the registered cluster; rebuilt when the master re-registers."""
        key = (cluster.server, cluster.credential, cluster.ca_cert)
        with self._kube_lock:
            if self._kube is None or key != self._kube_key:
                from nodepool.adapters.kube import KubeClient
                self._kube = KubeClient(cluster.server, cluster.credential, cluster.ca_cert)
                self._kube_key = key
            return self._kube

    def kube(self, now: datetime) -> Kube:
        cluster = self.joins.clusters.get(now)
        if cluster is None:
            raise Unavailable("the master has not registered yet", code="master_not_registered", retry_after=15)
        return self.kube_for(cluster)

    def kube_or_none(self, now: datetime) -> Kube | None:
        cluster = self.joins.clusters.get(now)
        return self.kube_for(cluster) if cluster else None

    def reconciler(self, now: datetime) -> Reconciler:
        """One reconcile tick's wiring. Without a registered cluster (or while its row cannot be
        read) there is no Kubernetes client: the tick sees an incomplete picture and does nothing."""
        try:
            kube = self.kube_or_none(now)
        except TransientError:
            kube = None
        ports = ReconcilePorts(scaleset=self.scaleset, kube=kube, registry=self.registry,
                               queues=QueuePeek(self.queues), store=TableTickStore(self.tables, self.settings.cluster))
        return Reconciler(ports, Policy.from_settings(self.settings), dry_run=self.settings.dry_run)

    def health_probes(self) -> dict:
        return {"tables": self.tables.ping, "queues": self.queues.ping}

    def record_events(self, report, now: datetime) -> dict:
        instance = check_instance(JoinRequest(report.hostname), self.instances.lookup(report.hostname, now))
        vm_name = f"{self.settings.scale_set}_{instance.instance_id}"
        return record_events(self.registry, self.kube(now), self.queue, report, vm_name, now)

    def drain(self, request: DrainRequest) -> dict:
        s = self.settings
        policy = DrainPolicy(s.drain_margin_s, s.force_delete_pods, s.pod_grace_s)
        return Drainer(self.registry, self.kube(utcnow()), policy, utcnow, time.sleep).drain(request)

    def mark_drain_failed(self, request: DrainRequest, now: datetime) -> None:
        message = f"drain for {request.event_id} failed; message in node-events-poison"
        update_node(self.registry, request.node, lambda row: row and replace(row, note=message, updated_at=now))


_lock = threading.Lock()
_services: Services | None = None


def services() -> Services:
    """Build once per process; raises InvalidSettings (not cached) while settings are wrong."""
    global _services
    if _services is None:
        with _lock:
            if _services is None:
                _services = Services(Settings.from_env())
    return _services


def reset() -> None:
    """Forget the wiring (tests that change the environment)."""
    global _services
    with _lock:
        _services = None
