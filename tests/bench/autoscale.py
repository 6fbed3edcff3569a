"""Autoscale benchmark: one seeded workload replayed in simulated time, our autoscaler vs the seed's CPU rule.

The workload (tests/bench/_autoscale_world.py): a web Deployment on a diurnal curve (6 pods at
midnight to 40 at noon, 0.5 CPU / 1 GiB each), a burst of 16 to 40 batch pods (1 CPU / 2 GiB,
15 to 45 min each) every 40 to 120 min, 16 spot preemptions at random times with a 30 s notice,
and a spot capacity outage of 30 simulated minutes at 10:00 (new spot instances end in
provisioning state Failed), with a burst of 32 pods and three preemptions in it. 24 simulated
hours in 10 s steps; a VM boots and joins in 150 s.

- ours: the real Autoscaler service (nodepool/autoscale/tick.py) over the port fakes,
  ticking every 30 s, with a spot pool (preferred, min 0, max 20) and a regular-priority
  fallback pool (min 0, max 20) of the same VM size; default Policy (headroom: one free node, as
  NODEPOOL_AUTOSCALE_HEADROOM_NODES defaults to; see nodepool/autoscale/headroom.py).
- seed: one spot scale set (min 1, max 20, default 2) under Azure autoscale's CPU rule,
  evaluated once a minute (tests/bench/_autoscale_seed.py). It has no second pool: the seed
  deploys none, and the rule knows nothing of spot.

Figures: pending pod-seconds (pods not running, summed), node-hours (instances that exist and
are not Failed), pods disrupted by our own scale-downs (drained, or lost with a removed node),
and outage_recovery_s: from the first failed spot scale-up to the first fallback node Ready.
CPU usage (what the seed's rule sees): web pods use 0.4x to 1.2x their request with the load,
batch pods are CPU-bound up to a limit of twice their request.
"""
from __future__ import annotations

import argparse
import logging
import time

from nodepool.autoscale.model import Policy, Pool, Priority
from nodepool.autoscale.ports import AutoscalePorts, PoolPort
from nodepool.autoscale.tick import Autoscaler
from nodepool.fakes.autoscale_store import FakeAutoscaleStore
from tests.bench._autoscale_seed import CpuRule, SeedAutoscale
from tests.bench._autoscale_world import BOOT_S, HOURS, SHAPE, STEP_S, SimCluster, Workload
from tests.bench.common import emit, median_of, rounded

SEED = 20261201
TICK_S, SEED_EVAL_S = 30, 60
SPOT = Pool("spot", Priority.SPOT, "Standard_D4s_v5", SHAPE, min=0, max=20, preference=0)
REGULAR = Pool("regular", Priority.REGULAR, "Standard_D4s_v5", SHAPE, min=0, max=20, preference=1)


QUIET = logging.getLogger("bench.autoscale")
QUIET.disabled = True  # thousands of tick lines; the figures are the output


def run_ours(workload: Workload) -> SimCluster:
    sim = SimCluster(workload, (SPOT, REGULAR))
    sim.sets["spot"].set_capacity(2, sim.sets["spot"].info().etag)  # the same start as the seed's default
    ports = AutoscalePorts((PoolPort(SPOT, sim.sets["spot"]), PoolPort(REGULAR, sim.sets["regular"])),
                           sim.cluster, sim.notices, sim.drains, FakeAutoscaleStore())
    autoscaler = Autoscaler(ports, Policy(), logger=QUIET)
    while sim.t < HOURS * 3600:
        if sim.t % TICK_S == 0:
            autoscaler.tick(sim.now())
        sim.step()
    return sim


def run_seed(workload: Workload) -> SimCluster:
    spot = Pool("spot", Priority.SPOT, "Standard_D4s_v5", SHAPE, min=1, max=20)
    sim = SimCluster(workload, (spot,))
    rule = CpuRule()
    sim.sets["spot"].set_capacity(rule.default, sim.sets["spot"].info().etag)
    seed = SeedAutoscale(sim.sets["spot"], rule)
    while sim.t < HOURS * 3600:
        sim.step()
        seed.sample(sim.cpu_percent())
        if sim.t % SEED_EVAL_S == 0:
            seed.evaluate(sim.t)
    return sim


def figures(ours: SimCluster, seed: SimCluster) -> dict:
    o, s = ours.figures, seed.figures
    recovery = (o.fallback_ready_at - o.first_failed_at
                if o.first_failed_at is not None and o.fallback_ready_at is not None else None)
    return rounded({
        "pending_pod_seconds_ours": o.pending_pod_s,
        "pending_pod_seconds_seed": s.pending_pod_s,
        "node_hours_ours": o.node_s / 3600,
        "node_hours_seed": s.node_s / 3600,
        "pending_ratio": o.pending_pod_s / s.pending_pod_s if s.pending_pod_s else None,
        "node_hours_ratio": o.node_s / s.node_s if s.node_s else None,
        "disrupted_pods_ours": ours.drains.evicted + o.lost,
        "outage_recovery_s": recovery,
        "outage_recovery_target_s": 2 * TICK_S + BOOT_S,
        "disrupted_pods_seed": seed.drains.evicted + s.lost,
        "preempted_pods_ours": o.preempted,
        "preempted_pods_seed": s.preempted,
        "headroom_nodes": Policy().headroom_nodes,
        "simulated_hours": HOURS,
        "step_s": STEP_S,
    })


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print only the figures, as one JSON line")
    parser.add_argument("--seed", type=int, default=SEED, help="the workload generator's seed")
    parser.add_argument("--sweep", type=int, default=0, metavar="N",
                        help="also replay workloads of seeds 1..N and add the medians and worst of their ratios")
    args = parser.parse_args(argv)
    started = time.monotonic()
    workload = Workload.generate(args.seed)
    result = figures(run_ours(workload), run_seed(workload))
    lines = [f"workload seed {args.seed}: {len(workload.bursts)} bursts, {len(workload.preempts)} preemptions"]
    if args.sweep:
        rounds = [figures(run_ours(w), run_seed(w)) for w in map(Workload.generate, range(1, args.sweep + 1))]
        lines += [f"seed {i}: pending_ratio {r['pending_ratio']}, node_hours_ratio {r['node_hours_ratio']}, "
                  f"outage_recovery_s {r['outage_recovery_s']}" for i, r in enumerate(rounds, start=1)]
        keys = ("pending_ratio", "node_hours_ratio", "outage_recovery_s")
        result.update({f"sweep_median_{k}": v for k, v in median_of(rounds, keys).items()}, sweep_seeds=args.sweep)
        result.update({f"sweep_worst_{k}": max(r[k] for r in rounds) for k in keys})  # every ratio: lower is better
    lines.append(f"replayed in {time.monotonic() - started:.1f} s wall time")
    emit(result, args.json, lines + [f"{k}: {v}" for k, v in result.items()])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
