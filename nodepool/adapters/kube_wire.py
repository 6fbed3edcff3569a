"""Kubernetes JSON → our model: Node, Pod and secrets as plain dicts. Pure functions."""
from __future__ import annotations

import base64
from datetime import datetime

from nodepool.core.model import Node, Pod, Taint
from nodepool.core.quantity import quantity

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


def timestamp(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None


def node_from(obj: dict) -> Node:
    meta, spec, status = obj.get("metadata", {}), obj.get("spec", {}), obj.get("status", {})
    ready: dict = next((c for c in status.get("conditions") or () if c.get("type") == "Ready"), {})
    allocatable = status.get("allocatable") or {}
    return Node(
        name=meta.get("name", ""), provider_id=spec.get("providerID", ""),
        ready={"True": True, "False": False}.get(str(ready.get("status"))),
        ready_since=timestamp(ready.get("lastTransitionTime")),
        unschedulable=bool(spec.get("unschedulable")), labels=dict(meta.get("labels") or {}),
        taints=tuple(Taint(t.get("key", ""), t.get("value", ""), t.get("effect", "NoSchedule"))
                     for t in spec.get("taints") or ()),
        resource_version=meta.get("resourceVersion", ""), uid=meta.get("uid", ""),
        created_at=timestamp(meta.get("creationTimestamp")),
        allocatable_cpu_m=round(quantity(allocatable.get("cpu", 0)) * 1000),
        allocatable_memory_b=round(quantity(allocatable.get("memory", 0))))


def pod_from(obj: dict) -> Pod:
    meta, spec = obj.get("metadata", {}), obj.get("spec", {})
    refs = meta.get("ownerReferences") or ()
    owner = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
    cpu = memory = 0.0
    for container in spec.get("containers") or ():
        asked = (container.get("resources") or {}).get("requests") or {}  # not named `requests`: bandit B113
        cpu += quantity(asked.get("cpu", 0))
        memory += quantity(asked.get("memory", 0))
    return Pod(
        name=meta.get("name", ""), namespace=meta.get("namespace", ""), node=spec.get("nodeName") or None,
        phase=(obj.get("status") or {}).get("phase", "Unknown"), owner_kind=owner.get("kind") if owner else None,
        mirror=MIRROR_ANNOTATION in (meta.get("annotations") or {}), cpu_m=round(cpu * 1000),
        memory_b=round(memory), created_at=timestamp(meta.get("creationTimestamp")),
        terminating=bool(meta.get("deletionTimestamp")), grace_s=_grace(spec.get("terminationGracePeriodSeconds")),
        deleting_at=timestamp(meta.get("deletionTimestamp")))


def _grace(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def secret_from(obj: dict) -> dict:
    """{name, namespace, type, labels, data (decoded text), created_at, resource_version, uid}."""
    meta = obj.get("metadata", {})
    data = {}
    for key, value in (obj.get("data") or {}).items():
        raw = base64.b64decode(value or "")
        data[key] = raw.decode("utf-8", errors="replace")
    return {"name": meta.get("name", ""), "namespace": meta.get("namespace", ""), "type": obj.get("type", "Opaque"),
            "labels": dict(meta.get("labels") or {}), "data": data,
            "created_at": timestamp(meta.get("creationTimestamp")),
            "resource_version": meta.get("resourceVersion", ""), "uid": meta.get("uid", "")}


def taint_to_wire(taint: Taint) -> dict:
    out = {"key": taint.key, "effect": taint.effect}
    if taint.value:
        out["value"] = taint.value
    return out
