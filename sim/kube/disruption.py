"""PodDisruptionBudgets and the policy/v1 Eviction subresource, as the API server decides.

- A pod that is Pending, finished or already terminating is evicted without a PDB check.
- More than one PDB selecting the pod: 500, "more than one PodDisruptionBudget".
- Otherwise the PDB's disruptionsAllowed (healthy − desiredHealthy, from minAvailable or
  maxUnavailable, percentages rounded up over the expected pods) must be > 0, else 429
  TooManyRequests with a DisruptionBudget cause. An unhealthy (not Ready) pod may go while
  the budget is met (unhealthyPodEvictionPolicy IfHealthyBudget, the default).
Expected pods are, as in the disruption controller, the replica counts of the controllers
owning the selected pods (bare pods and DaemonSets count as the pods that exist).
"""
from __future__ import annotations

import math

from sim.kube.select import label_matcher
from sim.kube.wire import ApiError, status_object

_COMPILED: dict[int, tuple[dict, tuple]] = {}  # id(spec) -> (spec, its selector): evictions ask per PDB


def _selector(spec: dict):
    """(matchLabels, matcher) of a PDB's selector, compiled once per stored spec (PDBs take no patches)."""
    hit = _COMPILED.get(id(spec))
    if hit is not None and hit[0] is spec:
        return hit[1]
    if len(_COMPILED) > 10_000:
        _COMPILED.clear()
    compiled = _COMPILED[id(spec)] = (spec, _compile(spec))
    return compiled[1]


def _compile(spec: dict):
    sel = spec.get("selector") or {}
    terms = [f"{k}={v}" for k, v in (sel.get("matchLabels") or {}).items()]
    for expr in sel.get("matchExpressions") or ():
        op, key, values = expr["operator"], expr["key"], ",".join(expr.get("values") or ())
        terms.append({"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": key,
                      "DoesNotExist": f"!{key}"}[op])
    return (sel.get("matchLabels") or {}), label_matcher(",".join(terms)) or (lambda labels: True)


def _budget_pods(cluster, pdb: dict) -> list[dict]:
    store, ns = cluster.store, pdb["metadata"]["namespace"]
    match_labels, match = _selector(pdb["spec"])
    if match_labels:
        sets = [store.pods_by_label.get((ns, k, v), set()) for k, v in match_labels.items()]
        keys = set.intersection(*sets)
    else:
        keys = store.candidate_keys("pods", ns, None)
    objs = store.tables["pods"].objs
    return [objs[k] for k in keys if k in objs and match(objs[k]["metadata"].get("labels") or {})]


def _healthy(pod: dict) -> bool:
    return pod["status"]["phase"] == "Running" and not pod["metadata"].get("deletionTimestamp") and any(
        c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", ()))


def _count(value, expected: int) -> int:
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * expected / 100)
    return int(value)


def _expected(cluster, pods: list[dict]) -> int:
    owners, bare = {}, 0
    for pod in pods:
        owner = cluster.pods.owner_of(pod)
        if owner is not None and owner.replicas > 0:
            owners[id(owner)] = owner.replicas
        elif not pod["metadata"].get("deletionTimestamp"):
            bare += 1
    return sum(owners.values()) + bare


def pdb_status(cluster, pdb: dict) -> dict:
    selected = _budget_pods(cluster, pdb)
    expected, healthy = _expected(cluster, selected), sum(map(_healthy, selected))
    spec = pdb["spec"]
    if "minAvailable" in spec:
        desired = _count(spec["minAvailable"], expected)
    else:
        desired = max(0, expected - _count(spec["maxUnavailable"], expected))
    allowed = max(0, healthy - desired)
    return {"observedGeneration": 1, "currentHealthy": healthy, "desiredHealthy": desired,
            "disruptionsAllowed": allowed, "expectedPods": expected,
            "conditions": [{"type": "DisruptionAllowed", "status": "True" if allowed else "False",
                            "reason": "SufficientPods" if allowed else "InsufficientPods"}]}


def with_status(cluster, pdb: dict) -> dict:
    return {**pdb, "status": pdb_status(cluster, pdb)}


def evict(cluster, namespace: str, name: str, body: dict) -> dict:
    """POST pods/<name>/eviction: delete the pod if its budget allows, else raise 429."""
    with cluster.lock:
        pod = cluster.store.get("pods", namespace, name)
        grace = (body.get("deleteOptions") or {}).get("gracePeriodSeconds")
        ignores_pdb = pod["metadata"].get("deletionTimestamp") or pod["status"]["phase"] != "Running"
        if not ignores_pdb:
            labels = pod["metadata"].get("labels") or {}
            budgets = [pdb for pdb in cluster.store.items("poddisruptionbudgets",
                                                          cluster.store.candidate_keys("poddisruptionbudgets",
                                                                                       namespace, None))
                       if _selector(pdb["spec"])[1](labels)]
            if len(budgets) > 1:
                raise ApiError(500, "InternalError", "This pod has more than one PodDisruptionBudget, which the "
                                                     "eviction subresource does not support.")
            if budgets:
                _check(cluster, budgets[0], pod)
        cluster.pods.delete(namespace, name, grace)
        return status_object(201)


def _check(cluster, pdb: dict, pod: dict) -> None:
    status = pdb_status(cluster, pdb)
    if not _healthy(pod) and status["currentHealthy"] >= status["desiredHealthy"]:
        return
    if status["disruptionsAllowed"] <= 0:
        cause = {"reason": "DisruptionBudget", "message": f"The disruption budget {pdb['metadata']['name']} needs "
                 f"{status['desiredHealthy']} healthy pods and has {status['currentHealthy']} currently"}
        raise ApiError(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.",
                       {"causes": [cause]})
