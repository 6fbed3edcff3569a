"""What the preempt benchmark observes, and the figures it reports (see tests/bench/preempt.py).

`Observer` wraps KubeSim's request dispatcher and the simulated IMDS acknowledgement, so every
figure comes from what the stand-ins served, never from the app's own account of itself. The
file name starts with `_` so that `tasks.py bench` does not list it as a benchmark.
"""
from __future__ import annotations

import math
import statistics
import threading
import time
from collections import Counter

from agent import watch
from sim.kube import routes
from sim.kube.wire import ApiError
from tests.bench.common import percentile

PASSWORD = ".node-password.k3s"
ACK_SPARE_S = watch.DRAIN_POLL_MAX_S + 1.0  # the longest an agent takes to hear that its drain is done, and ack
# Counts that must stay at zero and ratios that must stay at 1.0 report the worst run; the eviction
# ratio (its target is over many runs) reports the mean of the runs.
WORST_HIGH = ("missed_deadlines", "acked_with_pods_left", "deleted_after_deadline", "lost_events",
              "duplicate_actions", "duplicate_drains")
WORST_LOW = ("forwarded_ratio", "rows_consistent")
MEAN = ("evicted_before_deadline_ratio", "pods_gone_before_vm_stopped_ratio")


class Observer:
    """What the control plane did to which Node and pod, and when each event was acknowledged."""

    def __init__(self, sim, nodes: set[str]):
        self.sim, self.kube, self.nodes, self._lock = sim, sim.kube, nodes, threading.Lock()
        self.cordoned: dict[str, float] = {}
        self.deleted: dict[str, float] = {}
        self.node_deletes, self.secret_deletes, self.evicted = Counter(), Counter(), Counter()
        self.evictions: dict[str, tuple[str, float]] = {}  # pod uid -> (node, first eviction time)
        self.acked: dict[str, float] = {}  # event id -> first StartRequests time
        self.after_delete: Counter = Counter()
        self.refusals = 0
        self.stopped: dict[str, float] = {}  # node -> when Azure began taking its VM away (kubelet gone)
        self.gone: dict[str, tuple[str, float]] = {}  # pod uid -> (node, when it left the API)
        self._original = routes.dispatch
        self._acknowledge = sim.world.acknowledge
        self._evict_vm, self._finish = sim.world._evict, self.kube.cluster.pods.finish
        routes.dispatch = self._dispatch
        sim.world.acknowledge = self._ack  # instance attributes: IMDS calls world.acknowledge(...), the
        sim.world._evict = self._vm_stops  # world stops a VM through self._evict, the kubelet and pod GC
        self.kube.cluster.pods.finish = self._pod_gone  # end a pod through pods.finish

    def close(self) -> None:
        routes.dispatch = self._original
        del self.sim.world.acknowledge, self.sim.world._evict, self.kube.cluster.pods.finish

    def _vm_stops(self, vm, now):
        if vm.computer_name in self.nodes:
            self.stopped.setdefault(vm.computer_name, time.time())
        return self._evict_vm(vm, now)

    def _pod_gone(self, pod: dict) -> None:
        node = (pod.get("spec") or {}).get("nodeName") or ""
        owner = ((pod["metadata"].get("ownerReferences") or [{}])[0]).get("kind")
        if node in self.nodes and owner != "DaemonSet":
            self.gone.setdefault(pod["metadata"]["uid"], (node, time.time()))
        return self._finish(pod)

    def _ack(self, which, event_ids):
        now = time.time()
        with self._lock:
            for event_id in event_ids:
                self.acked.setdefault(event_id, now)
        return self._acknowledge(which, event_ids)

    def _dispatch(self, sim, res, verb, args, req, body_of):
        """KubeSim's dispatcher takes the resource the URL names and the raw request (sim/kube/routes.py)."""
        route = "eviction" if args.get("sub") == "eviction" else "item" if args.get("name") else "collection"
        args = {**args, "resource": res.name}
        body = body_of(req) if verb == "PATCH" and res.name == "nodes" else None
        pod = self._pod(args) if route == "eviction" else None
        try:
            code, out = self._original(sim, res, verb, args, req, body_of)
        except ApiError as err:
            self._saw(route, verb, args, req.query, body, pod, err.code)
            raise
        self._saw(route, verb, args, req.query, body, pod, code)
        return code, out

    def _pod(self, args: dict) -> tuple[str, str] | None:
        """(uid, node): one dict read (atomic under the GIL), no second wait for the cluster lock."""
        pod = self.kube.cluster.store.find("pods", args.get("ns"), args.get("name"))
        return (pod["metadata"]["uid"], (pod.get("spec") or {}).get("nodeName") or "") if pod else None

    def _saw(self, route, verb, args, query, body, pod, code) -> None:
        now, resource, name = time.time(), args.get("resource"), args.get("name", "")
        with self._lock:
            if route == "item" and resource == "nodes" and name in self.nodes:
                if verb == "DELETE":
                    self.node_deletes[name] += 1
                    if code == 200:
                        self.deleted.setdefault(name, now)
                elif name in self.deleted:
                    self.after_delete[name] += 1
                elif verb == "PATCH" and code == 200 and ((body or {}).get("spec") or {}).get("unschedulable"):
                    self.cordoned.setdefault(name, now)
            elif route == "item" and resource == "secrets" and verb == "DELETE" and name.endswith(PASSWORD):
                self.secret_deletes[name] += 1
            elif route == "eviction":
                if code == 201 and pod:
                    self.evicted[pod[0]] += 1
                    self.evictions.setdefault(pod[0], (pod[1], now))
                self.refusals += code == 429
            elif route == "collection" and resource == "pods" and verb == "GET":
                node = (query.get("fieldSelector") or "").partition("spec.nodeName=")[2]
                if node in self.deleted:
                    self.after_delete[node] += 1

    def duplicates(self) -> int:
        extra = sum(n - 1 for counter in (self.node_deletes, self.secret_deletes, self.evicted)
                    for n in counter.values() if n > 1)
        return extra + len(self.after_delete)

    def extra_drains(self, node: str) -> int:
        """Drains beyond the first that reached a Node: each ends in a Node DELETE; a late one that
        finds the Node gone still lists its pods (counted in after_delete)."""
        return max(self.node_deletes[node] - 1, 1 if self.after_delete[node] else 0)

    def evicted_on(self, node: str, by: float = math.inf) -> int:
        return sum(1 for where, when in self.evictions.values() if where == node and when <= by)

    def gone_from(self, node: str, by: float = math.inf) -> int:
        """Pods of `node` that left the API by `by` (their kubelet stopped them, or the pod GC took them)."""
        return sum(1 for where, when in self.gone.values() if where == node and when < by)


def figures(events: list[dict], observer: Observer, rows: dict, pods: dict[str, int]) -> dict:
    """One run's figures. `pods`: evictable pods seeded per node; `rows`: GET /api/nodes by name."""
    cordoned, deleted = observer.cordoned, observer.deleted
    cordon = [(cordoned[e["node"]] - e["appeared"]) * 1000 for e in events if e["node"] in cordoned]
    drained = [deleted[e["node"]] - e["appeared"] for e in events if e["node"] in deleted]
    heard = [e for e in events if e["node"] in cordoned or e["node"] in deleted
             or rows.get(e["node"], {}).get("last_event_id") == e["event_id"]]
    evictable = sum(pods.get(e["node"], 0) for e in events)
    in_time = sum(observer.evicted_on(e["node"], by=e["not_before"]) for e in events)
    gone_in_time = sum(min(pods.get(e["node"], 0), observer.gone_from(e["node"], observer.stopped.get(e["node"],
                                                                                                     math.inf)))
                       for e in events)
    consistent = sum(1 for e in events if _row_consistent(e, rows.get(e["node"], {}), observer, pods))
    acked = {e["event_id"]: observer.acked.get(e["event_id"], math.inf) for e in events}
    return {
        "events": len(events),
        "forwarded_ratio": len(heard) / len(events) if events else None,
        "cordon_p50_ms": statistics.median(cordon) if cordon else None,
        "cordon_p99_ms": percentile(cordon, 99) if cordon else None,
        "drained_p50_s": statistics.median(drained) if drained else None,
        "drained_p99_s": percentile(drained, 99) if drained else None,
        "evicted_before_deadline_ratio": in_time / evictable if evictable else None,
        "pods_gone_before_vm_stopped_ratio": gone_in_time / evictable if evictable else None,
        # an event drained (every pod gone, Node deleted) with time to spare, yet not acknowledged by NotBefore
        "missed_deadlines": sum(1 for e in events if deleted.get(e["node"], math.inf) < e["not_before"] - ACK_SPARE_S
                                and observer.gone_from(e["node"]) >= pods.get(e["node"], 0)
                                and acked[e["event_id"]] > e["not_before"]),
        # an acknowledgement sent while pods of the node were still on it: time given away (must stay 0)
        "acked_with_pods_left": sum(1 for e in events if acked[e["event_id"]] < math.inf
                                    and observer.gone_from(e["node"], acked[e["event_id"]]) < pods.get(e["node"], 0)),
        "deleted_after_deadline": sum(1 for e in events if deleted.get(e["node"], math.inf) > e["not_before"]),
        "lost_events": sum(1 for e in events if e["node"] not in cordoned and e["node"] not in deleted),
        "duplicate_drains": sum(observer.extra_drains(e["node"]) for e in events),
        "duplicate_actions": observer.duplicates(),
        "rows_consistent": consistent / len(events) if events else None,
        "pods_evicted": sum(observer.evicted.values()),
        "pdb_refusals": observer.refusals,
    }


def _row_consistent(event: dict, row: dict, observer: Observer, pods: dict[str, int]) -> bool:
    """The registry's outcome is what happened: this event, `deleted` exactly when the Node was
    deleted, and pods_left equal to the evictable pods that were never evicted."""
    node = event["node"]
    if row.get("last_event_id") != event["event_id"]:
        return False
    if (row.get("state") == "deleted") != (node in observer.deleted):
        return False
    return row.get("pods_left") == pods.get(node, 0) - observer.evicted_on(node)


def combine(runs: list[dict]) -> dict:
    """Medians of the timings over runs; the worst run or the mean for the figures with a target."""
    out = {"runs": len(runs)}
    for key in runs[0]:
        values = [r[key] for r in runs if r[key] is not None]
        if not values:
            out[key] = None
        elif key in WORST_HIGH:
            out[key] = max(values)
        elif key in WORST_LOW:
            out[key] = min(values)
        elif key in MEAN:
            out[key] = statistics.fmean(values)
        elif all(isinstance(v, int) for v in values):
            out[key] = statistics.median_low(values)
        else:
            out[key] = statistics.median(values)
    return out
