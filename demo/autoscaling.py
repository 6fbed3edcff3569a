"""Autoscale chapters: a burst of pending pods answered in one decision, and idle time that scales
down a chosen node. The ticks are the autoscale timer's code path (`Services.autoscaler(now).tick`),
run in this process with the app's settings, as the reconcile ticks are (demo/ghost.py).

The autoscaler's clock is `utcnow() + story.later` (+ a tick's own `later`): the idle chapter moves it past
NODEPOOL_AUTOSCALE_UNNEEDED_TIME and the delay after a scale-up (10 minutes each) instead of
waiting them out; everything else (ARM, Kubernetes, the drain, the joins) runs in real time.
"""
from __future__ import annotations

import json
from datetime import timedelta

from demo.timeline import check, wait_until
from demo.vms import Helper
from nodepool.core.clock import utcnow
from nodepool.settings import Settings
from nodepool.wiring import Services

# Two pools: the simulator's own scale set, spot and preferred, and a Regular fallback (min 0), as the
# infra deploys them. A node's room is the simulated node's allocatable (4 CPU, 16284 MiB) less the
# svclb DaemonSet pod every node runs (10m, 20Mi).
SHAPE = {"vm_size": "Standard_D4s_v5", "cpu": "3990m", "memory": "16264Mi", "min": 0, "max": 20}
POOLS = [{"name": "spot", "scale_set": "agents", "priority": "spot", "preference": 0, **SHAPE},
         {"name": "regular", "scale_set": "regular", "priority": "regular", "preference": 1, **SHAPE}]
APP_SETTINGS = {"NODEPOOL_AUTOSCALE_POOLS": json.dumps(POOLS), "NODEPOOL_AUTOSCALE_HEADROOM_NODES": "0"}
BATCH = {"cpu": "1", "memory": "1Gi"}
UNNEEDED_FROM = timedelta(minutes=11)  # past NODEPOOL_AUTOSCALE_DELAY_AFTER_SCALE_UP (600 s)
IDLE_AFTER = timedelta(minutes=22)  # and NODEPOOL_AUTOSCALE_UNNEEDED_TIME (600 s) after that


def tick(story, later: timedelta = timedelta(0)):
    now = utcnow() + story.later + later
    services = story.autoscale_services or Services(Settings.from_env(story.stack.app_env))
    story.autoscale_services = services  # one Autoscaler per worker, as in the app
    return services.autoscaler(now).tick(now)


def pending_pods(story, app: str) -> list[dict]:
    return [p for p in story.pods(app) if not p["spec"].get("nodeName")]


def settled(story, app: str, pods: int) -> bool:
    """Every pod of `app` Running, or Pending with the scheduler's verdict: Unschedulable."""
    pending = pending_pods(story, app)
    verdicts = all((p["status"].get("conditions") or [{}])[0].get("reason") == "Unschedulable" for p in pending)
    return bool(pending) and verdicts and story.running(app) + len(pending) == pods


def burst(story, pods: int) -> None:
    t, sim = story.t, story.sim
    capacity = sim.pool("agents").capacity
    story.kube.add_pods(None, pods, owner="ReplicaSet/batch", requests=BATCH)
    story.recorder.mark("event", f"burst of {pods} batch pods")
    wait_until(lambda: settled(story, "batch", pods), 20, "the burst's pods Running or Pending as Unschedulable")
    pending = len(pending_pods(story, "batch"))
    t.say(f"a burst: ReplicaSet batch, {pods} pods of 1 CPU; {pods - pending} fit on the nodes there are, "
          f"{pending} Pending (Unschedulable)")
    report = tick(story)
    added = report.planned.get("scale_up_nodes", 0)
    story.recorder.mark("decision", f"autoscale: scale_up_nodes {added}")
    check(added > 0 and report.applied == 1, f"the autoscale tick did not answer the burst: {report.line()}")
    check(sim.pool("agents").capacity == capacity + added, f"capacity {sim.pool('agents').capacity}, "
                                                           f"expected {capacity + added}")
    t.say(f"autoscale tick (the timer's code path): {report.line().split(': ', 1)[1]}; scale set agents "
          f"{capacity} -> {capacity + added} in one capacity write")
    new = new_vms(story, sim.pool("agents"), added, appear_s=30)
    join_new(story, new)
    wait_until(lambda: story.running("batch") == pods, 60, f"all {pods} batch pods Running")
    again = tick(story)
    check("scale_up_nodes" not in again.planned, f"a second tick still scaled up: {again.line()}")
    t.more(f"{len(new)} new VMs joined with `agent join` ({', '.join(vm.computer_name for vm in new)}); "
           f"batch {pods}/{pods} Running; the next tick plans no scale-up: the burst was answered in one decision")
    story.facts["burst"] = {"pods": pods, "pending": pending, "scale_up_nodes": added,
                            "new_vms": [vm.computer_name for vm in new]}


def idle_scale_down(story) -> None:
    t, sim, kube = story.t, story.sim, story.kube
    _delete_pods(story, "batch")
    wait_until(lambda: not story.pods("batch"), 20, "the batch pods gone")
    story.recorder.mark("event", "batch done: nodes idle")
    t.say("the batch work is done: its pods are gone and the nodes it brought are nearly idle")
    tick(story, UNNEEDED_FROM)  # past the delay after the burst's scale-up: from here the idle nodes are unneeded
    before = sorted(n["metadata"]["name"] for n in _agent_nodes(story))
    first = tick(story, IDLE_AFTER)
    chosen = first.planned.get("scale_down", 0)
    story.recorder.mark("decision", f"autoscale: scale_down {chosen}")
    check(chosen > 0, f"no scale-down after {IDLE_AFTER} idle: {first.line()}")
    t.say(f"autoscale tick {IDLE_AFTER.seconds // 60}+ min later (its clock moved on, not the world's): "
          f"{first.line().split(': ', 1)[1]}")

    def affected():
        cordoned = [n for n in before if ((kube.node(n) or {}).get("spec") or {}).get("unschedulable")]
        empty = [n for n in before if kube.node(n) is None]  # no pods to move: its instance deleted in that tick
        return (cordoned, empty) if len(cordoned) + len(empty) >= chosen else None

    names, empty = wait_until(affected, 20, "the chosen nodes cordoned")
    t.more(f"chosen: {', '.join(names) or 'none with pods'} (cordoned, drained through node-events, type ScaleDown)"
           + (f"; {', '.join(empty)} (empty: deleted in that tick, nothing to drain)" if empty else ""))
    wait_until(lambda: all((story.app.registry.node(n) or None) and story.app.registry.node(n).drained_at
                           for n in names), 60, "the chosen nodes drained")
    gone_before = len(sim.vms)  # the empty ones' VMs already deleted

    def finished():
        report = tick(story, IDLE_AFTER + timedelta(minutes=1))
        return report if len(sim.vms) < gone_before or report.planned.get("finish_scale_down") else None

    done = wait_until(finished, 60, "the drained nodes' instances deleted", interval=1.0)
    wait_until(lambda: all(kube.node(n) is None for n in names) and len(sim.vms) <= gone_before - len(names), 60,
               "their Nodes and VMs gone")
    names = sorted(names + empty)
    for name in names:
        story.helpers[name].stop()
    story.recorder.mark("decision", f"autoscale: deleted {', '.join(names)}")
    t.more(f"{done.line().split(': ', 1)[1]}; {', '.join(names)}: instances deleted (those instances, by id), "
           f"Nodes and node-password secrets removed; scale set agents now {sim.pool('agents').capacity}")
    story.facts["scale_down"] = {"nodes": names}


def _agent_nodes(story) -> list[dict]:
    names = {h.name for h in story.agents()}
    with story.kube.cluster.lock:
        return [n for n in story.kube.cluster.store.items("nodes") if n["metadata"]["name"] in names]


def _delete_pods(story, app: str) -> None:
    """The ReplicaSet deleted with its pods (its simulated controller gone first, so none is recreated)."""
    cluster = story.kube.cluster
    with cluster.lock:
        cluster.pods.owners.pop(("default", "ReplicaSet", app), None)
        names = [p["metadata"]["name"] for p in cluster.store.items("pods")
                 if (p["metadata"].get("labels") or {}).get("app") == app]
        for name in names:
            cluster.pods.delete("default", name, 0)


def new_vms(story, world, count: int, appear_s: float = 20) -> list:
    """The `count` VMs the autoscaler just added to `world`'s scale set (named, no helper yet), once booted."""
    def added():
        vms = [vm for vm in world.listing()
               if vm.computer_name and vm.computer_name not in story.helpers and not vm.gone]
        return vms if len(vms) >= count else None

    vms = wait_until(added, appear_s, f"{count} new VMs in scale set {world.config.scale_set}")
    wait_until(lambda: all(vm.power == "running" for vm in vms), 60, f"the new {world.config.scale_set} VMs booted")
    return vms


def join_new(story, vms) -> None:
    """VMs the autoscaler added: each boots its helper, as agent cloud-init does (join, then watch)."""
    disks = story.work / "disks"
    for vm in vms:
        story.helpers[vm.computer_name] = Helper(story.stack, vm, disks, story.opts.logs)
    joins = {vm.computer_name: story.helpers[vm.computer_name].run("join", "--join-timeout", "60") for vm in vms}
    for name, proc in joins.items():
        code = proc.wait(70)
        check(code == 0, f"`agent join` on {name} exited {code}:\n{proc.text()}")
        story.helpers[name].run("watch")
    wait_until(lambda: all(story.ready(name) == "True" for name in joins), 20, "the new Nodes Ready")
