"""Kubernetes JSON → the autoscaler's views (NodeView, PodView, Budget). Pure functions.

What a pod asks for is what the scheduler reserves: per resource, the larger of the sum over
containers and the largest init container, plus spec.overhead; an extended resource
(`nvidia.com/gpu`) given only as a limit is also its request, as the API server defaults it.
A PDB whose selector uses matchExpressions is read as selecting every pod of its namespace:
a budget we cannot evaluate exactly must keep more nodes, never fewer.
"""
from __future__ import annotations

from nodepool.adapters.kube_wire import MIRROR_ANNOTATION, timestamp
from nodepool.autoscale.model import (
    SAFE_TO_EVICT,
    SCALE_DOWN_DISABLED,
    Budget,
    NodeView,
    PodView,
    Resources,
    Toleration,
)
from nodepool.core.model import Taint
from nodepool.core.quantity import quantity

GPU = "nvidia.com/gpu"
FINISHED = ("Succeeded", "Failed")


def resources(values: dict) -> Resources:
    return Resources(round(quantity(values.get("cpu", 0)) * 1000), round(quantity(values.get("memory", 0))),
                     int(quantity(values.get(GPU, 0))))


def _asks(container: dict) -> Resources:
    res = container.get("resources") or {}
    asked, limits = res.get("requests") or {}, res.get("limits") or {}  # not `requests`: bandit B113
    gpu = asked.get(GPU, limits.get(GPU, 0))
    return resources({**asked, GPU: gpu})


def _larger(a: Resources, b: Resources) -> Resources:
    return Resources(max(a.cpu_m, b.cpu_m), max(a.memory_b, b.memory_b), max(a.gpu, b.gpu))


def pod_requests(spec: dict) -> Resources:
    total = sum((_asks(c) for c in spec.get("containers") or ()), Resources())
    for init in spec.get("initContainers") or ():
        total = _larger(total, _asks(init))
    return total + resources(spec.get("overhead") or {})


def _unschedulable(obj: dict) -> bool:
    status = obj.get("status") or {}
    if (obj.get("spec") or {}).get("nodeName") or status.get("phase") != "Pending":
        return False
    return any(c.get("type") == "PodScheduled" and c.get("status") == "False" and c.get("reason") == "Unschedulable"
               for c in status.get("conditions") or ())


def pod_view(obj: dict) -> PodView | None:
    """None for a finished pod: it holds no room and nothing moves it."""
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    if (obj.get("status") or {}).get("phase") in FINISHED:
        return None
    refs = meta.get("ownerReferences") or ()
    owner = next((r for r in refs if r.get("controller")), None)
    annotations = meta.get("annotations") or {}
    volumes = spec.get("volumes") or ()
    return PodView(
        name=meta.get("name", ""), namespace=meta.get("namespace", ""), node=spec.get("nodeName") or None,
        requests=pod_requests(spec), unschedulable=_unschedulable(obj),
        node_selector=tuple(sorted((spec.get("nodeSelector") or {}).items())),
        tolerations=tuple(Toleration(t.get("key", ""), t.get("operator", "Equal"), t.get("value", ""),
                                     t.get("effect", "")) for t in spec.get("tolerations") or ()),
        labels=tuple(sorted((meta.get("labels") or {}).items())), owner_kind=owner.get("kind") if owner else None,
        mirror=MIRROR_ANNOTATION in annotations,
        local_storage=any("emptyDir" in v or "hostPath" in v for v in volumes),
        safe_to_evict=annotations.get(SAFE_TO_EVICT))


def node_view(obj: dict) -> NodeView:
    """Pool and instance id stay empty: the service fills them in from ARM's listing, never from labels."""
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    ready: dict = next((c for c in status.get("conditions") or () if c.get("type") == "Ready"), {})
    return NodeView(
        name=meta.get("name", ""), pool="", instance_id="", allocatable=resources(status.get("allocatable") or {}),
        ready=ready.get("status") == "True", unschedulable=bool(spec.get("unschedulable")),
        labels=tuple(sorted((meta.get("labels") or {}).items())),
        taints=tuple(Taint(t.get("key", ""), t.get("value", ""), t.get("effect", "NoSchedule"))
                     for t in spec.get("taints") or ()),
        scale_down_disabled=(meta.get("annotations") or {}).get(SCALE_DOWN_DISABLED) == "true",
        written_at=max(filter(None, (timestamp(meta.get("creationTimestamp")),
                                     timestamp(ready.get("lastTransitionTime")))), default=None))


def budget(obj: dict) -> Budget:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    selector = spec.get("selector") or {}
    labels = () if selector.get("matchExpressions") else tuple(sorted((selector.get("matchLabels") or {}).items()))
    return Budget(meta.get("namespace", ""), labels, int(status.get("disruptionsAllowed") or 0))
