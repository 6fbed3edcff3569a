"""Benchmark: a mass eviction of a spot pool, drained before NotBefore.

    python -m tests.bench.preempt [--json] [--notice S] [--nodes N] [--wave W] [--runs R] [--pods P] [--stop S]
    (or: python3 tasks.py bench preempt --json, with the defaults)

Stack (bench_stack, tests/bench/common.py): Azurite, the simulator (ARM, IMDS, KubeSim) in this
process, the real app in a dev host (its own process, no timers), and one agent watcher per VM
(agent.watch.Watcher: IMDS at its default interval, forward to POST /api/events, poll GET /api/nodes/{name},
acknowledge) as threads in WATCHER_PROCS child processes; a VM's watcher stops when Azure deletes
the VM. The pool: POOL (`--nodes`) spot VMs that joined k3s, each running 10-30 pods (every fourth node a
3-pod StatefulSet behind its own PDB, every node 2 pods of a pool-wide Deployment behind a 10 %
PDB), plus a large on-demand pool outside the scale set where evicted pods land. All POOL VMs are
preempted (NOTICE_S notice, `--notice`) in waves of WAVE (`--wave`) at once, one wave every WAVE_EVERY_S.
Every pod has Kubernetes' default 30 s grace period and, as KubeSim's kubelet does by default, takes
all of the grace period it is given to stop; `--stop S` makes them exit S s after SIGTERM instead.

Every figure comes from what KubeSim and the simulated IMDS served (tests/bench/_preempt_figures.py
wraps KubeSim's request dispatcher and IMDS's StartRequests), measured from the moment the event
appeared in IMDS:
- forwarded_ratio: events the app heard of (a cordon, a Node delete, or the row names the event);
- cordon_p50_ms / cordon_p99_ms: until the Node became unschedulable;
- drained_p50_s / drained_p99_s: until the Node was deleted (the drain's last step: once its pods
  are gone, or, with pods still on it, once its VM is);
- evicted_before_deadline_ratio: pods evicted (201) before NotBefore / evictable pods seeded;
- pods_gone_before_vm_stopped_ratio: evictable pods gone from the API (stopped by their kubelet)
  before Azure began taking their VM away / evictable pods seeded;
- missed_deadlines: events drained (Node deleted) more than ACK_SPARE_S before NotBefore but not
  acknowledged by then;
  acked_with_pods_left: events acknowledged while pods were still on the Node (must stay 0);
  deleted_after_deadline: Nodes not deleted by NotBefore; lost_events: no cordon, no delete;
- duplicate_drains: drains beyond the first that reached a Node (a second Node DELETE, or a pod
  listing after the Node was gone); duplicate_actions: any Node/secret delete or pod eviction
  repeated, or a Node touched after its delete;
- rows_consistent: share of events whose registry row (GET /api/nodes) names the event, is
  `deleted` exactly when the Node was, and has pods_left = evictable pods never evicted.
Every VM's agent first joins with an attested document (its node credential signs its events), and
the app is warmed with one empty report (identity keys, scale-set list, Kubernetes client), as an
always-ready instance would be. Timings are medians over RUNS runs (`--runs N`), the counts
and the ratios that must be 1.0 the worst run's, the eviction ratio the runs' mean. The app's and
the agents' logs of the last run are left in /tmp (LOGS). The last line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from agent import watch
from localenv.devhost_process import DevHostProcess
from sim.cluster import Simulator
from tests.bench._preempt_figures import Observer, combine, figures
from tests.bench.common import bench_stack, emit, rounded

POOL, WAVE, WAVE_EVERY_S, NOTICE_S = 200, 20, 3.0, 30.0
PODS, REQUESTS = (10, 30), {"cpu": "50m", "memory": "64Mi"}
WATCHER_PROCS, RUNS, SETTLE_S = 2, 3, 3.0
POLL_S = watch.POLL_S  # the agent as deployed polls IMDS at its default interval
KUBE = {"auto_join": True, "scrypt_log_n": 4}
VM_GONE_WAIT_S = 15.0  # past the last NotBefore: a Node with pods still on it goes once its VM has
# The app's settings as deployed (local.settings.json.example): 32 worker threads, so up to 24 drains in
# flight (host.json batchSize 16 + newBatchThreshold 8) leave threads for POST /api/events. The host
# runs without timers (bench_stack): no reconcile tick acts on the pool during the bench.
APP = {"PYTHON_THREADPOOL_THREAD_COUNT": "32"}
LOGS = "/tmp/nodepool-bench-preempt"  # -devhost.log, -agents-N.log: for a look after a run


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
def seed(sim: Simulator, rng: random.Random, per_node: int | None = None) -> dict[str, int]:
    """Seed the pods; returns the evictable pods per node (all of them: no DaemonSets here).
    `per_node`: that many pods on every node, 3 of them behind the node's own PDB (the issue's node)."""
    kube, pods = sim.kube, {}
    for i in range(3):  # on-demand capacity outside the scale set: where evicted pods go
        kube.add_node(f"ondemand-{i}", cpu="100000", memory="100000Gi")
    for i, vm in enumerate(sim.vms):
        name, left = vm.computer_name, per_node or rng.randint(*PODS)
        pods[name] = left
        if i % 4 == 0 or per_node:
            kube.add_pods(name, 3, owner=f"StatefulSet/db-{i}", requests=REQUESTS)
            kube.add_pdb(f"db-{i}", selector={"app": f"db-{i}"}, max_unavailable=1)
            left -= 3
        kube.add_pods(name, 2, owner="ReplicaSet/api", requests=REQUESTS)
        kube.add_pods(name, left - 2, owner=f"ReplicaSet/web-{i % 10}", requests=REQUESTS)
    kube.add_pdb("api", selector={"app": "api"}, max_unavailable="10%")
    return pods


class Bench:
    def __init__(self, quiet: bool, seed: int = 0, nodes: int = POOL, notice: float = NOTICE_S, wave: int = WAVE,
                 pods: int | None = None, stop: float | None = None):
        self.quiet, self.nodes, self.notice, self.wave, self.per_node = quiet, nodes, notice, wave, pods
        self.stop = stop  # seconds a pod takes to stop after SIGTERM; None: its whole grace period
        self.rng = random.Random(seed)
        self.pods: dict[str, int] = {}

    def say(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)

    def run(self) -> dict:
        started = time.monotonic()
        with bench_stack(agents=self.nodes, sim_options={"kube_options": {**KUBE, "terminate_s": self.stop}},
                         env=APP) as stack:
            sim = stack.sim
            self.pods = seed(sim, self.rng, self.per_node)
            host = stack.start_host()
            self.say(f"pool of {self.nodes} VMs seeded, app started in {time.monotonic() - started:.1f} s")
            stack.register_master(host)
            self._join(stack, host)
            self._warm(stack, host)
            observer = Observer(sim, {vm.computer_name for vm in sim.vms})
            try:
                return self._evict(sim, host, observer, stack.node_credentials)
            finally:
                observer.close()
                with open(f"{LOGS}-devhost.log", "w") as out:
                    out.write(host.logs())

    def _call(self, sim: Simulator, host: DevHostProcess, method: str, path: str, who: str | None, body=None,
              headers: dict | None = None) -> dict:
        headers = {"x-functions-key": host.function_key if who else host.master_key, **(headers or {})}
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
        for i in range(WATCHER_PROCS):  # the agents' logs append (logging.basicConfig): this run's only
            open(f"{LOGS}-agents-{i}.log", "w").close()
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
            while time.time() < last + VM_GONE_WAIT_S and len(observer.deleted) < len(events):
                time.sleep(0.2)
            time.sleep(SETTLE_S)  # a late second drain of a finished event would show now
        finally:
            stop.set()
            for proc in procs:
                proc.join(timeout=10)
                if proc.is_alive():
                    proc.kill()
        rows = {r["name"]: r for r in self._call(sim, host, "GET", "nodes?limit=500", None)["nodes"]}
        return figures(events, observer, rows, self.pods)

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
        for n, first in enumerate(range(0, len(order), self.wave)):
            time.sleep(max(0.0, start + n * WAVE_EVERY_S - time.monotonic()))
            for vm in order[first:first + self.wave]:
                appeared = time.time()
                event = sim.preempt(vm.computer_name, notice=self.notice)
                events.append({"node": vm.computer_name, "event_id": event.event_id, "appeared": appeared,
                               "not_before": event.not_before})
            self.say(f"wave {n + 1}: {len(events)} preempted")
        return events


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print only the figures, as one JSON line")
    parser.add_argument("--runs", type=int, default=RUNS, help=f"repetitions (default {RUNS})")
    parser.add_argument("--notice", type=float, default=NOTICE_S, help=f"seconds to NotBefore (default {NOTICE_S:g})")
    parser.add_argument("--nodes", type=int, default=POOL, help=f"spot VMs preempted (default {POOL})")
    parser.add_argument("--wave", type=int, default=WAVE, help=f"VMs preempted at once (default {WAVE})")
    parser.add_argument("--pods", type=int, default=None,
                        help=f"pods per node, 3 behind a PDB on each (default {PODS[0]}-{PODS[1]}, a PDB on every 4th)")
    parser.add_argument("--stop", type=float, default=None,
                        help="seconds a pod takes to stop after SIGTERM (default: its whole grace period)")
    args = parser.parse_args(argv)
    if (args.notice <= 0 or args.nodes < 1 or args.wave < 1 or args.runs < 1
            or (args.pods is not None and args.pods < 5) or (args.stop is not None and args.stop < 0)):
        parser.error("--notice, --nodes, --wave and --runs must be positive, --pods at least 5, --stop not negative")
    runs, lines = [], []
    for n in range(args.runs):
        bench = Bench(args.json, seed=n, nodes=args.nodes, notice=args.notice, wave=args.wave, pods=args.pods,
                      stop=args.stop)
        runs.append(rounded(bench.run()))
        lines.append(f"run {n + 1}: {json.dumps(runs[-1])}")
    figures = rounded(combine(runs))
    emit(figures, args.json, lines + [f"{key:>18}: {value}" for key, value in figures.items()])
    return 0


if __name__ == "__main__":
    sys.exit(main())
