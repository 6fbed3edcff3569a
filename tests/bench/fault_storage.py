"""Storage and Kubernetes faults for tests/bench/faults.py: storage stopped and restarted during
joins and drains, the Kubernetes API cut off during drains.

`StorageCut` is a CountingProxy in front of Azurite's table endpoint that can be stopped after a
given number of requests (every later request has its connection dropped, as a storage restart
does) and restarted. Joins go through a dev host whose tables use it; drains run the production
DrainService in this process over it (the queue's redelivery is a loop here: up to
maxDequeueCount attempts, as host.json says).
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import requests

from localenv.counting_proxy import CountingProxy
from nodepool.core.errors import TransientError
from nodepool.core.model import NodeState
from nodepool.drain.state import DrainRequest
from nodepool.settings import Settings
from nodepool.wiring import Services

MAX_DEQUEUE = 5  # host.json queues.maxDequeueCount


class StorageCut(CountingProxy):
    def __init__(self, upstream: str):
        super().__init__(upstream)
        self.allow: int | None = None  # None: storage up; n: n more requests, then down
        self.dropped = 0
        self._server.handle_error = lambda request, address: None  # a dropped request is the point

    def stop_after(self, n: int) -> None:
        self.allow = n

    def restart(self) -> None:
        self.allow = None

    def count(self, method: str, path: str) -> None:
        super().count(method, path)
        with self._lock:
            if self.allow is None:
                return
            if self.allow <= 0:
                self.dropped += 1
                raise ConnectionAbortedError("storage stopped")
            self.allow -= 1


def bootstrap_secrets(kube) -> set[str]:
    """Bootstrap-token secret names, read through the Kubernetes API as anyone would."""
    answer = requests.get(f"{kube.url}/api/v1/namespaces/kube-system/secrets", timeout=10, verify=kube.ca_file,
                          headers={"Authorization": f"Bearer {kube.token}"})
    answer.raise_for_status()
    return {s["metadata"]["name"] for s in answer.json()["items"]
            if s["metadata"]["name"].startswith("bootstrap-token-")}


def joins_through_restarts(stack, cut: StorageCut, host, cuts=range(1, 7)) -> dict:
    """Every agent joins while storage stops after its `k`-th request (k over `cuts`), restarts, and
    the agent retries. A join lost: no 200 after the restart; an orphan: a bootstrap secret alive
    that no 200 handed out."""
    handed, lost, errors, before = set(), 0, 0, bootstrap_secrets(stack.sim.kube)
    for vm in [v for v in stack.sim.vms if v.instance_id]:
        for k in cuts:
            cut.stop_after(k)
            first = stack.join(vm.computer_name, host=host)
            cut.restart()
            errors += first.status_code != 200
            answers = [first] if first.status_code == 200 else []
            for _ in range(10):
                if answers:
                    break
                retry = stack.join(vm.computer_name, host=host)
                answers += [retry] if retry.status_code == 200 else []
                time.sleep(0.1 if not answers else 0)
            lost += not answers
            handed |= {f"bootstrap-token-{a.json()['token'].split('::')[1].split('.')[0]}" for a in answers}
    orphans = bootstrap_secrets(stack.sim.kube) - before - handed
    return {"joins": len(cuts) * len(stack.sim.vms), "join_errors_answered": errors, "joins_lost": lost,
            "orphan_tokens": len(orphans)}


def _services(stack, cut: StorageCut) -> Services:
    env = {**stack.app_env, "AzureWebJobsStorage": stack.connection_string(cut.url)}
    return Services(Settings.from_env(env))


def _deliver(services: Services, request: DrainRequest, kube) -> tuple[int, int]:
    """The queue: attempts until one succeeds or maxDequeueCount. Returns the attempts it took and
    how many failed attempts left the row showing `draining` with the node's work already done."""
    stuck = 0
    for attempt in range(1, MAX_DEQUEUE + 1):
        try:
            services.drains.drain(request)
            return attempt, stuck
        except TransientError:
            row = services.registry.node(request.node) if _storage_up(services) else None
            stuck += bool(row and row.state is NodeState.DRAINING and not _work_left(kube, request.node))
            time.sleep(0.2)
    return MAX_DEQUEUE + 1, stuck


def _work_left(kube, node: str) -> list[str]:
    """Pods a drain would still evict: not terminating, not a DaemonSet's."""
    return [p["metadata"]["name"] for p in kube.pods(node) if not p["metadata"].get("deletionTimestamp")
            and all(ref.get("kind") != "DaemonSet" for ref in p["metadata"].get("ownerReferences") or ())]


def _storage_up(services: Services) -> bool:
    try:
        services.registry.cluster()
        return True
    except TransientError:
        return False


def drains_through_faults(stack, cut: StorageCut, names: list[str], cuts=range(1, 8)) -> dict:
    """Drains (Reboot: the Node stays) with storage stopped after the k-th request and restarted a
    second later (k over `cuts`, so every write of a drain is hit, the last one too), then with
    the Kubernetes API cut off for a second. Lost: a drain whose row does not end drained for its
    event; left_draining: a failed attempt that left the row `draining` although the node was empty."""
    services, kube = _services(stack, cut), stack.sim.kube
    plan = [("storage", k) for k in cuts] + [("kubernetes", k) for k in cuts]
    lost = stuck = 0
    for i, (fault, k) in enumerate(plan):
        name = names[i % len(names)]
        kube.add_pods(name, 2)
        event_id = f"bench-{i}"
        if fault == "storage":
            cut.stop_after(k)
            threading.Timer(1.0, cut.restart).start()
        else:
            kube.faults.fail(503, seconds=1.0)
        deadline = datetime.now(timezone.utc) + timedelta(seconds=20)
        _, left = _deliver(services, DrainRequest(name, event_id, "Reboot", deadline), kube)
        cut.restart()
        stuck += left
        row = services.registry.node(name)
        lost += not (row and row.last_event_id == event_id and row.drained_at)
    return {"drains": len(plan), "events_lost": lost, "left_draining": stuck, "drain_faults": len(plan)}
