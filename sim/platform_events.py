"""What happens to spot VMs without being asked: preemption, reboots, freezes, partitions.

Mixed into `World` (sim/world.py), whose lock and clock it uses. A preempted VM gets a
Preempt event in IMDS and disappears at NotBefore, or at once when the event is
acknowledged; a terminated VM disappears with no notice at all. `which` is an instance id,
an ARM VM name (agents_3) or a computer name (agents000003), or for `schedule` a list of them:
host maintenance names every VM on the host in one event, and acknowledging it lets it proceed
for all of them (the scheduled-events documentation's own sample is a Freeze of two VMs).
`withdraw` is Azure cancelling an event before it starts: it leaves the document while still
Scheduled, and nothing happens to its VMs.
"""
from __future__ import annotations

from sim.vm import ScheduledEvent, Vm

DESCRIPTIONS = {
    "Preempt": "Virtual machine is being evicted from Azure Spot.",
    "Terminate": "Virtual machine is being deleted.",
    "Reboot": "Virtual machine is going to be restarted as requested by authorized user.",
    "Redeploy": "Virtual machine is going to be redeployed to another host.",
    "Freeze": "Virtual machine is going to be paused for a host update.",
}


class PlatformEvents:
    def schedule(self, which, event_type: str, notice_s: float, *, source: str = "Platform",
                 duration_s: int = -1) -> ScheduledEvent:
        """Put a scheduled event in the VMs' IMDS document, starting `notice_s` from now. `which`:
        one VM, or a list of VMs of this scale set that the one event names."""
        with self.lock:
            vms = [self.find(w) for w in (which if isinstance(which, (list, tuple)) else [which])]
            groups = {self.group(vm) for vm in vms}
            if len(groups) != 1:
                raise KeyError(f"one event names VMs of one placement group, not {sorted(groups)}")
            event = ScheduledEvent(event_type, [vm.name for vm in vms], self.clock() + notice_s, source,
                                   DESCRIPTIONS.get(event_type, ""), duration_s)
            self.board.add(groups.pop(), event)
        self.tick()
        return event

    def withdraw(self, event_id: str) -> bool:
        """Azure cancels an event before it started: it leaves the document, its VMs stay as they are.
        False when it has started already (or is not listed)."""
        with self.lock:
            return self.board.withdraw(event_id)

    def preempt(self, which, notice_s: float = 30.0) -> ScheduledEvent:
        return self.schedule(which, "Preempt", notice_s)

    def reboot(self, which, notice_s: float = 10.0) -> ScheduledEvent:
        return self.schedule(which, "Reboot", notice_s, duration_s=max(1, round(self.config.restart_seconds)))

    def redeploy(self, which, notice_s: float = 10.0) -> ScheduledEvent:
        return self.schedule(which, "Redeploy", notice_s, duration_s=max(1, round(self.config.restart_seconds)))

    def freeze(self, which, notice_s: float = 10.0, duration_s: int = 5) -> ScheduledEvent:
        return self.schedule(which, "Freeze", notice_s, duration_s=duration_s)

    def terminate(self, which) -> Vm:
        """The VM vanishes now, without any scheduled event (a spot eviction nobody announced)."""
        with self.lock:
            vm = self.find(which)
            self._evict(vm, self.clock())
        self.tick()
        return vm

    def partition(self, which, on: bool = True) -> Vm:
        """The VM keeps running for ARM, but its kubelet can (not) reach the API server."""
        with self.lock:
            vm = self.find(which)
            if vm.partitioned != on and vm.power == "running":
                vm.partitioned = on
                if on:
                    self._call("vm_stopped", vm.computer_name)
                else:
                    self._call("vm_started", vm.computer_name, vm.provider_id)
            vm.partitioned = on
        self._flush()
        return vm

    def acknowledge(self, which, event_ids: list[str]) -> list[ScheduledEvent]:
        """IMDS StartRequests: the events start now (for every VM they name)."""
        with self.lock:
            vm = self.find(which)
            started = self.board.start(self.group(vm), set(event_ids))
            for event in started:
                self._start_event(event, self.clock())
        self.tick()
        return started

    def document(self, vm: Vm) -> dict:
        with self.lock:
            return self.board.document(self.group(vm))

    def encoded_document(self, vm: Vm) -> bytes:
        with self.lock:
            return self.board.encoded(self.group(vm))

    # -- lock held --------------------------------------------------------------------------
    def _by_name(self, name: str) -> Vm | None:
        try:
            return self.find(name)
        except KeyError:
            return None

    def _start_event(self, event: ScheduledEvent, now: float) -> None:
        if event.event_type == "Freeze":
            event.ends_at = now + max(event.duration_s, 0)
        for vm in filter(None, map(self._by_name, list(event.resources))):
            if event.event_type in ("Preempt", "Terminate"):
                self._evict(vm, now)
            elif event.event_type in ("Reboot", "Redeploy"):
                self._kubelet_down(vm)
                vm.pend("boot", now + self.config.restart_seconds, power="starting")

    def _evict(self, vm: Vm, now: float) -> None:
        if vm.due is not None and vm.then == "delete":
            return
        self.etag += 0 if vm.gone else 1
        self._kubelet_down(vm)
        vm.pend("delete", now + self.config.delete_s, provisioning="Deleting", power="stopping")

    def _delete(self, vm: Vm, now: float) -> None:
        """An ARM delete: announced by a Terminate event first when notifications are on."""
        if self.config.terminate_notice_s and not self.board.pending(self.group(vm), vm.name, "Terminate"):
            self.etag += 0 if vm.gone else 1
            vm.provisioning = "Deleting"
            self.board.add(self.group(vm), ScheduledEvent(
                "Terminate", [vm.name], now + self.config.terminate_notice_s, "User", DESCRIPTIONS["Terminate"]))
        elif not self.config.terminate_notice_s:
            self._evict(vm, now)
