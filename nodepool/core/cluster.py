"""The registered cluster and its Kubernetes client, as every use case needs them.

`kube(now)` is for requests that cannot go on without the master (join, leave, events, drain):
it raises `master_not_registered` with a Retry-After. `kube_or_none(now)` is for timers, which
simply see an incomplete picture until the master registers.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from nodepool.core.errors import Unavailable
from nodepool.core.ports import Kube, Registry
from nodepool.core.records import ClusterInfo
from nodepool.identity.instances import ClusterCache

MASTER_RETRY_AFTER_S = 15


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
