"""The simulated Azure estate: one VM scale set (a pool: spot by default) plus master0, moving through time.

Changes happen under one lock. Timed transitions (boot, deletion, a scheduled event reaching
NotBefore) complete in `tick()`, which a background thread runs and every request runs
first, so answers never lag the clock. The Kubernetes side hears about kubelets coming and
going through `VmHooks`, called in order and outside the lock. Scale-set operations live in
sim/scaling.py, what happens to VMs unasked (preemption, reboots, partitions) in sim/platform_events.py.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sim.capacity import Capacity
from sim.events import EventBoard
from sim.hooks import NoHooks, VmHooks
from sim.http import in_request
from sim.platform_events import PlatformEvents
from sim.scaling import Refused, Scaling
from sim.vm import Identity, Vm

log = logging.getLogger("sim.world")


@dataclass
class Config:
    subscription: str
    resource_group: str
    scale_set: str = "agents"
    prefix: str = "agents"  # virtualMachineProfile.osProfile.computerNamePrefix
    location: str = "westeurope"
    vm_size: str = "Standard_B2s"
    boot_s: float = 0.2  # Creating/starting -> Succeeded/running
    restart_s: float | None = None  # a Reboot/Redeploy event's restart (None: boot_s); shorter than a new VM's boot
    delete_s: float = 0.0  # Deleting -> gone, deallocating -> deallocated
    terminate_notice_s: float = 0.0  # > 0: deletes announce a Terminate event first
    priority: str = "Spot"  # virtualMachineProfile.priority: Spot | Regular

    @property
    def restart_seconds(self) -> float:
        return self.boot_s if self.restart_s is None else self.restart_s

    @property
    def scale_set_id(self) -> str:
        return (f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
                f"/providers/Microsoft.Compute/virtualMachineScaleSets/{self.scale_set}")


class World(Scaling, PlatformEvents):
    def __init__(self, config: Config, agent: Identity, master: Identity, hooks: VmHooks | None = None,
                 clock=time.time):
        self.config, self.agent, self.clock = config, agent, clock
        self.hooks: VmHooks = hooks or NoHooks()
        self.lock = threading.RLock()
        self.board = EventBoard()
        self.vms: dict[str, Vm] = {}  # instance id -> VM of the scale set
        self.etag = 1
        self.scale_in_rules = ["Default"]
        self.next_id = 0
        self.capacity_left = Capacity(clock)  # capacity outages: refuse(code) makes scale-outs fail
        self._calls: list[tuple[str, tuple]] = []
        self._hook_lock = threading.RLock()
        rid = config.scale_set_id.replace("virtualMachineScaleSets/" + config.scale_set, "virtualMachines/master0")
        self.master = Vm("master0", "master0", rid, master, spot=False, private_ip="10.0.0.4",
                         provisioning="Succeeded", power="running", created=clock())

    # -- reading ---------------------------------------------------------------------------
    @property
    def capacity(self) -> int:
        return sum(1 for vm in self.vms.values() if not vm.gone)

    def find(self, which) -> Vm:
        """A VM by instance id, ARM name (agents_3) or computer name (agents000003)."""
        key = str(which)
        with self.lock:
            for vm in (*self.vms.values(), self.master):
                if key in (vm.instance_id, vm.name, vm.computer_name):
                    return vm
        raise KeyError(f"no VM {which!r}")

    def group(self, vm: Vm) -> str:
        return "master0" if vm is self.master else self.config.scale_set

    def listing(self) -> list[Vm]:
        with self.lock:
            return sorted(self.vms.values(), key=lambda vm: int(vm.instance_id))

    def settled(self, vms: list[Vm]) -> bool:
        """True when none of these VMs is still in a transition (used by LRO status)."""
        with self.lock:
            return all(vm.instance_id not in self.vms or (vm.due is None and not vm.gone) for vm in vms)

    # -- time ----------------------------------------------------------------------------------
    def start_master(self) -> None:
        with self.lock:
            self._call("vm_started", self.master.computer_name, self.master.provider_id)
        self._flush()

    def tick(self, now: float | None = None) -> None:
        with self.lock:
            now = now or self.clock()
            for event in self.board.due(now):
                self._start_event(event, now)
            for vm in (*self.vms.values(), self.master):
                if vm.due is not None and vm.due <= now:
                    self._complete(vm)
        self._flush()

    # -- transitions (lock held) ------------------------------------------------------------
    def _kubelet_down(self, vm: Vm) -> None:
        if vm.power == "running" and not vm.partitioned:
            self._call("vm_stopped", vm.computer_name)

    def _complete(self, vm: Vm) -> None:
        then, vm.due, vm.then = vm.then, None, ""
        if then == "boot" and vm.allocation_error:
            vm.provisioning, vm.power = "Failed", "deallocated"
        elif then == "boot":
            vm.provisioning, vm.power = "Succeeded", "running"
            self.board.forget(self.group(vm), vm.name, ("Reboot", "Redeploy"))
            if not vm.partitioned:
                self._call("vm_started", vm.computer_name, vm.provider_id)
        elif then == "deallocate":
            vm.provisioning, vm.power = "Succeeded", "deallocated"
        elif then == "delete":
            self.vms.pop(vm.instance_id, None)
            self.board.forget(self.group(vm), vm.name)
            self._call("vm_deleted", vm.computer_name)

    def _call(self, hook: str, *args) -> None:
        self._calls.append((hook, args))

    def _flush(self) -> None:
        """Deliver queued hook calls in order. A hook may end up calling ARM, so a thread holding the
        world lock never delivers (its caller flushes later), and a thread answering HTTP never waits
        for another deliverer (that one, or the clock thread, drains the queue)."""
        if self.lock._is_owned() or not self._hook_lock.acquire(blocking=not in_request()):
            return
        try:
            while True:
                with self.lock:
                    calls, self._calls = self._calls, []
                if not calls:
                    return
                for hook, args in calls:
                    try:
                        getattr(self.hooks, hook)(*args)
                    except Exception:  # the Kubernetes side failing must not stop Azure's clock
                        log.exception("hook %s%r failed", hook, args)
        finally:
            self._hook_lock.release()

def locate(worlds: Iterable[World], which) -> tuple[World, Vm]:
    """The scale set (World) a VM belongs to, and the VM: `which` is a Vm, instance id, ARM name or
    computer name. The first World (the agents' own) answers for master0 and for a bare instance id
    (ids repeat across scale sets; ARM and computer names do not)."""
    worlds = list(worlds)
    for i, world in enumerate(worlds):
        with world.lock:
            if isinstance(which, Vm):
                if any(vm is which for vm in world.vms.values()) or (i == 0 and which is world.master):
                    return world, which
                continue
            try:
                vm = world.find(which)
            except KeyError:
                continue
            if i == 0 or vm is not world.master:
                return world, vm
    raise KeyError(f"no VM {which!r}")


__all__ = ["Config", "Refused", "World", "locate"]
