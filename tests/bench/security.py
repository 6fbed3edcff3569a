"""Benchmark: spoofed requests against the local stack, one agent passing for another.

    python -m tests.bench.security [--json]        (or: python3 tasks.py bench security --json)

Stack (bench_stack): Azurite, the simulator (ARM, IMDS with attested documents, Entra ID,
KubeSim) and the real app in a dev host (timers and queue listeners off). The master registers
with the master VM's attested document; agents A and B join with their own. Then A, with every
credential its VM really holds (agent token, function key, its node credential, its IMDS), runs
each case of tests/functions/spoofing.py against B: joins as B (plain, fresh, with A's nonce,
without a document, replayed), leave, events (Preempt and Started), status reads, and the
master's routes. A case counts as accepted if the app answered below 400 or B was touched
anyway (its Node, node-password secret, registry row or credential). Then A's own flows must
still work (status, an event, a re-join that rotates its credential).

Figures: spoofed_requests_accepted (goal 0), cases, refused_by_code, own_flows_ok.
The last line is one JSON object.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter

from tests.bench.common import bench_stack, emit
from tests.functions import spoofing

QUIET = ("--no-timers", "--no-queues")


def own_flows(stack, a) -> bool:
    """A acting as itself: its status, a Preempt for its own VM, a re-join rotating its credential."""
    name, first = a.computer_name, stack.node_credentials[a.computer_name]
    status = stack.call("GET", f"nodes/{name}", who="agent", headers=stack.identities.headers(name))
    event = spoofing._events(stack, name, a.name, "own-preempt", "Scheduled", stack.identities.headers(name))
    rejoin = stack.join(name)
    return status.ok and event.status_code == 202 and rejoin.ok and stack.node_credentials[name] != first


def run() -> dict:
    with bench_stack(agents=3, sim_options={"kube_options": {"scrypt_log_n": 4}}) as stack:
        stack.start_host(args=QUIET)
        stack.register_master()
        a, b = stack.sim.vms[:2]
        for vm in (a, b):
            stack.sim.kube.add_node(vm.computer_name)
            joined = stack.join(vm.computer_name)
            if not joined.ok:
                raise RuntimeError(f"{vm.computer_name} could not join as itself: {joined.text}")
        outcomes = spoofing.run(stack, a.computer_name, b.computer_name, b.name)
        figures = {"spoofed_requests_accepted": sum(o.accepted for o in outcomes), "cases": len(outcomes),
                   "accepted_cases": [o.case for o in outcomes if o.accepted],
                   "refused_by_code": dict(sorted(Counter(f"{o.status} {o.code}" for o in outcomes
                                                          if not o.accepted).items())),
                   "own_flows_ok": own_flows(stack, a)}
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print only the figures, as one JSON line")
    args = parser.parse_args(argv)
    figures = run()
    emit(figures, args.json, [f"{key:>26}: {value}" for key, value in figures.items()])
    return 0 if figures["spoofed_requests_accepted"] == 0 and figures["own_flows_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
