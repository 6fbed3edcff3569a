"""Simulated VMs and their scheduled events: plain state, no behaviour beyond naming.

Names follow Azure: a Uniform scale-set VM is `<vmss>_<instanceId>` in ARM and in scheduled
events' `Resources`, while its hostname (osProfile.computerName, the Kubernetes node name)
is the computer-name prefix plus the instance id in 6 base-36 digits (`agents00000b` = 11).
"""
from __future__ import annotations

import email.utils
import uuid
from dataclasses import dataclass, field

DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def base36(n: int, width: int = 6) -> str:
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = DIGITS[r] + out
    return out.rjust(width, "0")


def computer_name(prefix: str, instance_id: int) -> str:
    return f"{prefix}{base36(instance_id)}"


def http_date(ts: float) -> str:
    """RFC 1123, as IMDS writes NotBefore: 'Mon, 19 Sep 2016 18:29:47 GMT'."""
    return email.utils.formatdate(ts, usegmt=True)


@dataclass(frozen=True)
class Identity:
    """A user-assigned managed identity."""
    name: str
    principal_id: str  # oid
    client_id: str  # appid
    resource_id: str  # xms_mirid

    @classmethod
    def new(cls, subscription: str, group: str, name: str) -> Identity:
        rid = (f"/subscriptions/{subscription}/resourcegroups/{group}/providers/"
               f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}")
        return cls(name, str(uuid.uuid4()), str(uuid.uuid4()), rid)


@dataclass
class ScheduledEvent:
    event_type: str  # Preempt | Terminate | Reboot | Redeploy | Freeze
    resources: list[str]  # VM names (agents_3)
    not_before: float
    source: str = "Platform"  # Platform | User
    description: str = ""
    duration_s: int = -1
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = "Scheduled"  # Scheduled | Started
    ends_at: float | None = None  # Freeze: when the event leaves the document

    def as_imds(self) -> dict:
        return {
            "EventId": self.event_id, "EventType": self.event_type, "ResourceType": "VirtualMachine",
            "Resources": list(self.resources), "EventStatus": self.status,
            "NotBefore": http_date(self.not_before) if self.status == "Scheduled" else "",
            "Description": self.description, "EventSource": self.source, "DurationInSeconds": self.duration_s,
        }


@dataclass
class Vm:
    name: str  # ARM name: agents_3, or master0
    computer_name: str  # hostname and Kubernetes node name
    resource_id: str
    identity: Identity
    instance_id: str = ""  # "" for master0, a standalone VM
    vm_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created: float = 0.0
    spot: bool = True
    private_ip: str = ""
    provisioning: str = "Creating"  # Creating | Succeeded | Updating | Deleting
    power: str = "starting"  # starting | running | stopping | stopped | deallocating | deallocated
    due: float | None = None  # when the pending transition `then` completes
    then: str = ""  # boot | delete | deallocate
    protected: bool = False  # protectionPolicy.protectFromScaleIn
    partitioned: bool = False  # running, but its kubelet cannot reach the API server
    allocation_error: dict | None = None  # set: its boot ends in provisioning state Failed (sim/capacity.py)
    etag: int = 1

    @property
    def provider_id(self) -> str:
        return "azure://" + self.resource_id

    @property
    def gone(self) -> bool:
        return self.provisioning == "Deleting"

    def pend(self, then: str, at: float, *, provisioning: str | None = None, power: str | None = None) -> None:
        self.then, self.due = then, at
        self.provisioning = provisioning or self.provisioning
        self.power = power or self.power
