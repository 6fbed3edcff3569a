"""Verbs on collections and items of the simulated API: list (selectors, limit/continue, watch,
Table), get, create, patch, replace, delete (gracePeriodSeconds, preconditions) and eviction.

`dispatch` gets the resource the URL names (sim/kube/discovery.py) and the raw request; a
body is decoded only by a verb that takes one.
"""
from __future__ import annotations

import json

from sim.kube import disruption, tables, watch, workloads
from sim.kube.patch import apply_patch
from sim.kube.protobuf import MEDIA_TYPE, access_review
from sim.kube.select import field_matcher, field_terms, label_matcher
from sim.kube.wire import ApiError

STORED = ("nodes", "pods", "secrets", "poddisruptionbudgets", "deployments")
NOT_ALLOWED = ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")


def dispatch(sim, res, verb: str, args: dict, req, body_of):
    cluster, resource = sim.cluster, res.name
    ns, name, sub = args.get("ns"), args.get("name"), args.get("sub")
    if sub == "eviction" and resource == "pods" and verb == "POST":
        return 201, disruption.evict(cluster, ns, name, body_of(req) or {})
    if sub:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    if resource == "selfsubjectaccessreviews" and verb == "POST" and not name:
        protobuf = req.headers.get("Content-Type", "").startswith(MEDIA_TYPE)
        return 201, workloads.access_review(access_review(req.body) if protobuf else body_of(req))
    if verb == "GET":
        return read(sim, resource, ns, name, req)
    if verb == "POST" and not name and ns and resource in ("secrets", "poddisruptionbudgets", "pods", "deployments"):
        return 201, create(sim, resource, ns, _object(body_of(req), resource), req.query)
    if verb == "DELETE" and name and resource in STORED:
        return 200, delete(cluster, resource, ns, name, body_of(req) or {}, req.query)
    content_type = req.headers.get("Content-Type", "")
    if verb == "PATCH" and name and resource == "nodes":
        return 200, cluster.patch_node(name, _patch(body_of(req), resource), content_type)
    if verb == "PATCH" and name and resource == "pods":
        return 200, patch_pod_metadata(cluster, ns, name, _patch(body_of(req), resource), content_type)
    if verb == "PUT" and name and resource == "nodes":
        return 200, cluster.replace_node(name, _object(body_of(req), resource))
    if verb == "PATCH" and name and resource == "deployments":
        with cluster.lock:
            return workloads.patch_deployment(cluster, ns, name, _patch(body_of(req), resource), content_type,
                                              req.query.get("fieldManager", ""))
    if verb == "PUT" and name and resource == "deployments":
        with cluster.lock:
            return 200, workloads.write_deployment(cluster, cluster.store.get("deployments", ns, name),
                                                   _object(body_of(req), resource))
    raise NOT_ALLOWED


def patch_pod_metadata(cluster, ns: str, name: str, body, content_type: str) -> dict:
    """`kubectl label/annotate pod`: labels and annotations change; the rest of a pod is the simulation's."""
    with cluster.lock:
        pod = cluster.store.get("pods", ns, name)
        meta = apply_patch(pod, body, content_type).get("metadata") or {}
        if meta.get("resourceVersion", pod["metadata"]["resourceVersion"]) != pod["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on pods "{name}": the object has been '
                                            "modified; please apply your changes to the latest version and try again",
                           {"name": name, "kind": "pods"})
        for key in ("labels", "annotations"):
            if meta.get(key):
                pod["metadata"][key] = meta[key]
            else:
                pod["metadata"].pop(key, None)
        return cluster.store.touch("pods", pod)


def create(sim, resource: str, ns: str, body: dict, query: dict) -> dict:
    cluster = sim.cluster
    if body.get("metadata", {}).get("namespace", ns) != ns:
        raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the namespace "
                                          "sent on the request")
    if resource == "deployments":
        with cluster.lock:
            return workloads.create_deployment(cluster, ns, body, query.get("fieldManager", ""))
    make = {"secrets": cluster.create_secret, "poddisruptionbudgets": cluster.create_pdb, "pods": sim.create_pod}
    return _out(cluster, resource, make[resource](ns, body))


def read(sim, resource: str, ns: str | None, name: str | None, req):
    cluster, query = sim.cluster, req.query
    cluster.store.watched = True  # from here on a client may watch from what it read
    as_table = tables.wants_table(req.headers.get("Accept", ""))
    if not name and query.get("watch") in ("true", "1") and resource in STORED:
        match = _matcher(resource, query)
        table_of = watch.table_converter(resource, query, cluster.clock) if as_table else None
        return 200, watch.stream(sim, resource, ns, query, match, table_of)
    with cluster.lock:
        if resource in workloads.OWNER_KIND:
            found = workloads.owner_object(cluster, resource, ns, name) if name else \
                workloads.owner_objects(cluster, resource, ns)
        elif resource == "namespaces":
            found = workloads.namespaces(cluster)
            if name:
                found = next((n for n in found if n["metadata"]["name"] == name), None)
                if found is None:
                    raise ApiError(404, "NotFound", f'namespaces "{name}" not found', {"name": name,
                                                                                     "kind": "namespaces"})
        elif resource == "events":
            found = []
        elif name:
            found = _out(cluster, resource, cluster.store.get(resource, ns, name))
        else:
            return 200, _table_of_list(cluster, resource, list_objects(sim, resource, ns, query), query) \
                if as_table else list_objects(sim, resource, ns, query)
        rv = str(cluster.store.rv)
    if isinstance(found, dict):
        return 200, tables.table(resource, [found], {"resourceVersion": rv}, query.get("includeObject"),
                                 cluster.clock()) if as_table else found
    if as_table:
        return 200, tables.table(resource, found, {"resourceVersion": rv}, query.get("includeObject"), cluster.clock())
    kind = found[0]["kind"] if found else resource.capitalize()
    return 200, {"kind": f"{kind}List", "apiVersion": "apps/v1" if resource in workloads.OWNER_KIND else "v1",
                 "metadata": {"resourceVersion": rv}, "items": found}


def _table_of_list(cluster, resource: str, listed: bytes, query: dict) -> dict:
    body = json.loads(listed)
    return tables.table(resource, body["items"], body["metadata"], query.get("includeObject"), cluster.clock())


def _object(body, resource: str):
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequest", f"the body of the request for {resource} is empty or not an object")
    return body


def _patch(body, resource: str):
    """A merge patch is an object, a JSON patch a list of operations."""
    if not isinstance(body, (dict, list)):
        raise ApiError(400, "BadRequest", f"the body of the patch for {resource} is empty or not JSON")
    return body


def _out(cluster, resource: str, obj: dict) -> dict:
    return disruption.with_status(cluster, obj) if resource == "poddisruptionbudgets" else obj


def _matcher(resource: str, query: dict):
    labels = label_matcher(query.get("labelSelector"))
    fields = field_matcher(field_terms(resource, query.get("fieldSelector")))
    if labels is None and fields is None:
        return None
    return lambda obj: (labels is None or labels(obj["metadata"].get("labels") or {})) and (
        fields is None or fields(obj))


def list_objects(sim, resource: str, ns: str | None, query: dict) -> bytes:
    cluster = sim.cluster
    terms = field_terms(resource, query.get("fieldSelector"))
    match = _matcher(resource, query)
    node = next((value for path, equal, value in terms if path == "spec.nodeName" and equal), None)
    try:
        limit = int(query.get("limit") or 0)
    except ValueError as err:
        raise ApiError(400, "BadRequest", "limit must be an integer") from err
    with cluster.lock:
        store = cluster.store
        keys = store.candidate_keys(resource, ns, node)
        items, cont = store.page(resource, keys, match, limit, query.get("continue"))
        if resource == "poddisruptionbudgets":
            items = [json.dumps(_out(cluster, resource, json.loads(i))).encode() for i in items]
        meta = {"resourceVersion": str(store.rv)}
    if cont:
        meta["continue"] = cont
    kind = {"poddisruptionbudgets": "PodDisruptionBudget", "deployments": "Deployment"}.get(
        resource, resource[:-1].capitalize())
    api = {"poddisruptionbudgets": "policy/v1", "deployments": "apps/v1"}.get(resource, "v1")
    head = json.dumps({"kind": f"{kind}List", "apiVersion": api, "metadata": meta}, separators=(",", ":"))[:-1]
    return head.encode() + b',"items":[' + b",".join(items) + b"]}"


def delete(cluster, resource: str, ns: str | None, name: str, options: dict, query: dict) -> dict:
    grace = options.get("gracePeriodSeconds", query.get("gracePeriodSeconds"))
    with cluster.lock:
        obj = cluster.store.get(resource, ns, name)
        pre = options.get("preconditions") or {}
        for field in ("uid", "resourceVersion"):
            if pre.get(field) and pre[field] != obj["metadata"][field]:
                raise ApiError(409, "Conflict", f"Precondition failed: {field} in precondition: {pre[field]}, "
                                                f"{field} in object meta: {obj['metadata'][field]}",
                               {"name": name, "kind": resource})
        if resource == "nodes":
            return cluster.delete_node(name)
        if resource == "pods":
            return cluster.pods.delete(ns, name, None if grace is None else int(grace))
        return cluster.store.remove(resource, ns, name)


def chaos(sim, verb: str, body) -> dict:
    """POST /_sim/chaos {"action": "fail|slow|hang|clear", ...}; GET returns the fault counters."""
    if verb == "POST":
        body = dict(body or {})
        action = body.pop("action", "")
        if action == "clear":
            sim.faults.clear()
        elif action in ("fail", "slow", "hang"):
            try:
                getattr(sim.faults, action)(**body)
            except TypeError as err:
                raise ApiError(400, "BadRequest", str(err)) from err
        else:
            raise ApiError(400, "BadRequest", "action must be fail, slow, hang or clear")
    return {"faults": dict(sim.faults.counts), "requests": dict(sim.requests)}
