"""In-memory pool scale set for the autoscaler: FakeScaleSet plus Azure's capacity failures.

Knobs: `race()` makes the next write's ETag stale; `refuse(code, times)` makes the next
capacity writes raise CapacityUnavailable with Azure's code (SkuNotAvailable,
OperationNotAllowed ...), as a synchronous ARM refusal does;
`fail_allocations = code` makes new instances end in provisioning state Failed, as an accepted
write whose allocation fails later does. `clock` stamps created_at (simulated time in benches).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone

from nodepool.core.errors import CapacityUnavailable
from nodepool.core.model import Instance
from nodepool.fakes.scaleset import FakeScaleSet


class FakePoolScaleSet(FakeScaleSet):
    def __init__(self, name: str = "spot", capacity: int = 0, *, spot: bool = True, booting: bool = False,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.spot, self.clock = spot, clock
        self._refusals: list[str] = []
        self.fail_allocations: str | None = None
        self._races = 0
        super().__init__(name, capacity, booting=booting)

    def refuse(self, code: str = "SkuNotAvailable", times: int = 1) -> None:
        self._refusals.extend([code] * times)

    def race(self, times: int = 1) -> None:
        """Knob: someone else changes the scale set just before our next capacity writes (412)."""
        self._races = times

    def set_capacity(self, capacity: int, etag: str) -> None:
        if self._races:
            self._races -= 1
            self.etag_n += 1
        if self._refusals and capacity > len(self.vms):
            code = self._refusals.pop(0)
            raise CapacityUnavailable(f"set capacity of {self.name}: {code}", code=code)
        super().set_capacity(capacity, etag)

    def _create(self) -> Instance:
        vm = super()._create()
        failed = self.fail_allocations is not None
        vm = replace(vm, spot=self.spot, created_at=self.clock(),
                     provisioning_state="Failed" if failed else vm.provisioning_state,
                     power_state="stopped" if failed else vm.power_state)
        self.vms[vm.instance_id] = vm
        return vm

    def mark_running(self, instance_id: str) -> None:
        """The VM finished booting (the simulated cluster calls this after its boot delay)."""
        self.vms[instance_id] = replace(self.vms[instance_id], power_state="running", provisioning_state="Succeeded")
