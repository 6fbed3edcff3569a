"""The registered cluster and its Kubernetes client, as every use case needs them.

`kube(now)` is for requests that cannot go on without the master (join, leave, events, drain):
it raises `master_not_registered` with a Retry-After. `kube_or_none(now)` is for timers, which
simply see an incomplete picture until the master registers.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Callable

from nodepool.core.errors import Unavailable
from nodepool.core.ports import Kube, Registry
from nodepool.core.records import ClusterInfo

MASTER_RETRY_AFTER_S = 15


class ClusterCache:
    """The registered cluster row, re-read after `ttl_s` (re-registration rotates within it).

    Requests that find it stale together share one re-read, and a re-read never overwrites a
    registration `put` meanwhile."""

    def __init__(self, registry: Registry, ttl_s: float = 10):
        self._registry = registry
        self._ttl = timedelta(seconds=ttl_s)
        self._value: ClusterInfo | None = None
        self._read: datetime | None = None
        self._lock = threading.Lock()

    def get(self, now: datetime) -> ClusterInfo | None:
        if self._stale(now):
            with self._lock:
                if self._stale(now):
                    self._value, self._read = self._registry.cluster(), now
        return self._value

    def put(self, info: ClusterInfo, now: datetime) -> None:
        with self._lock:
            self._value, self._read = info, now

    def _stale(self, now: datetime) -> bool:
        return self._value is None or self._read is None or now - self._read >= self._ttl


class RegisteredCluster:
    def __init__(self, registry: Registry, kube_for: Callable[[ClusterInfo], Kube], ttl_s: float = 10):
        self.cache = ClusterCache(registry, ttl_s)
        self._kube_for = kube_for

    def info(self, now: datetime) -> ClusterInfo:
        cluster = self.cache.get(now)
        if cluster is None:
            raise Unavailable("the master has not registered yet", code="master_not_registered",
                              retry_after=MASTER_RETRY_AFTER_S)
        return cluster

    def kube(self, now: datetime) -> Kube:
        return self._kube_for(self.info(now))

    def kube_or_none(self, now: datetime) -> Kube | None:
        cluster = self.cache.get(now)
        return self._kube_for(cluster) if cluster else None
