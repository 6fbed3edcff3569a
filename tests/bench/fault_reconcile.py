"""Reconcile under bad observations, for tests/bench/faults.py: the production tick (in this
process, tests/functions/reconcile_stack.py) against the simulator's ARM and Kubernetes and
Azurite, on a converged pool, with the listing faults the simulator can inject: partial, short,
failing and view-less ARM lists, a lost baseline, and then three NotReady Nodes seen through a
stale Node list (a cache answering from before they healed), through clocks 10 min apart (the
app's ahead; the app's behind, then corrected), and a deallocated VM listed twice (once running).
Every ARM or Kubernetes write a tick makes while its observation is bad is a destructive action on
a bad observation when it deletes, reimages, (re)starts, deallocates or powers off.
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


CLOCK_STEPS = (0, 1, 5, 9)  # minutes after the first look on a good clock: a repair is due at 10


def _not_ready(stack: ReconcileStack, vms: list, on: bool = True) -> None:
    for vm in vms:
        stack.sim.partition(vm.instance_id, on)
    stack.sim.wait_until(lambda: all((stack.ready(vm.computer_name) == "True") is not on for vm in vms), timeout=10)


def _walked(stack: ReconcileStack, minutes, start: timedelta = timedelta(0)) -> tuple[int, int]:
    before = stack.requests()
    for m in minutes:
        stack.tick(after=start + timedelta(minutes=m))
    return destructive(writes(before, stack.requests())), len(minutes)


def _stale_node_list(stack: ReconcileStack, vms: list) -> tuple[int, int]:
    """NotReady, seen; healed, seen; then the Node list answered from before the heal."""
    _not_ready(stack, vms)
    stack.tick()
    before_heal = stack.sim.kube.snapshot()
    _not_ready(stack, vms, on=False)
    stack.tick()
    stack.sim.kube.faults.add("stale_list", path="/api/v1/nodes", snapshot=before_heal)
    found = _walked(stack, HOLD_STEPS)
    stack.sim.kube.faults.clear()
    return found


def _app_clock_fast(stack: ReconcileStack, vms: list) -> tuple[int, int]:
    """NotReady for a second, seen by an app whose clock runs 10 min ahead."""
    _not_ready(stack, vms)
    found = _walked(stack, CLOCK_STEPS, timedelta(minutes=10))
    _not_ready(stack, vms, on=False)
    return found


def _app_clock_slow_then_corrected(stack: ReconcileStack, vms: list) -> tuple[int, int]:
    """The API server's clock 10 min ahead of the app's while the Nodes go NotReady; then the app's is set right."""
    stack.sim.kube.faults.add("skew", delay=600)
    _not_ready(stack, vms)
    slow, n = _walked(stack, (0, 1))
    corrected, m = _walked(stack, CLOCK_STEPS, timedelta(minutes=10))
    stack.sim.kube.faults.clear()
    _not_ready(stack, vms, on=False)
    return slow + corrected, n + m


def _listed_twice(stack: ReconcileStack, _: list) -> tuple[int, int]:
    """The last VM of the first page deallocated on purpose (its Node NotReady), listed again on the
    next page, running: the page boundary moved while the tick paged."""
    vm = stack.sim.vms[stack.sim.arm.page_size - 1]
    stack.sim.world.act("deallocate", [vm.instance_id])
    stack.sim.wait_until(lambda: stack.ready(vm.computer_name) != "True", timeout=10)
    stack.sim.arm_fault("duplicate", state="running")
    found = _walked(stack, HOLD_STEPS)
    stack.sim.arm.faults.clear()
    stack.sim.world.act("start", [vm.instance_id])
    stack.sim.wait_until(lambda: stack.ready(vm.computer_name) == "True", timeout=10)
    return found


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
    _converge(stack)
    for name, run in {"stale Node list (from before a heal)": _stale_node_list,
                      "app clock 10 min fast": _app_clock_fast,
                      "app clock 10 min slow, then corrected": _app_clock_slow_then_corrected,
                      "deallocated VM listed twice, once running": _listed_twice}.items():
        found[name], n = run(stack, local.sim.vms[-3:])  # the last three VMs whose Nodes go NotReady
        injected += n
        _converge(stack)
    _converge(stack)  # the pool is whole again: nothing was owed
    return {"destructive_actions_on_bad_observation": sum(found.values()), "reconcile_faults": injected,
            "destructive_by_scenario": found}
