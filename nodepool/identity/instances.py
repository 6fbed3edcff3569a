"""Which VM of ours a hostname is: the one answer join, leave and events rely on.

`InstanceDirectory` keeps the listings of every agent scale set the app manages in a
time-bounded cache, so ARM stays off the join hot path; `visible` is the one check that a caller
names a current VM of ours (and its vmId, when it says one). A name no VM of ours can have (no
scale set's computerNamePrefix, then letters and digits, as ARM names them) is refused for good
(403 not_our_vm); only a name that could be ours is "not listed yet" (503, ask again).
"""
from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from nodepool.core.errors import Forbidden, NodepoolError, Unavailable
from nodepool.core.model import Instance, same_scale_set
from nodepool.core.ports import ScaleSet

NOT_VISIBLE_RETRY_AFTER_S = 10  # a new VM shows in the scale set's listing within a refresh or two


def named_like(hostname: str, prefixes: Iterable[str]) -> bool:
    """Could ARM have given `hostname` to a VM of a scale set with one of these computerNamePrefixes?"""
    name = hostname.lower()
    return any(name.startswith(p.lower()) and name[len(p):].isalnum() and name[len(p):].isascii()
               for p in prefixes)


def check_vm(hostname: str, instance: Instance | None, vm_id: str = "") -> Instance:
    """`instance` is the current VM called `hostname` (with vmId `vm_id`, when given): a VM created
    seconds ago may not be listed yet, so a missing one is "ask again", never a refusal for good."""
    if instance is None:
        raise Unavailable(f"{hostname} is not a visible instance of the agent scale set (yet)",
                          code="instance_not_visible", retry_after=NOT_VISIBLE_RETRY_AFTER_S)
    if vm_id and instance.vm_id and vm_id.lower() != instance.vm_id.lower():
        raise Forbidden(f"vm_id does not match instance {hostname}", code="vm_id_mismatch")
    return instance


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
        self._prefixes: dict[str, str] = {}  # scale set -> its computerNamePrefix, once ARM said it (immutable)
        self._lock = threading.Lock()
        self.refreshes = 0

    def lookup(self, name: str, now: datetime, vm_id: str = "") -> Instance | None:
        """`vm_id`: the caller's vmId; a cached entry of another VM (replaced since) counts as a miss."""
        fresh = self._refreshed is not None and now - self._refreshed < self._ttl
        cached = self._by_name.get(name)
        if fresh and cached and not (vm_id and cached.vm_id and cached.vm_id.lower() != vm_id.lower()):
            return cached
        with self._lock:  # judged again under the lock: a concurrent miss may have just refreshed
            age = None if self._refreshed is None else now - self._refreshed
            if age is None or age >= self._ttl or age >= self._min_refresh:
                self._refresh(now)
            found = self._by_name.get(name)
            if found is None and self._failure is not None:
                raise self._failure
            return found

    def visible(self, hostname: str, now: datetime, vm_id: str = "") -> Instance:
        """The current VM called `hostname` (with the caller's vmId, when known), or check_vm's refusal;
        a name none of our scale sets can give is refused without asking ARM."""
        return check_vm(hostname, self._listed(hostname, now, vm_id), vm_id)

    def _listed(self, hostname: str, now: datetime, vm_id: str) -> Instance | None:
        """lookup(), for a name a VM of ours can have (Forbidden otherwise)."""
        self._check_name(hostname)
        found = self.lookup(hostname, now, vm_id)
        if found is None:
            self._check_name(hostname)  # the refresh may have just learnt the prefixes
        return found

    def _check_name(self, hostname: str) -> None:
        prefixes = [self._prefixes.get(s.name, "") for s in self._scalesets]
        if all(prefixes) and not named_like(hostname, prefixes):
            raise Forbidden(f"{hostname} is no name a VM of our scale sets can have (their computer names "
                            f"start with {', '.join(sorted(set(prefixes)))})", code="not_our_vm")

    def vm_name(self, instance: Instance) -> str:
        """The name ARM gives `instance` in its own scale set (`<scale set>_<id>`)."""
        return self._scaleset_of(instance).vm_name(instance.instance_id)

    def _scaleset_of(self, instance: Instance) -> ScaleSet:
        return self._named(instance.scale_set)

    def _named(self, scale_set: str) -> ScaleSet:
        return next((s for s in self._scalesets if same_scale_set(s.name, scale_set)), self._scalesets[0])

    def named_in(self, vm_names: Sequence[str]) -> tuple[str, ...]:
        """The computer names (node names) of our VMs among ARM VM names, as a scheduled event's
        Resources lists them (case-insensitively), from the listing `visible` just used: VMs of
        one event existed before it. Names of VMs not ours are left out."""
        wanted = {name.casefold() for name in vm_names}
        return tuple(sorted(name for name, instance in list(self._by_name.items())
                            if self.vm_name(instance).casefold() in wanted))

    def gone(self, instance_id: str, scale_set: str = "") -> bool:
        """ARM's current word (a GET, not the cached listing) that the VM has gone: 404, being deleted,
        or stopped. A failed GET is no evidence: False."""
        try:
            instance = self._named(scale_set).get_instance(instance_id)
        except Exception:  # noqa: BLE001 - any failure to ask is "not known to be gone"
            return False
        return instance is None or instance.provisioning_state.lower() == "deleting" or \
            instance.power_state.lower() in ("stopped", "deallocated", "deallocating")

    def around(self, hostname: str, vm_id: str, now: datetime) -> list[Instance]:
        """For an attested join: the instance named `hostname` and any instance with `vm_id`, after
        one fresh lookup when the name is unknown or listed with another vmId. A name still unknown
        is "not visible yet" (503 with Retry-After) when one of our VMs could have it."""
        named = check_vm(hostname, self._listed(hostname, now, vm_id))
        return [named, *(i for i in self._by_name.values() if i.vm_id and i.vm_id.lower() == vm_id.lower())]

    def _refresh(self, now: datetime) -> None:
        by_name: dict[str, Instance] = {}
        failure: Exception | None = None
        for scaleset in self._scalesets:
            kept = {n: i for n, i in self._by_name.items() if same_scale_set(i.scale_set, scaleset.name)}
            try:
                snapshot = scaleset.instances()
            except NodepoolError as err:  # that set's picture is unknown: keep what we knew of it
                by_name, failure = {**kept, **by_name}, failure or err
                continue
            self._learn_prefix(scaleset)
            listed = {i.name: replace(i, scale_set=scaleset.name) for i in snapshot.items}
            # A partial list may lack the caller: keep what we knew rather than forget it.
            by_name.update(listed if snapshot.complete else {**kept, **listed})
        self.refreshes += 1
        self._by_name, self._failure = by_name, failure
        if failure is None:  # an incomplete picture is retried on the next miss, as a failed list always was
            self._refreshed = now

    def _learn_prefix(self, scaleset: ScaleSet) -> None:
        if scaleset.name in self._prefixes:
            return
        try:
            prefix = scaleset.info().computer_name_prefix
        except NodepoolError:  # unknown for now: names stay "maybe ours" (503), never refused on a guess
            return
        if prefix:
            self._prefixes[scaleset.name] = prefix
