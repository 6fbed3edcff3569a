"""Benchmark: a mass eviction of a spot pool, drained before NotBefore.

    python -m tests.bench.preempt [--json]        (or: python3 tasks.py bench preempt --json)

Stack (bench_stack, tests/bench/common.py): Azurite, the simulator (ARM, IMDS, KubeSim) in this
process, the real app in a dev host (its own process, no timers), and one agent watcher per VM
(agent.watch.Watcher: IMDS every 1 s, forward to POST /api/events, poll GET /api/nodes/{name},
acknowledge) as threads in WATCHER_PROCS child processes; a VM's watcher stops when Azure deletes
the VM. The pool: POOL spot VMs that joined k3s, each running 10-30 pods (every fourth node a
3-pod StatefulSet behind its own PDB, every node 2 pods of a pool-wide Deployment behind a 10 %
PDB), plus a large on-demand pool outside the scale set where evicted pods land. All POOL VMs are
preempted (NOTICE_S notice) in waves of WAVE at once, one wave every WAVE_EVERY_S.

Every figure comes from what KubeSim served (its request dispatcher is wrapped), measured
from the moment the event appeared in IMDS:
- cordon_p50_ms / cordon_p99_ms: until the Node became unschedulable;
- drained_p50_s / drained_p99_s: until the Node was deleted (the drain's last step);
- missed_deadlines: Nodes not deleted by NotBefore; lost_events: events never acted on (no
  cordon, no delete);
- duplicate_actions: a Node or its node-password secret deleted more than once, a pod evicted
  more than once, or a drain touching a Node after it was deleted (a second drain of one event).
rows_deleted counts registry rows (GET /api/nodes) ending `deleted` for their event. Every VM's agent
first joins with an attested document (its node credential signs its events), and the app is
warmed with one empty report (identity keys, scale-set list, Kubernetes client), as an
always-ready instance would be. Timings are medians over RUNS runs (`--runs N`), the three counts
the worst run's. The app's and the agents' logs of the last run are left in /tmp (LOGS). The
last line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import multiprocessing
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from localstack.devhost_process import DevHostProcess
from sim.cluster import Simulator
from sim.kube import routes
from sim.kube.wire import ApiError
from tests.bench.common import bench_stack, emit, percentile, rounded

POOL, WAVE, WAVE_EVERY_S, NOTICE_S = 200, 20, 3.0, 30.0
PODS, REQUESTS = (10, 30), {"cpu": "50m", "memory": "64Mi"}
WATCHER_PROCS, POLL_S, RUNS, SETTLE_S = 2, 1.0, 3, 3.0
KUBE = {"auto_join": True, "scrypt_log_n": 4, "terminate_s": 0.5}  # evicted pods take 0.5 s to stop
# The app's settings as deployed (local.settings.json.example): 32 worker threads, so up to 24 drains in
# flight (host.json batchSize 16 + newBatchThreshold 8) leave threads for POST /api/events. The host
# runs without timers (bench_stack): no reconcile tick acts on the pool during the bench.
APP = {"PYTHON_THREADPOOL_THREAD_COUNT": "32"}
PASSWORD = ".node-password.k3s"
LOGS = "/tmp/nodepool-bench-preempt"  # -devhost.log, -agents-N.log: for a look after a run


class Observer:
    """Wraps KubeSim's request dispatcher: what the control plane did to which Node, and when."""

    def __init__(self, kube, nodes: set[str]):
        self.kube, self.nodes, self._lock = kube, nodes, threading.Lock()
        self.cordoned: dict[str, float] = {}
        self.deleted: dict[str, float] = {}
        self.node_deletes, self.secret_deletes, self.evicted = Counter(), Counter(), Counter()
        self.after_delete: Counter = Counter()
        self.refusals = 0
        self._original = routes.dispatch
        routes.dispatch = self._dispatch

    def close(self) -> None:
        routes.dispatch = self._original

    def _dispatch(self, sim, res, verb, args, req, body_of):
        route = "eviction" if args.get("sub") == "eviction" else "item" if args.get("name") else "collection"
        args = {**args, "resource": res.name}
        body = body_of(req) if verb == "PATCH" and res.name == "nodes" else None
        uid = self._pod_uid(args) if route == "eviction" else None
        try:
            code, out = self._original(sim, res, verb, args, req, body_of)
        except ApiError as err:
            self._saw(route, verb, args, req.query, body, uid, err.code)
            raise
        self._saw(route, verb, args, req.query, body, uid, code)
        return code, out

    def _pod_uid(self, args: dict) -> str | None:
        """One dict read (atomic under the GIL): no second wait for the cluster lock per eviction."""
        pod = self.kube.cluster.store.find("pods", args.get("ns"), args.get("name"))
        return pod["metadata"]["uid"] if pod else None

    def _saw(self, route, verb, args, query, body, uid, code) -> None:
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
                if code == 201 and uid:
                    self.evicted[uid] += 1
                self.refusals += code == 429
            elif route == "collection" and resource == "pods" and verb == "GET":
                node = (query.get("fieldSelector") or "").partition("spec.nodeName=")[2]
                if node in self.deleted:
                    self.after_delete[node] += 1

    def duplicates(self) -> int:
        extra = sum(n - 1 for counter in (self.node_deletes, self.secret_deletes, self.evicted)
                    for n in counter.values() if n > 1)
        return extra + len(self.after_delete)


# -- the agents: one Watcher per VM, as threads in a few child processes ------------------------
def _watch(spec: dict, api_url: str, key: str, audience: str, stop, gone, phase: float, folder: str) -> None:
    from agent.api import Api, FunctionKey
    from agent.credential import NodeCredential
    from agent.imds import Imds, TokenSource
    from agent.k3sconfig import write_private
    from agent.runtime import Runtime
    from agent.watch import Watcher

    rt = Runtime(stop=lambda: stop.is_set() or bool(gone[spec["index"]]))  # the VM is gone: so is its agent
    imds = Imds(spec["imds"])
    tokens = TokenSource(imds, "", rt.redactor, budget=2.0)
    path = os.path.join(folder, spec["hostname"] + ".credential")  # what its join stored on its disk
    write_private(path, spec["credential"] + "\n")
    api = Api(api_url, tokens, audience, FunctionKey(rt.redactor, tokens, literal=key), timeout=5.0,
              credential=NodeCredential(path, rt.redactor))
    time.sleep(phase)  # agents boot at different times: their 1 s ticks do not line up
    Watcher(imds, api, rt, spec["hostname"], {spec["hostname"], spec["vm"]}, interval=POLL_S).run(rt.stop)


def run_watchers(specs: list[dict], api_url: str, key: str, audience: str, stop, gone, log_path: str) -> None:
    logging.basicConfig(filename=log_path, level=logging.WARNING)
    logging.getLogger("agent").setLevel(logging.WARNING)
    folder = tempfile.mkdtemp(prefix="nodepool-bench-agents-")
    threads = [threading.Thread(target=_watch, args=(spec, api_url, key, audience, stop, gone,
                                                     random.random() * POLL_S, folder), daemon=True) for spec in specs]
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join(timeout=2 * POLL_S + 5)
    shutil.rmtree(folder, ignore_errors=True)


# -- the pool ------------------------------------------------------------------------------------
def seed(sim: Simulator, rng: random.Random) -> None:
    kube = sim.kube
    for i in range(3):  # on-demand capacity outside the scale set: where evicted pods go
        kube.add_node(f"ondemand-{i}", cpu="100000", memory="100000Gi")
    for i, vm in enumerate(sim.vms):
        name, left = vm.computer_name, rng.randint(*PODS)
        if i % 4 == 0:
            kube.add_pods(name, 3, owner=f"StatefulSet/db-{i}", requests=REQUESTS)
            kube.add_pdb(f"db-{i}", selector={"app": f"db-{i}"}, max_unavailable=1)
            left -= 3
        kube.add_pods(name, 2, owner="ReplicaSet/api", requests=REQUESTS)
        kube.add_pods(name, left - 2, owner=f"ReplicaSet/web-{i % 10}", requests=REQUESTS)
    kube.add_pdb("api", selector={"app": "api"}, max_unavailable="10%")


class Bench:
    def __init__(self, quiet: bool, seed: int = 0):
        self.quiet = quiet
        self.rng = random.Random(seed)

    def say(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)

    def run(self) -> dict:
        started = time.monotonic()
        with bench_stack(agents=POOL, sim_options={"kube_options": KUBE}, env=APP) as stack:
            sim = stack.sim
            seed(sim, self.rng)
            host = stack.start_host()
            self.say(f"pool of {POOL} VMs seeded, app started in {time.monotonic() - started:.1f} s")
            stack.register_master(host)
            self._join(stack, host)
            self._warm(stack, host)
            observer = Observer(sim.kube, {vm.computer_name for vm in sim.vms})
            try:
                return self._evict(sim, host, observer, stack.node_credentials)
            finally:
                observer.close()
                with open(f"{LOGS}-devhost.log", "w") as out:
                    out.write(host.logs())

    def _call(self, sim: Simulator, host: DevHostProcess, method: str, path: str, who: str | None, body=None,
              headers: dict | None = None) -> dict:
        headers = {"x-functions-key": host.function_key, **(headers or {})}
        if who:
            headers["Authorization"] = f"Bearer {sim.token(who)}"
        answer = requests.request(method, f"{host.url}/api/{path}", json=body, headers=headers, timeout=30)
        answer.raise_for_status()
        return answer.json()

    def _join(self, stack, host: DevHostProcess) -> None:
        """Every VM's agent joins at boot (attested): each holds its node credential for its events."""
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda vm: stack.join(vm.computer_name, host=host), stack.sim.vms))
        refused = [a.text for a in answers if a.status_code != 200]
        if refused:
            raise RuntimeError(f"{len(refused)} attested joins refused, e.g. {refused[0]}")
        self.say(f"{len(answers)} attested joins in {time.monotonic() - started:.1f} s")

    def _warm(self, stack, host: DevHostProcess) -> None:
        empty, name = {"DocumentIncarnation": 1, "Events": []}, stack.sim.vms[0].computer_name
        self._call(stack.sim, host, "POST", "events", "agent", {"hostname": name, "document": empty},
                   headers=stack.identities.headers(name))

    def _evict(self, sim: Simulator, host: DevHostProcess, observer: Observer, credentials: dict[str, str]) -> dict:
        vms = sim.vms
        specs = [{"hostname": vm.computer_name, "vm": vm.name, "imds": sim.imds_for(vm.computer_name), "index": i,
                  "credential": credentials[vm.computer_name]} for i, vm in enumerate(vms)]
        context = multiprocessing.get_context("spawn")
        stop, gone = context.Event(), context.Array("b", len(vms), lock=False)
        threading.Thread(target=self._reap, args=(sim, vms, gone, stop), daemon=True).start()
        procs = [context.Process(target=run_watchers, daemon=True, args=(
            specs[i::WATCHER_PROCS], f"{host.url}/api", host.function_key, sim.audience, stop, gone,
            f"{LOGS}-agents-{i}.log")) for i in range(WATCHER_PROCS)]
        for proc in procs:
            proc.start()
        try:
            time.sleep(3 * POLL_S)  # every watcher has read IMDS once
            events = self._waves(sim, vms)
            last = max(e["not_before"] for e in events)
            while time.time() < last + 1 and len(observer.deleted) < len(events):
                time.sleep(0.2)
            time.sleep(SETTLE_S)  # a late second drain of a finished event would show now
        finally:
            stop.set()
            for proc in procs:
                proc.join(timeout=10)
                if proc.is_alive():
                    proc.kill()
        rows = {r["name"]: r for r in self._call(sim, host, "GET", "nodes?limit=500", None)["nodes"]}
        return self._figures(events, observer, rows)

    @staticmethod
    def _reap(sim: Simulator, vms: list, gone, stop) -> None:
        """Flag the VMs Azure deleted (acknowledged, or past NotBefore): their agents stop polling."""
        while not stop.wait(0.25):
            with sim.world.lock:
                present = set(sim.world.vms)
            for i, vm in enumerate(vms):
                gone[i] = vm.instance_id not in present

    def _waves(self, sim: Simulator, vms: list) -> list[dict]:
        order = self.rng.sample(vms, len(vms))
        events, start = [], time.monotonic()
        for n, first in enumerate(range(0, len(order), WAVE)):
            time.sleep(max(0.0, start + n * WAVE_EVERY_S - time.monotonic()))
            for vm in order[first:first + WAVE]:
                appeared = time.time()
                event = sim.preempt(vm.computer_name, notice=NOTICE_S)
                events.append({"node": vm.computer_name, "event_id": event.event_id, "appeared": appeared,
                               "not_before": event.not_before})
            self.say(f"wave {n + 1}: {len(events)} preempted")
        return events

    def _figures(self, events: list[dict], observer: Observer, rows: dict) -> dict:
        cordoned, deleted = observer.cordoned, observer.deleted
        cordon = [(cordoned[e["node"]] - e["appeared"]) * 1000 for e in events if e["node"] in cordoned]
        drained = [deleted[e["node"]] - e["appeared"] for e in events if e["node"] in deleted]
        missed = sum(1 for e in events if deleted.get(e["node"], math.inf) > e["not_before"])
        lost = sum(1 for e in events if e["node"] not in cordoned and e["node"] not in deleted)
        done = sum(1 for e in events if rows.get(e["node"], {}).get("state") == "deleted"
                   and rows[e["node"]].get("last_event_id") == e["event_id"])
        return {
            "events": len(events),
            "cordon_p50_ms": statistics.median(cordon) if cordon else None,
            "cordon_p99_ms": percentile(cordon, 99) if cordon else None,
            "drained_p50_s": statistics.median(drained) if drained else None,
            "drained_p99_s": percentile(drained, 99) if drained else None,
            "missed_deadlines": missed,
            "lost_events": lost,
            "duplicate_actions": observer.duplicates(),
            "rows_deleted": done,
            "pods_evicted": sum(observer.evicted.values()),
            "pdb_refusals": observer.refusals,
        }


def combine(runs: list[dict]) -> dict:
    """Medians of the timings over runs; the worst run for the counts that must stay at zero."""
    worst = ("missed_deadlines", "lost_events", "duplicate_actions")
    out = {"runs": len(runs)}
    for key in runs[0]:
        values = [r[key] for r in runs if r[key] is not None]
        if not values:
            out[key] = None
        elif key in worst:
            out[key] = max(values)
        elif all(isinstance(v, int) for v in values):
            out[key] = statistics.median_low(values)
        else:
            out[key] = statistics.median(values)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print only the figures, as one JSON line")
    parser.add_argument("--runs", type=int, default=RUNS, help=f"repetitions (default {RUNS})")
    args = parser.parse_args(argv)
    runs, lines = [], []
    for n in range(args.runs):
        runs.append(rounded(Bench(args.json, seed=n).run()))
        lines.append(f"run {n + 1}: {json.dumps(runs[-1])}")
    figures = rounded(combine(runs))
    emit(figures, args.json, lines + [f"{key:>18}: {value}" for key, value in figures.items()])
    return 0


if __name__ == "__main__":
    sys.exit(main())
