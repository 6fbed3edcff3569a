"""What the control plane observes: scale-set instances, Kubernetes nodes and pods.

Plain frozen values, built by adapters from wire formats and by tests directly.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Generic, TypeVar

T = TypeVar("T")


class Role(StrEnum):
    AGENT = "agent"
    MASTER = "master"


class NodeState(StrEnum):
    NEW = "new"  # no row yet; never stored (see core/records.py)
    JOINING = "joining"
    READY = "ready"
    CORDONED = "cordoned"
    DRAINING = "draining"
    LEFT = "left"
    DELETED = "deleted"


@dataclass(frozen=True)
class Snapshot(Generic[T]):
    """A listing and whether it can be trusted: complete=False if any page failed or was short."""
    items: tuple[T, ...]
    complete: bool = True
    error: str | None = None
    version: str = ""  # the list's own metadata.resourceVersion (Kubernetes), "" when the source has none


@dataclass(frozen=True)
class Instance:
    """One VM of the agent scale set, as ARM reports it."""
    instance_id: str
    name: str  # osProfile.computerName: the node name
    vm_id: str = ""
    power_state: str = "running"  # running | starting | stopped | deallocated | ... (PowerState/<x>)
    provisioning_state: str = "Succeeded"
    protected: bool = False  # protectionPolicy.protectFromScaleIn
    created_at: datetime | None = None
    spot: bool = True
    scale_set: str = ""  # the scale set that lists it (filled by the instance directory)


def same_scale_set(a: str, b: str) -> bool:
    """Azure resource names (scale sets among them) compare case-insensitively."""
    return a.casefold() == b.casefold()


@dataclass(frozen=True)
class ProviderClaim:
    """What a Node's providerID says about our scale set (ScaleSet.claim): `ours` True with the
    instance id it names, False for another scale set's VM, None when it says nothing."""
    ours: bool | None
    instance_id: str = ""


@dataclass(frozen=True)
class ScaleSetInfo:
    name: str
    capacity: int
    etag: str
    computer_name_prefix: str = ""  # osProfile.computerNamePrefix: every VM is named this + 6 base-36 digits


@dataclass(frozen=True)
class Taint:
    key: str
    value: str = ""
    effect: str = "NoSchedule"


@dataclass(frozen=True)
class Node:
    """A Kubernetes Node, reduced to what the control plane decides on."""
    name: str
    provider_id: str = ""
    ready: bool | None = None  # the Ready condition: True, False or Unknown (None)
    ready_since: datetime | None = None  # lastTransitionTime of the Ready condition
    unschedulable: bool = False
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    taints: tuple[Taint, ...] = ()
    resource_version: str = ""
    uid: str = ""
    created_at: datetime | None = None  # metadata.creationTimestamp: when the node registered
    allocatable_cpu_m: int = 0  # status.allocatable, for packing pending pods onto existing nodes
    allocatable_memory_b: int = 0


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    node: str | None
    phase: str = "Running"
    owner_kind: str | None = None  # ReplicaSet, DaemonSet, StatefulSet, Job, Node (mirror pod) ...
    mirror: bool = False  # static pod mirrored by the kubelet: cannot be evicted
    terminating: bool = False  # metadata.deletionTimestamp is set: already on its way out
    cpu_m: int = 0
    memory_b: int = 0
    created_at: datetime | None = None
    grace_s: int | None = None  # spec.terminationGracePeriodSeconds (None: Kubernetes' default)
    deleting_at: datetime | None = None  # metadata.deletionTimestamp: its kubelet kills it by then at the latest

    @property
    def daemonset(self) -> bool:
        return self.owner_kind == "DaemonSet"


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: which managed identity, in which role."""
    role: Role
    principal_id: str
    resource_id: str = ""  # xms_mirid: the identity's ARM id
