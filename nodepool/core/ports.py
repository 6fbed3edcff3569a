"""Ports: what services need from the outside world. Adapters implement them for Azure,
the simulator and Kubernetes; tests use the in-memory fakes in `nodepool.fakes`.

Every method raises only nodepool.core.errors types: TransientError (retry later) or
PermanentError (this request is wrong).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from nodepool.core.audit import AuditEntry
from nodepool.core.model import Caller, Instance, Node, Pod, ProviderClaim, Role, ScaleSetInfo, Snapshot, Taint
from nodepool.core.records import ClusterInfo, EventRecord, JoinTokenRecord, NodeRecord
from nodepool.identity.attestation import AttestedClaims
from nodepool.identity.credential import NodeCredentialRecord
from nodepool.identity.nonce import NonceRecord
from nodepool.reconcile.model import TickState


class Clock(Protocol):
    def now(self) -> datetime: ...


class ScaleSet(Protocol):
    """The agent scale set. Its naming rules (adapters/azure_names.py) stay behind it: callers ask
    `vm_name` and `claim` instead of building or parsing Azure names themselves."""
    name: str  # as configured (NODEPOOL_SCALE_SET); Azure compares resource names case-insensitively
    def info(self) -> ScaleSetInfo: ...
    def vm_name(self, instance_id: str) -> str: ...  # the VM's name in ARM (scheduled events' Resources)
    def claim(self, provider_id: str) -> ProviderClaim: ...  # Belongs(node): ours, another's, or unknown
    def instances(self) -> Snapshot[Instance]: ...  # complete=False if any page failed
    def get_instance(self, instance_id: str) -> Instance | None: ...  # None only when ARM answers 404 for it
    def set_capacity(self, capacity: int, etag: str) -> None: ...  # Conflict on a stale ETag
    def delete_instances(self, ids: Sequence[str]) -> None: ...
    def reimage_instances(self, ids: Sequence[str]) -> None: ...
    def restart_instances(self, ids: Sequence[str]) -> None: ...
    def deallocate_instances(self, ids: Sequence[str]) -> None: ...
    def start_instances(self, ids: Sequence[str]) -> None: ...
    def set_protection(self, instance_id: str, protect_from_scale_in: bool) -> None: ...


class Kube(Protocol):
    def nodes(self, label_selector: str | None = None) -> Snapshot[Node]: ...
    def node(self, name: str) -> Node | None: ...
    def patch_node(self, name: str, *, unschedulable: bool | None = None,
                   labels: dict[str, str | None] | None = None, taints: Iterable[Taint] | None = None,
                   resource_version: str | None = None) -> Node: ...  # Conflict on a stale resourceVersion
    def delete_node(self, name: str) -> bool: ...  # False: there was none (a missing node is not an error)
    def pods_on(self, node: str) -> list[Pod]: ...
    def pods(self, field_selector: str | None = None) -> Snapshot[Pod]: ...  # all namespaces; complete=False on failure
    def evict(self, pod: Pod, grace_s: int | None = None) -> bool: ...  # False: refused by a PDB (429)
    def delete_pod(self, pod: Pod, grace_s: int | None = None) -> None: ...
    # secrets as {name, namespace, type, labels, data (decoded text), created_at, resource_version, uid}
    def secret(self, namespace: str, name: str) -> dict | None: ...
    def create_secret(self, namespace: str, name: str, *, type: str, string_data: dict[str, str],
                      labels: dict[str, str] | None = None) -> None: ...
    def delete_secret(self, namespace: str, name: str) -> bool: ...  # False: there was none (not an error)
    def secrets(self, namespace: str, field_selector: str | None = None) -> list[dict]: ...


class IdentityVerifier(Protocol):
    def verify(self, authorization: str | None, role: Role) -> Caller: ...  # Unauthenticated / Forbidden


class AttestationVerifier(Protocol):
    # IMDS's {"encoding", "signature"}: signature, chain and signer name checked at `now`;
    # AttestationRefused with the reason code of the first failed check.
    def verify(self, document: object, now: datetime) -> AttestedClaims: ...


class NonceStore(Protocol):
    """Attested-join nonces (table `nonces`)."""
    def add(self, record: NonceRecord) -> None: ...  # AlreadyExists on a (128-bit) collision
    def get(self, nonce: str) -> NonceRecord | None: ...  # with its ETag
    def mark_used(self, record: NonceRecord, now: datetime) -> None: ...  # Conflict if changed since read
    def delete_expired(self, before: datetime) -> int: ...


class NodeCredentials(Protocol):
    """Per-node credentials, as hashes only (table `nodecredentials`, one row per node)."""
    def get(self, hostname: str) -> NodeCredentialRecord | None: ...
    def put(self, record: NodeCredentialRecord) -> None: ...  # replaces: every attested join rotates
    def delete(self, hostname: str) -> None: ...  # missing is not an error


class AuditLog(Protocol):
    """The audit trail (table `audit`): one insert per control action, read newest first."""
    def add(self, entry: AuditEntry) -> None: ...
    def page(self, limit: int, token: str | None) -> tuple[list[AuditEntry], str | None]: ...


class Registry(Protocol):
    """The control plane's own records (Table Storage in production)."""
    def cluster(self) -> ClusterInfo | None: ...
    def save_cluster(self, info: ClusterInfo) -> None: ...
    def node(self, name: str) -> NodeRecord | None: ...
    # Insert when record.etag is None (AlreadyExists if taken), else replace only if unchanged (Conflict).
    def save_node(self, record: NodeRecord) -> NodeRecord: ...
    def nodes_page(self, limit: int, token: str | None) -> tuple[list[NodeRecord], str | None]: ...
    def all_nodes(self) -> list[NodeRecord]: ...
    def delete_node(self, name: str, etag: str | None) -> None: ...  # Conflict if changed since etag; missing: fine
    def add_join_token(self, record: JoinTokenRecord) -> None: ...
    def join_tokens(self) -> list[JoinTokenRecord]: ...
    def delete_join_token(self, token_id: str) -> None: ...
    def event(self, node: str, event_id: str) -> EventRecord | None: ...
    def add_event(self, record: EventRecord) -> EventRecord: ...  # AlreadyExists: the dedup point; with its ETag
    def save_event(self, record: EventRecord) -> EventRecord: ...  # Conflict on a stale ETag (None: upsert)
    def events_before(self, when: datetime) -> list[EventRecord]: ...
    def delete_event(self, node: str, event_id: str) -> None: ...


class EventQueue(Protocol):
    def send(self, message: dict, delay_s: float = 0) -> None: ...  # invisible for delay_s first


class TickStore(Protocol):
    """The reconcile timer's state: one row per cluster, with optimistic concurrency."""
    def load(self) -> tuple[TickState, str | None]: ...  # (state, ETag); (TickState(), None) before the first save
    def save(self, state: TickState, etag: str | None) -> str: ...  # Conflict when someone saved since `etag`


MAX_PEEK = 32  # Queue Storage's most per peek


@dataclass(frozen=True)
class PeekedMessage:
    message_id: str
    inserted_at: datetime | None
    body: dict | None  # None when the content is not a JSON object


class QueuePeek(Protocol):
    def peek(self, name: str, limit: int = MAX_PEEK) -> list[PeekedMessage]: ...  # nothing is dequeued
