"""meta.k8s.io/v1 Table output, what `kubectl get` asks for (`Accept: ...;as=Table;g=meta.k8s.io;v=v1`).

Columns as a v1.30 server prints them: nodes NAME STATUS ROLES AGE VERSION (-o wide adds
INTERNAL-IP ... CONTAINER-RUNTIME), pods NAME READY STATUS RESTARTS AGE (wide: IP NODE ...),
poddisruptionbudgets NAME MIN AVAILABLE MAX UNAVAILABLE ALLOWED DISRUPTIONS AGE (checked against
a real kube-apiserver in tests/control_plane/), anything else NAME AGE. Rows carry the object's
metadata (PartialObjectMetadata), or the whole object with `includeObject=Object`.
"""
from __future__ import annotations

import calendar
import time


def wants_table(accept: str) -> bool:
    return "as=Table" in (accept or "")


def _column(name: str, kind: str = "string", priority: int = 0, fmt: str = "") -> dict:
    return {"name": name, "type": kind, "format": fmt, "description": name, "priority": priority}


NAME = _column("Name", fmt="name")
AGE = _column("Age")
COLUMNS = {
    "nodes": [NAME, _column("Status"), _column("Roles"), AGE, _column("Version"), _column("Internal-IP", priority=1),
              _column("External-IP", priority=1), _column("OS-Image", priority=1),
              _column("Kernel-Version", priority=1), _column("Container-Runtime", priority=1)],
    "pods": [NAME, _column("Ready"), _column("Status"), _column("Restarts", "string"), AGE,
             _column("IP", priority=1), _column("Node", priority=1), _column("Nominated Node", priority=1),
             _column("Readiness Gates", priority=1)],
    "poddisruptionbudgets": [NAME, _column("Min Available"), _column("Max Unavailable"),
                             _column("Allowed Disruptions", "integer"), AGE],
}


def age(stamp: str | None, now: float) -> str:
    if not stamp:
        return "<unknown>"
    seconds = max(0, int(now - calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * 2:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _node_cells(node: dict, now: float) -> list:
    spec, status, labels = node.get("spec", {}), node.get("status", {}), node["metadata"].get("labels") or {}
    ready = next((c for c in status.get("conditions", ()) if c["type"] == "Ready"), None)
    state = "Ready" if ready and ready["status"] == "True" else "NotReady" if ready else "Unknown"
    if spec.get("unschedulable"):
        state += ",SchedulingDisabled"
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    info = status.get("nodeInfo", {})
    address = {a["type"]: a["address"] for a in status.get("addresses", ())}
    return [node["metadata"]["name"], state, ",".join(roles) or "<none>", age(node["metadata"].get("creationTimestamp"),
            now), info.get("kubeletVersion", ""), address.get("InternalIP", "<none>"),
            address.get("ExternalIP", "<none>"), info.get("osImage", ""), info.get("kernelVersion", "<unknown>"),
            info.get("containerRuntimeVersion", "")]


def _pod_cells(pod: dict, now: float) -> list:
    status, meta = pod.get("status", {}), pod["metadata"]
    containers = pod.get("spec", {}).get("containers", ())
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", ()))
    phase = "Terminating" if meta.get("deletionTimestamp") else status.get("phase", "Unknown")
    return [meta["name"], f"{len(containers) if ready else 0}/{len(containers)}", phase, "0",
            age(meta.get("creationTimestamp"), now), status.get("podIP", "<none>"),
            pod.get("spec", {}).get("nodeName") or "<none>", "<none>", "<none>"]


def _pdb_cells(pdb: dict, now: float) -> list:
    spec = pdb.get("spec", {})
    return [pdb["metadata"]["name"], str(spec.get("minAvailable", "N/A")), str(spec.get("maxUnavailable", "N/A")),
            (pdb.get("status") or {}).get("disruptionsAllowed", 0), age(pdb["metadata"].get("creationTimestamp"), now)]


def _row(resource: str, obj: dict, include: str, now: float) -> dict:
    if resource == "nodes":
        cells = _node_cells(obj, now)
    elif resource == "pods":
        cells = _pod_cells(obj, now)
    elif resource == "poddisruptionbudgets":
        cells = _pdb_cells(obj, now)
    else:
        cells = [obj["metadata"]["name"], age(obj["metadata"].get("creationTimestamp"), now)]
    if include == "Object":
        row_object = obj
    else:
        row_object = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}
    return {"cells": cells, "object": row_object}


def table(resource: str, objects: list[dict], meta: dict, include: str | None, now: float) -> dict:
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": COLUMNS.get(resource, [NAME, AGE]),
            "rows": [_row(resource, obj, include or "Metadata", now) for obj in objects]}
