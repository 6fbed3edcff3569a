"""Ports: what services need from the outside world. Adapters implement them for Azure,
the simulator and Kubernetes; tests use the in-memory fakes in `nodepool.fakes`.

Every method raises only nodepool.errors types: TransientError (retry later) or
PermanentError (this request is wrong).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from nodepool.domain.model import Caller, Instance, Node, Pod, Role, ScaleSetInfo, Snapshot, Taint


class Clock(Protocol):
    def now(self) -> datetime: ...


class ScaleSet(Protocol):
    def info(self) -> ScaleSetInfo: ...
    def instances(self) -> Snapshot[Instance]: ...  # complete=False if any page failed
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
    def delete_node(self, name: str) -> None: ...  # a missing node is not an error
    def pods_on(self, node: str) -> list[Pod]: ...
    def evict(self, pod: Pod, grace_s: int | None = None) -> bool: ...  # False: refused by a PDB (429)
    def delete_pod(self, pod: Pod, grace_s: int | None = None) -> None: ...
    def secret(self, namespace: str, name: str) -> dict | None: ...
    def create_secret(self, namespace: str, name: str, *, type: str, string_data: dict[str, str],
                      labels: dict[str, str] | None = None) -> None: ...
    def delete_secret(self, namespace: str, name: str) -> None: ...  # missing is not an error
    def secrets(self, namespace: str, field_selector: str | None = None) -> list[dict]: ...


class IdentityVerifier(Protocol):
    def verify(self, authorization: str | None, role: Role) -> Caller: ...  # Unauthenticated / Forbidden
