"""In-memory `ScaleSet`: a dict of instances with ARM's names, ETags, scale-in order and errors.

Fault knobs mirror the simulator's: `throttle()` / `fail()` the next calls, `short_list` (the
listing silently shows fewer instances, as a bad ARM page does), `fail_listing_after`
(the listing breaks part-way: an incomplete snapshot) and `listed_twice` (instances listed a
second time, maybe in another state, as when a page boundary moves while paging). New instances boot at once unless
`booting` is set; then they stay Creating/starting until `finish_boot()`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timezone

from nodepool.adapters import azure_names  # ARM's naming rules, shared: pure, no SDK
from nodepool.core.errors import Conflict, NotFound, Throttled, Unavailable
from nodepool.core.model import Instance, ProviderClaim, ScaleSetInfo, Snapshot

DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def computer_name(prefix: str, instance_id: int) -> str:
    out, n = "", instance_id
    while n:
        n, r = divmod(n, 36)
        out = DIGITS[r] + out
    return prefix + out.rjust(6, "0")


class FakeScaleSet:
    def __init__(self, name: str = "agents", capacity: int = 0, *, prefix: str | None = None, booting: bool = False):
        self.name, self.prefix, self.booting = name, prefix or name, booting
        self.vms: dict[str, Instance] = {}
        self.etag_n, self.next_id = 1, 0
        self.short_list: int | None = None
        self.listed_twice: list[Instance] = []  # knob: listed again at the end (a page boundary moved)
        self.fail_listing_after: int | None = None
        self.writes: list[tuple[str, tuple]] = []  # what was asked, for assertions
        self._throttle, self._retry_after, self._fail = 0, 1.0, 0
        for _ in range(capacity):
            self._create()

    # -- knobs ------------------------------------------------------------------------------------
    def throttle(self, times: int = 1, retry_after: float = 1.0) -> None:
        self._throttle, self._retry_after = times, retry_after

    def fail(self, times: int = 1) -> None:
        self._fail = times

    def finish_boot(self) -> None:
        for iid, vm in self.vms.items():
            self.vms[iid] = replace(vm, power_state="running", provisioning_state="Succeeded")

    # -- the port ----------------------------------------------------------------------------------
    def info(self) -> ScaleSetInfo:
        self._gate("get scale set")
        return ScaleSetInfo(self.name, len(self.vms), f'"{self.etag_n}"', self.prefix)

    def vm_name(self, instance_id: str) -> str:
        return azure_names.vm_name(self.name, instance_id)

    def claim(self, provider_id: str) -> ProviderClaim:
        return azure_names.claim(self.name, provider_id)

    def instances(self) -> Snapshot[Instance]:
        self._gate("list instances")
        items = tuple(sorted(self.vms.values(), key=lambda vm: int(vm.instance_id)))
        if self.fail_listing_after is not None:
            return Snapshot(items[: self.fail_listing_after], complete=False, error="arm_unavailable: page failed")
        return Snapshot((items[: self.short_list] if self.short_list is not None else items)
                        + tuple(self.listed_twice))

    def get_instance(self, instance_id: str) -> Instance | None:
        self._gate("get instance")
        return self.vms.get(instance_id)

    def set_capacity(self, capacity: int, etag: str) -> None:
        self._gate("set capacity")
        if etag != f'"{self.etag_n}"':
            raise Conflict("set capacity: the scale set changed meanwhile (412)")
        self.writes.append(("set_capacity", (capacity,)))
        live = sorted(self.vms.values(), key=lambda vm: int(vm.instance_id), reverse=True)
        victims = [vm for vm in live if not vm.protected][: max(0, len(live) - capacity)]
        if len(live) - len(victims) > capacity:
            raise Conflict("set capacity: the remaining instances are protected from scale-in (409)")
        for vm in victims:
            del self.vms[vm.instance_id]
        for _ in range(capacity - len(live)):
            self._create()
        self.etag_n += 1

    def delete_instances(self, ids: Sequence[str]) -> None:
        for vm in self._each("delete instances", ids):
            del self.vms[vm.instance_id]
        self.etag_n += 1 if ids else 0

    def reimage_instances(self, ids: Sequence[str]) -> None:
        self._power("reimage instances", ids, "running")

    def restart_instances(self, ids: Sequence[str]) -> None:
        self._power("restart instances", ids, "running")

    def deallocate_instances(self, ids: Sequence[str]) -> None:
        self._power("deallocate instances", ids, "deallocated")

    def start_instances(self, ids: Sequence[str]) -> None:
        self._power("start instances", ids, "running")

    def set_protection(self, instance_id: str, protect_from_scale_in: bool) -> None:
        for vm in self._each("set protection", [instance_id]):
            self.vms[vm.instance_id] = replace(vm, protected=protect_from_scale_in)

    # -- internals ----------------------------------------------------------------------------------
    def _gate(self, what: str) -> None:
        if self._throttle:
            self._throttle -= 1
            raise Throttled(f"{what}: ARM throttled", retry_after=self._retry_after)
        if self._fail:
            self._fail -= 1
            raise Unavailable(f"{what}: ARM answered 500", code="arm_unavailable")

    def _each(self, what: str, ids: Sequence[str]) -> list[Instance]:
        self._gate(what)
        missing = [i for i in ids if i not in self.vms]
        if missing:
            raise NotFound(f"{what}: not found")
        self.writes.append((what, tuple(ids)))
        return [self.vms[i] for i in ids]

    def _power(self, what: str, ids: Sequence[str], state: str) -> None:
        for vm in self._each(what, ids):
            self.vms[vm.instance_id] = replace(vm, power_state=state, provisioning_state="Succeeded")

    def _create(self) -> Instance:
        n = self.next_id
        self.next_id += 1
        vm = Instance(str(n), computer_name(self.prefix, n), vm_id=f"00000000-0000-4000-8000-{n:012d}",
                      power_state="starting" if self.booting else "running",
                      provisioning_state="Creating" if self.booting else "Succeeded",
                      created_at=datetime.now(timezone.utc))
        self.vms[vm.instance_id] = vm
        return vm
