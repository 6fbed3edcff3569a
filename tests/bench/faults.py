"""Benchmark: the fault scenarios and a fuzz run, through the dev host, Azurite and the simulator.

    python -m tests.bench.faults [--json] [--fuzz N]     (or: python3 tasks.py bench faults --json)

Scenarios (each figure counted from what happened, none assumed):
- fuzz (tests/bench/fault_requests.py, tests/functions/http_fuzz.py): N requests (default 5000)
  over every endpoint: fuzz_5xx, writes_on_rejected (table writes through a counting proxy and
  queue messages on 4xx/5xx answers), secrets_leaked (answers and the host's log). The join
  nonce's designed 503 `instance_not_visible` (a valid hostname ARM does not list yet) is counted
  apart as fuzz_503_not_visible, not in fuzz_5xx;
- spoofed identities: forged/none/HS256 signatures, unknown kid, wrong audience, issuer, tenant,
  expired, not yet valid, the other role's identity, no function key: spoofed_requests_accepted.
  attested join: another VM's document, a replayed one; leave and events without a node
  credential or with another node's;
- clock skew: callers' tokens +-5 min off (skewed_callers_refused) and events whose NotBefore is
  5 min past or ahead;
- duplicate and reordered deliveries of scheduled events: duplicate_actions, events_lost;
- storage stopped after the k-th request of a join and restarted (k = 1..6 for every agent):
  joins_lost, orphan_tokens; and during drains (storage, or the Kubernetes API cut off):
  events_lost, left_draining;
- reconcile on a converged pool under partial, short, shrinking and failing ARM lists, 429 and
  500 storms, instances without instanceView or PowerState and a lost baseline, hold times
  walked; then NotReady Nodes seen through a stale Node list, through the app's clock 10 min
  fast, and 10 min slow then corrected, and a deallocated VM listed twice (once running):
  destructive_actions_on_bad_observation.
SKIPPED lists what the simulator cannot inject yet; those are not counted as 0 anywhere.
The last line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter

from localenv.stack import LocalStack
from tests.bench.common import emit
from tests.bench.fault_reconcile import reconcile_faults
from tests.bench.fault_requests import clock_skew, deliveries, fuzz, spoofed
from tests.bench.fault_storage import StorageCut, drains_through_faults, joins_through_restarts
from tests.functions.http_fuzz import target_for

AGENTS = 6
HOST_ARGS = ["--no-timers", "--no-queues"]  # nothing acts behind the bench's back; messages stay counted
SKIPPED = {
    "truncated Kubernetes lists": "the Kubernetes simulator cannot drop `continue` or shorten a list yet",
    "worker killed mid-message": "not built yet (needs a queue-listening host SIGKILLed inside a drain)",
}
FIGURES = ("fuzz_cases", "fuzz_5xx", "writes_on_rejected", "faults_injected", "events_lost", "joins_lost",
           "orphan_tokens", "duplicate_actions", "destructive_actions_on_bad_observation",
           "spoofed_requests_accepted")


def request_scenarios(local: LocalStack, fuzz_total: int) -> dict:
    proxy, cut = local.count_tables(), StorageCut(local.table_url).start()
    local._proxies.append(cut)
    fuzz_host = local.start_host(table_url=proxy.url, args=HOST_ARGS)
    cut_host = local.start_host(table_url=cut.url, args=HOST_ARGS)
    local.register_master(fuzz_host)
    target = target_for(local, proxy, fuzz_host)
    vm = next(v for v in local.sim.vms if v.instance_id)
    found = {**fuzz(target, fuzz_total, fuzz_host), **spoofed(local, fuzz_host, vm.computer_name),
             **clock_skew(local, fuzz_host, vm.computer_name)}
    from nodepool.settings import Settings
    from nodepool.wiring import Services
    registry = Services(Settings.from_env(local.app_env)).registry
    found.update(deliveries(local, fuzz_host, target.queue, registry, vm))
    joins = joins_through_restarts(local, cut, cut_host)
    names = [v.computer_name for v in local.sim.vms if v.instance_id]
    for name in names:
        if local.sim.kube.node(name) is None:
            local.sim.kube.add_node(name, unschedulable=True)
    drains = drains_through_faults(local, cut, names)
    found.update(joins, events_lost=found["events_lost"] + drains.pop("events_lost"), **drains)
    found["storage_requests_dropped"] = cut.dropped
    return found


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--json", action="store_true", help="print only the figures, as one JSON line")
    args.add_argument("--fuzz", type=int, default=5000, help="fuzz requests (default 5000)")
    options = args.parse_args(argv)
    if options.json:  # the drain's retry warnings are the scenario working, not news
        logging.getLogger("nodepool").setLevel(logging.ERROR)
    kube = {"grace_s": 0.2, "tick_s": 0.05}
    with LocalStack(AGENTS, sim_options={"page_size": 2, "boot_seconds": 0.1, "kube_options": kube}, hosts=0,
                    app_settings={"NODEPOOL_CLUSTER": "bench"}) as local:
        found = request_scenarios(local, options.fuzz)
    with LocalStack(20, sim_options={"page_size": 5, "kube_options": kube}, hosts=0) as local:
        found.update(reconcile_faults(local))
    injected = Counter({"storage requests dropped": found["storage_requests_dropped"],
                        "drain faults": found["drain_faults"],
                        "reconcile ticks on bad observations": found["reconcile_faults"],
                        "skewed clocks": found["skewed_clocks"] + found["skewed_events"],
                        "duplicate/reordered deliveries": found["deliveries"],
                        "spoofed requests": found["spoofed_cases"]})
    found["faults_injected"] = sum(injected.values())
    figures = {**{k: found[k] for k in FIGURES}, "fuzz_5xx_answers": found["fuzz_5xx_answers"],
               "fuzz_503_not_visible": found["fuzz_503_not_visible"],
               "secrets_leaked": found["secrets_leaked"],
               "left_draining": found["left_draining"], "skewed_callers_refused": found["skewed_callers_refused"],
               "scenarios_skipped": sorted(SKIPPED)}
    lines = [f"{k:>40}: {json.dumps(v)}" for k, v in found.items() if k not in figures] + \
            [f"{'skipped: ' + k:>40}: {why}" for k, v in SKIPPED.items() for why in [v]]
    emit(figures, options.json, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
