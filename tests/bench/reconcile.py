"""Benchmark: reconcile over a simulated pool of 1000 nodes (sim ARM + KubeSim + Azurite).

    python -m tests.bench.reconcile [--json]        (or: python3 tasks.py bench reconcile --json)

The pool is seeded through the simulators' Python APIs (1000 VMs, 1000 Nodes + master0,
1000 registry rows); ticks run the production wiring in this process (tests/functions/
reconcile_stack.py). Figures, medians of repeated runs:
- plan_ms_p50: the pure planner (reconcile/pools.py: marks, clocks, the pool's plan) on the converged
  pool's observation;
- tick_s_p50: a whole converged tick (state, five listings, two peeks, plan, no writes);
- list_calls: ARM VM-list pages + Kubernetes node-list pages per tick (vs pages_needed);
- writes_when_converged: ARM/Kubernetes write requests + changed table rows over all converged ticks;
- actions_on_partial_list: actions applied + ARM/Kubernetes writes on ticks whose ARM list came
  back silently short (3 of 1000) or whose node list failed on its second page, with 5 ghosts
  and 5 unlabelled Nodes waiting; actions_after_recovery shows they were there to be done.
The last line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from localenv.stack import LocalStack
from nodepool.reconcile.observe import observe
from nodepool.reconcile.pools import plan_pools
from tests.functions.reconcile_stack import ReconcileStack, lists, utcnow, writes

NODES, ARM_PAGE, KUBE_PAGE = 1000, 50, 500  # ARM: the simulator's page; Kubernetes: the adapter's `limit`
TICKS, PLANS = 7, 21


def seed(stack: ReconcileStack) -> None:
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda vm: stack.join(vm, secret=False), stack.sim.vms))


def converged(stack: ReconcileStack) -> dict:
    stack.tick()  # records the instance count
    seconds, list_calls, write_count = [], [], 0
    for _ in range(TICKS):
        before, versions = stack.requests(), stack.storage_versions()
        started = time.perf_counter()
        report = stack.tick()
        seconds.append(time.perf_counter() - started)
        after = stack.requests()
        assert report.planned == {}, report.line()
        list_calls.append(sum(lists(before, after).values()))
        changed = stack.storage_versions()
        write_count += sum(writes(before, after).values()) + sum(changed.get(k) != v for k, v in versions.items())
        write_count += len(changed.keys() - versions.keys())
    return {"tick_s_p50": statistics.median(seconds), "list_calls": statistics.median(list_calls),
            "writes_when_converged": write_count}


def plan_ms(stack: ReconcileStack) -> float:
    """The tick's whole pure planning (plan_pools: the Node list's marks, the clocks, each pool's plan)."""
    now = utcnow()
    tick = stack.services.reconciler(now)
    state = tick.ports.store.load()[0]
    pools = observe(tick.ports, state, now, tick.policy)
    assert not any(obs.failures() for obs in pools.values()), [obs.failures() for obs in pools.values()]
    timings = []
    for _ in range(PLANS):
        started = time.perf_counter()
        result = plan_pools(pools, state, now, tick.policy)
        timings.append((time.perf_counter() - started) * 1000)
    assert result.why() is None and result.counts() == {}, result.why()
    return statistics.median(timings)


def partial(stack: ReconcileStack) -> dict:
    vms = stack.sim.vms
    for vm in vms[-5:]:
        stack.sim.terminate(vm.instance_id)  # ghosts, once NotReady
    unlabel = {"metadata": {"labels": {"node-role.kubernetes.io/worker": None}}}
    for vm in vms[:5]:
        stack.kube.cluster.patch_node(vm.computer_name, unlabel, "application/merge-patch+json")
    stack.sim.wait_until(lambda: all(_unknown(stack, vm.computer_name) for vm in vms[-5:]))
    actions = 0
    for fault in ("short", "kube page"):
        if fault == "short":
            stack.sim.arm_fault("short_list", keep=3, count=1)
        else:
            stack.kube.faults.fail(503, times=1, paged_only=True, path="/api/v1/nodes")
        before = stack.requests()
        report = stack.tick(timedelta(seconds=1))
        assert report.blocked, report.line()
        actions += report.applied + report.failed + report.retry + sum(writes(before, stack.requests()).values())
    recovered = stack.tick(timedelta(seconds=2))
    return {"actions_on_partial_list": actions, "actions_after_recovery": recovered.applied}


def _unknown(stack: ReconcileStack, name: str) -> bool:
    node = stack.kube.node(name)
    return node is not None and any(c["type"] == "Ready" and c["status"] != "True"
                                     for c in node["status"]["conditions"])


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--json", action="store_true", help="print only the figures, as one JSON line")
    quiet = args.parse_args(argv).json
    kube = {"grace_s": 0.2, "tick_s": 0.05}
    with LocalStack(NODES, sim_options={"page_size": ARM_PAGE, "kube_options": kube}, hosts=0) as local:
        stack = ReconcileStack(local.sim, {"AzureWebJobsStorage": local.connection_string()})
        started = time.perf_counter()
        seed(stack)
        if not quiet:
            print(f"seeded {NODES} VMs, Nodes and rows in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        ticks = converged(stack)
        figures = {"nodes": NODES, "plan_ms_p50": plan_ms(stack), **ticks,
                   "pages_needed": math.ceil(NODES / ARM_PAGE) + math.ceil((NODES + 1) / KUBE_PAGE), **partial(stack)}
    figures = {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}
    if not quiet:
        for key, value in figures.items():
            print(f"{key:>26}: {value}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
