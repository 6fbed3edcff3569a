"""Verbs on collections and items of the simulated API: list (selectors, limit/continue),
get, create, patch, replace, delete (gracePeriodSeconds, preconditions) and eviction.
"""
from __future__ import annotations

import json

from sim.kube import disruption
from sim.kube.select import field_matcher, field_terms, label_matcher
from sim.kube.wire import ApiError

LIST_KIND = {"nodes": ("NodeList", "v1"), "pods": ("PodList", "v1"), "secrets": ("SecretList", "v1"),
             "poddisruptionbudgets": ("PodDisruptionBudgetList", "policy/v1")}


def dispatch(sim, route: str, verb: str, args: dict, query: dict, body, content_type: str):
    cluster, resource = sim.cluster, args["resource"]
    ns, name = args.get("ns"), args.get("name")
    if route == "eviction" and verb == "POST":
        return 201, disruption.evict(cluster, ns, name, body or {})
    if route == "collection" and verb == "GET":
        return 200, list_objects(sim, resource, ns, query)
    if route == "collection" and verb == "POST" and ns:
        body = _object(body, resource)
        if body.get("metadata", {}).get("namespace", ns) != ns:
            raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the namespace "
                                              "sent on the request")
        create = {"secrets": cluster.create_secret, "poddisruptionbudgets": cluster.create_pdb,
                  "pods": sim.create_pod}[resource]
        return 201, _out(cluster, resource, create(ns, body))
    if route == "item" and verb == "GET":
        with cluster.lock:
            return 200, _out(cluster, resource, cluster.store.get(resource, ns, name))
    if route == "item" and verb == "DELETE":
        return 200, delete(cluster, resource, ns, name, body or {}, query)
    if route == "item" and resource == "nodes" and verb == "PATCH":
        return 200, cluster.patch_node(name, _object(body, resource), content_type)
    if route == "item" and resource == "nodes" and verb == "PUT":
        return 200, cluster.replace_node(name, _object(body, resource))
    raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")


def _object(body, resource: str):
    if body is None:
        raise ApiError(400, "BadRequest", f"the body of the request for {resource} is empty")
    return body


def _out(cluster, resource: str, obj: dict) -> dict:
    return disruption.with_status(cluster, obj) if resource == "poddisruptionbudgets" else obj


def list_objects(sim, resource: str, ns: str | None, query: dict) -> bytes:
    cluster = sim.cluster
    labels = label_matcher(query.get("labelSelector"))
    terms = field_terms(resource, query.get("fieldSelector"))
    fields = field_matcher(terms)
    node = next((value for path, equal, value in terms if path == "spec.nodeName" and equal), None)
    try:
        limit = int(query.get("limit") or 0)
    except ValueError as err:
        raise ApiError(400, "BadRequest", "limit must be an integer") from err

    def match(obj: dict) -> bool:
        return (labels is None or labels(obj["metadata"].get("labels") or {})) and (fields is None or fields(obj))
    with cluster.lock:
        store = cluster.store
        keys = store.candidate_keys(resource, ns, node)
        items, cont = store.page(resource, keys, match if labels or fields else None, limit, query.get("continue"))
        if resource == "poddisruptionbudgets":
            items = [json.dumps(_out(cluster, resource, json.loads(i))).encode() for i in items]
        meta = {"resourceVersion": str(store.rv)}
    if cont:
        meta["continue"] = cont
    kind, api = LIST_KIND[resource]
    head = json.dumps({"kind": kind, "apiVersion": api, "metadata": meta}, separators=(",", ":"))[:-1]
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
