"""The control loops of the simulated cluster: scheduler and node lifecycle.

- Scheduler: binds Pending pods to Ready, schedulable nodes whose taints they tolerate and
  whose allocatable cpu/memory still fits their requests (least-allocated node first);
  pods that fit nowhere get PodScheduled=False/Unschedulable with the scheduler's message.
- Node lifecycle: a kubelet that stops heartbeating turns its node's Ready condition to
  Unknown after `grace_s` (node-monitor-grace-period), taints it unreachable and marks its
  pods not Ready; after `unreachable_eviction_s` (the default 300 s toleration) its pods
  are deleted (and stay Terminating, as nobody confirms). A kubelet that comes back clears it.
Heartbeats are not written every 10 s: like kubelets with node leases, the Node object only
changes on a transition, so resourceVersions stay stable while nothing happens.
"""
from __future__ import annotations

import threading
from collections import Counter

from sim.kube.pods import MIRROR
from sim.kube.wire import pod_requests, ready_condition, rfc3339

UNREACHABLE = "node.kubernetes.io/unreachable"


def ready_status(node: dict) -> str:
    return next((c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready"), "Unknown")


def tolerated(taint: dict, tolerations: list) -> bool:
    for tol in tolerations:
        if tol.get("effect") and tol["effect"] != taint["effect"]:
            continue
        if tol.get("operator") == "Exists" and (not tol.get("key") or tol["key"] == taint["key"]):
            return True
        if tol.get("key") == taint["key"] and tol.get("value", "") == taint.get("value", ""):
            return True
    return False


class Controllers:
    def __init__(self, cluster, tick_s: float = 0.05):
        self.c, self.tick_s = cluster, tick_s
        self.down: dict[str, float] = {}  # silent kubelets, not yet declared: since
        self.unreachable: dict[str, float] = {}  # declared Unknown at
        self._requests: dict[str, tuple[float, float]] = {}  # pod uid -> requests
        self._usage: dict[str, tuple[int, tuple[float, float]]] = {}  # node -> (store.node_changes, requested)
        self._tried_rv = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- node lifecycle -------------------------------------------------------------------
    def kubelet_changed(self, name: str, up: bool) -> None:
        now = self.c.clock()
        kubelet = self.c.kubelets[name]
        kubelet.up, kubelet.since = up, now
        node = self.c.store.find("nodes", None, name)
        if node is None:
            return
        if up:
            self.down.pop(name, None)
            self.unreachable.pop(name, None)
            if ready_status(node) != "True":
                self._set_ready(node, ready_condition("True", now), remove_taint=True)
                self.c.pods.set_ready(name, True)
            self.c.pods.kubelet_up(name)
            self.c.wake.set()
            return
        self.c.pods.kubelet_down(name)
        if name not in self.unreachable and ready_status(node) == "True":
            self.down.setdefault(name, now)
        elif name not in self.unreachable:  # registered silent: declared at once
            self._declare_unknown(name, now, now)
        self.c.wake.set()

    def forget_node(self, name: str) -> None:
        self.down.pop(name, None)
        self.unreachable.pop(name, None)

    def _set_ready(self, node: dict, condition: dict, remove_taint: bool, add: list | None = None) -> None:
        node["status"]["conditions"] = [c for c in node["status"]["conditions"] if c["type"] != "Ready"] + [condition]
        taints = [t for t in node["spec"].get("taints") or [] if not remove_taint or t["key"] != UNREACHABLE]
        taints += add or []
        if taints:
            node["spec"]["taints"] = taints
        else:
            node["spec"].pop("taints", None)
        self.c.store.touch("nodes", node)

    def _declare_unknown(self, name: str, since: float, now: float) -> None:
        node = self.c.store.find("nodes", None, name)
        self.down.pop(name, None)
        if node is None:
            return
        condition = ready_condition("Unknown", now)
        condition["lastHeartbeatTime"] = rfc3339(since)
        taints = [{"key": UNREACHABLE, "effect": "NoSchedule"},
                  {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": rfc3339(now)}]
        self._set_ready(node, condition, remove_taint=True, add=taints)
        self.c.pods.set_ready(name, False)
        self.unreachable[name] = now

    def tick(self) -> None:
        with self.c.lock:
            now = self.c.clock()
            for name, since in list(self.down.items()):
                if now - since >= self.c.grace_s:
                    self._declare_unknown(name, since, now)
            for name, at in list(self.unreachable.items()):
                if now - at >= self.c.unreachable_eviction_s:
                    del self.unreachable[name]
                    self._evict_unreachable(name)
            pods = self.c.store.tables["pods"].objs
            for key in self.c.pods.due(now):
                if key in pods:
                    self.c.pods.finish(pods[key])
            self.schedule()

    def _evict_unreachable(self, name: str) -> None:
        for key in sorted(self.c.store.pods_by_node.get(name, ())):
            pod = self.c.store.tables["pods"].objs[key]
            kind = (pod["metadata"].get("ownerReferences") or [{}])[0].get("kind")
            if kind != "DaemonSet" and MIRROR not in pod["metadata"].get("annotations", {}):
                self.c.pods.delete(pod["metadata"]["namespace"], pod["metadata"]["name"], None)

    # -- scheduler --------------------------------------------------------------------------
    def _used(self, pod: dict) -> tuple[float, float]:
        uid = pod["metadata"]["uid"]
        if uid not in self._requests:
            if len(self._requests) > 200_000:
                self._requests.clear()
            self._requests[uid] = pod_requests(pod)
        return self._requests[uid]

    def _node_used(self, name: str, objs: dict) -> tuple[float, float]:
        """What the pods bound to `name` request, summed again only when that node's pods changed:
        a full sum over every pod on every tick held the cluster lock for most of a mass eviction."""
        version = self.c.store.node_changes.get(name, 0)
        hit = self._usage.get(name)
        if hit is not None and hit[0] == version:
            return hit[1]
        cpu = mem = 0.0
        for key in self.c.store.pods_by_node.get(name, ()):
            used = self._used(objs[key])
            cpu, mem = cpu + used[0], mem + used[1]
        self._usage[name] = (version, (cpu, mem))
        return cpu, mem

    def schedule(self) -> None:
        store = self.c.store
        pending = sorted(store.pods_by_node.get("", ()))
        if not pending or store.rv == self._tried_rv:
            return
        objs, nodes, skipped = store.tables["pods"].objs, [], Counter()
        for node in store.items("nodes"):
            name = node["metadata"]["name"]
            if node["spec"].get("unschedulable"):
                skipped["node(s) were unschedulable"] += 1
            elif ready_status(node) != "True":
                skipped["node(s) were not ready"] += 1
            else:
                alloc = self.c.allocatable(node)
                used_cpu, used_mem = self._node_used(name, objs)
                nodes.append([node, alloc[0] - used_cpu, alloc[1] - used_mem, alloc])
        for key in pending:
            pod = objs[key]
            cpu, mem = self._used(pod)
            reasons, best = Counter(skipped), None
            for entry in nodes:
                node, free_cpu, free_mem, (alloc_cpu, alloc_mem) = entry
                bad = [t for t in node["spec"].get("taints") or ()
                       if t["effect"] in ("NoSchedule", "NoExecute") and not tolerated(t, pod["spec"]["tolerations"])]
                if bad:
                    reasons[f"node(s) had untolerated taint {{{bad[0]['key']}: {bad[0].get('value', '')}}}"] += 1
                elif free_cpu < cpu or free_mem < mem:
                    reasons["Insufficient cpu" if free_cpu < cpu else "Insufficient memory"] += 1
                elif best is None or (free_cpu / alloc_cpu + free_mem / alloc_mem) > best[0]:
                    best = ((free_cpu / alloc_cpu + free_mem / alloc_mem), entry)
            if best is None:
                self._unschedulable(pod, len(store.tables["nodes"].objs), reasons)
                continue
            entry = best[1]
            entry[1], entry[2] = entry[1] - cpu, entry[2] - mem
            name = entry[0]["metadata"]["name"]
            self._bind(pod, name)
            alloc_cpu, alloc_mem = entry[3]  # the bind changed the node's pods: its usage is known, keep it
            self._usage[name] = (store.node_changes.get(name, 0), (alloc_cpu - entry[1], alloc_mem - entry[2]))
        self._tried_rv = store.rv

    def _bind(self, pod: dict, node: str) -> None:
        pod["spec"]["nodeName"] = node
        stamp = rfc3339(self.c.clock())
        pod["status"]["conditions"] = [{"type": "PodScheduled", "status": "True", "lastTransitionTime": stamp}]
        self.c.store.touch("pods", pod)
        self.c.pods.start(pod)

    def _unschedulable(self, pod: dict, total: int, reasons: Counter) -> None:
        detail = ", ".join(f"{n} {why}" for why, n in sorted(reasons.items()))
        message = f"0/{total} nodes are available: {detail}." if detail else f"0/{total} nodes are available."
        cond = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}
        old = pod["status"].get("conditions") or [{}]
        if old[0].get("message") != message:
            pod["status"]["conditions"] = [{**cond, "lastTransitionTime": rfc3339(self.c.clock())}]
            self.c.store.touch("pods", pod)

    # -- the loop ---------------------------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="kubesim-controllers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.c.wake.set()
        if self._thread:
            self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.c.wake.wait(self.tick_s)
            self.c.wake.clear()
            if not self._stop.is_set():
                self.tick()
