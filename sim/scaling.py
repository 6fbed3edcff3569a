"""Scale-set operations as ARM performs them: capacity changes, instance actions, scale-in order.

Mixed into `World` (sim/world.py), whose lock, clock and VMs it uses. New VMs are Creating /
starting for `boot_s`; scale-in removes unprotected VMs in the order of the scale-in policy
(Default: highest instance id first; OldestVM; NewestVM) and refuses when only protected
ones are left. A scale-out meets the scale set's capacity (sim/capacity.py): during an outage
it is refused with ARM's 409 and code, and nothing changes; or (allocation failures) the write
is taken and its new VMs end in provisioning state Failed instead of booting.
"""
from __future__ import annotations

from sim.vm import Vm, computer_name


class Refused(Exception):
    """An operation ARM would refuse (the ARM layer turns it into an error response)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Scaling:
    """The scale-set half of `World`: what ARM requests do to VMs."""

    def create(self, count: int, *, booted: bool = False) -> list[Vm]:
        with self.lock:
            now = self.clock()
            made = [self._create(now, booted) for _ in range(count)]
            self.etag += 1 if made else 0
        self._flush()
        return made

    def scale_to(self, capacity: int) -> list[Vm]:
        """Set sku.capacity: create VMs, or remove unprotected ones by the scale-in policy."""
        with self.lock:
            now, live = self.clock(), [vm for vm in self.listing() if not vm.gone]
            refusal = self.capacity_left.refusal(self.config) if capacity > len(live) else None
            if refusal and not refusal[2]:
                raise Refused(409, refusal[0], refusal[1])
            if capacity >= len(live):
                changed = [self._create(now, False) for _ in range(capacity - len(live))]
                for vm in changed if refusal else ():
                    vm.allocation_error = {"code": refusal[0], "message": refusal[1]}
            else:
                changed = self._scale_in_order([vm for vm in live if not vm.protected])[: len(live) - capacity]
                if len(changed) < len(live) - capacity:
                    raise Refused(409, "OperationNotAllowed", "the remaining instances are protected from scale-in")
                for vm in changed:
                    self._delete(vm, now)
            self.etag += 1
        self._flush()
        return changed

    def act(self, action: str, instance_ids: list[str]) -> list[Vm]:
        """delete / restart / reimage / deallocate / start / powerOff / redeploy for instances."""
        with self.lock:
            missing = [i for i in instance_ids if i not in self.vms]
            if missing:
                raise Refused(404, "NotFound", f"instances not found: {', '.join(missing)}")
            vms, now = [self.vms[i] for i in instance_ids], self.clock()
            for vm in vms:
                self._act(vm, action, now)
        self.tick()
        return vms

    # -- transitions (lock held) ------------------------------------------------------------
    def _create(self, now: float, booted: bool) -> Vm:
        n, cfg = self.next_id, self.config
        self.next_id += 1
        vm = Vm(f"{cfg.scale_set}_{n}", computer_name(cfg.prefix, n), f"{cfg.scale_set_id}/virtualMachines/{n}",
                self.agent, instance_id=str(n), created=now, spot=cfg.priority == "Spot",
                private_ip=f"10.1.{n // 250}.{n % 250 + 4}")
        self.vms[vm.instance_id] = vm
        vm.pend("boot", now if booted else now + cfg.boot_s)
        return vm

    def _scale_in_order(self, vms: list[Vm]) -> list[Vm]:
        rule = (self.scale_in_rules or ["Default"])[0]
        if rule == "OldestVM":
            return sorted(vms, key=lambda vm: (vm.created, int(vm.instance_id)))
        if rule == "NewestVM":
            return sorted(vms, key=lambda vm: (vm.created, int(vm.instance_id)), reverse=True)
        return sorted(vms, key=lambda vm: int(vm.instance_id), reverse=True)

    def _act(self, vm: Vm, action: str, now: float) -> None:
        boot = now + self.config.boot_s
        if action == "delete":
            return self._delete(vm, now)
        if action == "start" and vm.power == "running":
            return
        if action != "start":
            self._kubelet_down(vm)
        if action == "deallocate":
            vm.pend("deallocate", now + self.config.delete_s, provisioning="Updating", power="deallocating")
        elif action == "powerOff":
            vm.due, vm.then, vm.power = None, "", "stopped"
        else:  # start, restart, redeploy, reimage
            vm.pend("boot", boot, provisioning="Updating" if action == "reimage" else None, power="starting")
