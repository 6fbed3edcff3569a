"""What the Azure side tells the Kubernetes side when a VM's kubelet appears or disappears.

`KubeSim` implements these; without it the simulator runs with `NoHooks`. Names are
Kubernetes node names (the VM's computerName); provider ids are
`azure:///subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/...`.
"""
from __future__ import annotations

from typing import Protocol


class VmHooks(Protocol):
    def vm_started(self, name: str, provider_id: str) -> None: ...  # kubelet up, heartbeating
    def vm_stopped(self, name: str) -> None: ...  # kubelet silent: node NotReady after a grace period
    def vm_deleted(self, name: str) -> None: ...  # the VM no longer exists


class NoHooks:
    def vm_started(self, name: str, provider_id: str) -> None:
        pass

    def vm_stopped(self, name: str) -> None:
        pass

    def vm_deleted(self, name: str) -> None:
        pass


class RecordingHooks:
    """Keeps every call in order, e.g. [("started", "agents000000"), ("stopped", ...)]."""

    def __init__(self):
        self.calls: list[tuple[str, str]] = []

    def vm_started(self, name: str, provider_id: str) -> None:
        self.calls.append(("started", name))

    def vm_stopped(self, name: str) -> None:
        self.calls.append(("stopped", name))

    def vm_deleted(self, name: str) -> None:
        self.calls.append(("deleted", name))


class FanOut:
    """Several listeners, e.g. KubeSim and a test's RecordingHooks."""

    def __init__(self, *hooks: VmHooks):
        self.hooks = [h for h in hooks if h is not None]

    def vm_started(self, name: str, provider_id: str) -> None:
        for hook in self.hooks:
            hook.vm_started(name, provider_id)

    def vm_stopped(self, name: str) -> None:
        for hook in self.hooks:
            hook.vm_stopped(name)

    def vm_deleted(self, name: str) -> None:
        for hook in self.hooks:
            hook.vm_deleted(name)
