"""Reconcile under bad observations, for tests/bench/faults.py: the production tick (in this
process, tests/functions/reconcile_stack.py) against the simulator's ARM and Kubernetes and
Azurite, on a converged pool, with the listing faults the simulator can inject. Every ARM or
Kubernetes write a tick makes while its observation is bad is a destructive action on a bad
observation when it deletes, reimages, (re)starts, deallocates or powers off.
"""
from __future__ import annotations

from datetime import timedelta

from tests.functions.reconcile_stack import ReconcileStack, writes

DESTRUCTIVE = ("delete", "reimage", "restart", "start", "deallocate", "poweroff")
HOLD_STEPS = (0, 5, 10, 20, 40, 80)  # minutes on the tick's clock: hold times are walked, not waited


def destructive(counts) -> int:
    return sum(n for key, n in counts.items()
               if key.startswith("kube DELETE nodes") or key.split()[1] == "DELETE"
               or any(word in key.lower().rsplit("/", 1)[-1] for word in DESTRUCTIVE))


def _converge(stack: ReconcileStack) -> None:
    for _ in range(6):
        if stack.tick().applied == 0:
            return


def _bad_ticks(stack: ReconcileStack, arm: list[dict], lose_baseline: bool = False) -> tuple[int, int]:
    """Ticks under `arm` faults (each kept for the scenario), the clock walked over the hold times."""
    stack.sim.arm.faults.clear()
    for fault in arm:
        stack.sim.arm_fault(**fault)
    before, injected = stack.requests(), 0
    for minutes in HOLD_STEPS:
        if lose_baseline:
            for row in list(stack.services.tables("reconcile").query("PartitionKey ne ''")):
                stack.services.tables("reconcile").delete(row["PartitionKey"], row["RowKey"])
        stack.tick(after=timedelta(minutes=minutes))
        injected += 1
    stack.sim.arm.faults.clear()
    return destructive(writes(before, stack.requests())), injected


def _staircase(stack: ReconcileStack, vms: int) -> tuple[int, int]:
    """Each listing under half the last, silently (101 -> 51 -> ... in the issue)."""
    before, keep, ticks = stack.requests(), vms, 0
    while keep > 1:
        keep = max(1, keep // 2)
        stack.sim.arm.faults.clear()
        stack.sim.arm_fault("short_list", keep=keep)
        stack.tick(after=timedelta(minutes=5 * ticks))
        ticks += 1
    stack.sim.arm.faults.clear()
    return destructive(writes(before, stack.requests())), ticks


def reconcile_faults(local) -> dict:
    stack = ReconcileStack(local.sim, {"AzureWebJobsStorage": local.connection_string()})
    stack.join_all()
    _converge(stack)
    vms = len(local.sim.vms)
    scenarios = {
        "partial ARM list (last page silently missing)": [{"kind": "short_list", "keep": max(1, vms * 3 // 4)}],
        "short ARM list (3 of all)": [{"kind": "short_list", "keep": 3}],
        "ARM page failing": [{"kind": "fail_page", "page": 2}],
        "ARM 429 storm": [{"kind": "throttle", "retry_after": 1}],
        "ARM 500 storm": [{"kind": "error", "status": 500}],
        "instances without instanceView": [{"kind": "no_view"}],
        "instances without PowerState": [{"kind": "no_view", "keep": 1}],
    }
    found, injected = {}, 0
    for name, faults in scenarios.items():
        found[name], n = _bad_ticks(stack, faults)
        injected += n
    found["lost baseline + short ARM list"], n = _bad_ticks(stack, [{"kind": "short_list", "keep": 3}], True)
    injected += n
    found["shrinking ARM lists"], n = _staircase(stack, vms)
    injected += n
    _converge(stack)  # the pool is whole again: nothing was owed
    return {"destructive_actions_on_bad_observation": sum(found.values()), "reconcile_faults": injected,
            "destructive_by_scenario": found}
