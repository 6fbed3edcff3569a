"""Small time-bounded caches that keep ARM and Table Storage off the join hot path."""
from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from nodepool.core.model import Instance, same_scale_set
from nodepool.core.ports import Registry, ScaleSet
from nodepool.core.records import ClusterInfo
from nodepool.join.request import JoinRequest, check_instance


class InstanceDirectory:
    """computerName -> Instance from the lists of every agent scale set the app manages (the main
    one and each autoscale pool's), refreshed on a miss. Each Instance carries its `scale_set`.

    A miss refreshes at most once per `min_refresh_s`, so a flood of unknown hostnames
    costs one ARM list per interval, not one per request. Concurrent misses share one refresh.
    A name missing while some scale set's list failed is not "absent": the listing error is raised.
    """

    def __init__(self, scalesets: ScaleSet | Sequence[ScaleSet], ttl_s: float = 300, min_refresh_s: float = 10):
        self._scalesets = tuple(scalesets) if isinstance(scalesets, Sequence) else (scalesets,)
        self._failure: Exception | None = None
        self._ttl = timedelta(seconds=ttl_s)
        self._min_refresh = timedelta(seconds=min_refresh_s)
        self._by_name: dict[str, Instance] = {}
        self._refreshed: datetime | None = None
        self._lock = threading.Lock()
        self.refreshes = 0

    def lookup(self, name: str, now: datetime, vm_id: str = "") -> Instance | None:
        """`vm_id`: the caller's vmId; a cached entry of another VM (replaced since) counts as a miss."""
        fresh = self._refreshed is not None and now - self._refreshed < self._ttl
        cached = self._by_name.get(name)
        if fresh and cached and not (vm_id and cached.vm_id and cached.vm_id.lower() != vm_id.lower()):
            return cached
        with self._lock:  # judged again under the lock: a concurrent miss may have just refreshed
            fresh = self._refreshed is not None and now - self._refreshed < self._ttl
            if not fresh or now - self._refreshed >= self._min_refresh:
                self._refresh(now)
            found = self._by_name.get(name)
            if found is None and self._failure is not None:
                raise self._failure
            return found

    def vm_name(self, instance: Instance) -> str:
        """The name ARM gives `instance` in its own scale set (`<scale set>_<id>`)."""
        return self._scaleset_of(instance).vm_name(instance.instance_id)

    def _scaleset_of(self, instance: Instance) -> ScaleSet:
        return next((s for s in self._scalesets if same_scale_set(s.name, instance.scale_set)), self._scalesets[0])

    def around(self, hostname: str, vm_id: str, now: datetime) -> list[Instance]:
        """For an attested join: the instance named `hostname` and any instance with `vm_id`, after
        one fresh lookup when the name is unknown or listed with another vmId. A name still unknown
        is "not visible yet" (503 with Retry-After), never a refusal for good."""
        named = check_instance(JoinRequest(hostname), self.lookup(hostname, now, vm_id))
        return [named, *(i for i in self._by_name.values() if i.vm_id and i.vm_id.lower() == vm_id.lower())]

    def _refresh(self, now: datetime) -> None:
        by_name, failure = {}, None
        for scaleset in self._scalesets:
            kept = {n: i for n, i in self._by_name.items() if same_scale_set(i.scale_set, scaleset.name)}
            try:
                snapshot = scaleset.instances()
            except Exception as err:  # that set's picture is unknown: keep what we knew of it
                by_name, failure = {**kept, **by_name}, failure or err
                continue
            listed = {i.name: replace(i, scale_set=scaleset.name) for i in snapshot.items}
            # A partial list may lack the caller: keep what we knew rather than forget it.
            by_name.update(listed if snapshot.complete else {**kept, **listed})
        self.refreshes += 1
        self._by_name, self._failure = by_name, failure
        if failure is None:  # an incomplete picture is retried on the next miss, as a failed list always was
            self._refreshed = now


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
