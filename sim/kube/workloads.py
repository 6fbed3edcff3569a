"""apps/v1 and the other objects kubectl reads around nodes and pods.

- DaemonSets, ReplicaSets and StatefulSets are read-only views of the pod owners the
  simulation keeps (sim/kube/pods.py), with the uid the pods' ownerReferences carry, so
  `kubectl drain` finds the DaemonSet behind a pod.
- Deployments are stored objects: create (POST), server-side apply (PATCH
  application/apply-patch+yaml creates or merges), other patches, replace with a stale
  resourceVersion answered 409. They start no pods.
- Namespaces are those objects live in (plus the four k3s makes); Events are always empty.
- A SelfSubjectAccessReview is allowed: the only credential is the cluster admin's.
"""
from __future__ import annotations

import copy

from sim.kube.patch import apply_patch
from sim.kube.wire import ApiError, new_meta, not_found, rfc3339

OWNER_KIND = {"daemonsets": "DaemonSet", "replicasets": "ReplicaSet", "statefulsets": "StatefulSet"}
APPLY = "application/apply-patch+yaml"
BASE_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def owner_objects(cluster, resource: str, namespace: str | None) -> list[dict]:
    kind = OWNER_KIND[resource]
    owners = [o for (ns, k, _), o in sorted(cluster.pods.owners.items()) if k == kind and ns == (namespace or ns)]
    return [_owner_object(cluster, o) for o in owners]


def owner_object(cluster, resource: str, namespace: str, name: str) -> dict:
    owner = cluster.pods.owners.get((namespace, OWNER_KIND[resource], name))
    if owner is None:
        raise not_found(f"{resource}.apps", name)
    return _owner_object(cluster, owner)


def _owner_object(cluster, owner) -> dict:
    pods = [p for p in cluster.store.items("pods") if any(
        ref.get("uid") == owner.uid for ref in p["metadata"].get("ownerReferences", ()))]
    ready = sum(1 for p in pods if p["status"].get("phase") == "Running")
    meta = {"name": owner.name, "namespace": owner.namespace, "uid": owner.uid, "generation": 1,
            "resourceVersion": str(cluster.store.rv), "creationTimestamp": rfc3339(owner.created),
            "labels": dict(owner.labels)}
    template = {"metadata": {"labels": dict(owner.labels)},
                "spec": {"containers": [{"name": "main", "image": "registry.k8s.io/pause:3.9"}]}}
    spec = {"selector": {"matchLabels": dict(owner.labels)}, "template": template}
    if owner.kind == "DaemonSet":
        status = {"currentNumberScheduled": len(pods), "desiredNumberScheduled": len(pods), "numberMisscheduled": 0,
                  "numberReady": ready, "numberAvailable": ready, "updatedNumberScheduled": len(pods),
                  "observedGeneration": 1}
    else:
        spec["replicas"] = owner.replicas or len(pods)
        status = {"replicas": len(pods), "readyReplicas": ready, "availableReplicas": ready, "observedGeneration": 1}
        if owner.kind == "StatefulSet":
            spec["serviceName"] = owner.name
            status.update(currentReplicas=len(pods), updatedReplicas=len(pods))
    return {"kind": owner.kind, "apiVersion": "apps/v1", "metadata": meta, "spec": spec, "status": status}


def namespaces(cluster) -> list[dict]:
    names = set(BASE_NAMESPACES) | {k.split("/", 1)[0] for t in cluster.store.tables.values() for k in t.keys
                                    if "/" in k}
    return [{"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": n, "uid": f"ns-{n}",
             "creationTimestamp": rfc3339(0), "labels": {"kubernetes.io/metadata.name": n}},
             "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}} for n in sorted(names)]


def access_review(body: dict | None) -> dict:
    if not isinstance(body, dict) or not isinstance(body.get("spec"), dict):
        raise ApiError(400, "BadRequest", "a SelfSubjectAccessReview needs a spec")
    return {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None}, "spec": body["spec"],
            "status": {"allowed": True, "reason": "the simulated cluster has one credential: its admin's"}}


# -- Deployments --------------------------------------------------------------------------
def create_deployment(cluster, namespace: str, body: dict, manager: str = "", operation: str = "Update") -> dict:
    if not isinstance(body, dict) or not isinstance(body.get("spec"), dict) or "template" not in body["spec"]:
        raise ApiError(422, "Invalid", "Deployment.apps is invalid: spec.template: Required value")
    meta = body.get("metadata") or {}
    if meta.get("namespace", namespace) != namespace:
        raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the namespace sent "
                                          "on the request")
    obj = {"kind": "Deployment", "apiVersion": "apps/v1",
           "metadata": {**new_meta(meta.get("name", ""), namespace, meta.get("labels"), cluster.clock()),
                        "generation": 1},
           "spec": copy.deepcopy(body["spec"]), "status": {"observedGeneration": 1, "replicas": 0}}
    if meta.get("annotations"):
        obj["metadata"]["annotations"] = dict(meta["annotations"])
    _managed(obj, manager, operation, cluster.clock())
    return cluster.store.create("deployments", obj)


def patch_deployment(cluster, namespace: str, name: str, body, content_type: str, manager: str) -> tuple[int, dict]:
    old = cluster.store.find("deployments", namespace, name)
    if content_type.split(";")[0].strip() == APPLY:
        if old is None:
            return 201, create_deployment(cluster, namespace, body, manager or "kubectl", "Apply")
        new = apply_patch(old, body, "application/merge-patch+json")
        _managed(new, manager or "kubectl", "Apply", cluster.clock())
    elif old is None:
        raise not_found("deployments.apps", name)
    else:
        new = apply_patch(old, body, content_type)
    return 200, write_deployment(cluster, old, new)


def write_deployment(cluster, old: dict, new: dict) -> dict:
    meta, old_meta = new.setdefault("metadata", {}), old["metadata"]
    if meta.get("resourceVersion", old_meta["resourceVersion"]) != old_meta["resourceVersion"]:
        raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on deployments.apps "{old_meta["name"]}": '
                                        "the object has been modified; please apply your changes to the latest "
                                        "version and try again", {"name": old_meta["name"], "group": "apps",
                                                                  "kind": "deployments"})
    for immutable in ("name", "namespace", "uid", "creationTimestamp"):
        meta[immutable] = old_meta[immutable]
    if new.get("spec") != old.get("spec"):
        meta["generation"] = old_meta.get("generation", 1) + 1
    new["status"] = {**old.get("status", {}), "observedGeneration": meta.get("generation", 1)}
    new["kind"], new["apiVersion"] = "Deployment", "apps/v1"
    old.clear()
    old.update(new)
    return cluster.store.touch("deployments", old)


def _managed(obj: dict, manager: str, operation: str, now: float) -> None:
    if manager:
        obj["metadata"]["managedFields"] = [{"manager": manager, "operation": operation, "apiVersion": "apps/v1",
                                             "time": rfc3339(now), "fieldsType": "FieldsV1", "fieldsV1": {}}]
