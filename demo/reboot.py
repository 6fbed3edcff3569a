"""The reboot: a Reboot scheduled event; the node is cordoned and drained and the VM stays; it restarts,
its Node comes back Ready, and the reconcile tick uncordons it (reconcile_rules.reboots).

The simulator puts the Reboot in the VM's IMDS; `agent watch` forwards it, the app cordons and
drains (lifecycle "drained": the row cordoned, the Node kept), the agent acknowledges once the
drain is done, and the VM restarts then (sim/platform_events.py). The uncordon is the reconcile
timer's code path, run here as in demo/ghost.py.
"""
from __future__ import annotations

import random
import time

from demo.eviction import evictable
from demo.ghost import grouped, tick
from demo.milestones import Milestones
from demo.timeline import check
from nodepool.settings import Settings

NOTICE = 10.0  # Azure gives a Reboot at least 15 min; the agent starts it as soon as the drain is done


def schedulable(story, name: str) -> bool:
    node = story.kube.node(name) or {}
    return bool(node) and not (node.get("spec") or {}).get("unschedulable")


def pick(story):
    """A VM of the spot pool still running, Ready and schedulable, picked with --seed."""
    alive = [h for h in story.agents() if h.vm in story.sim.vms and h.vm.power == "running"
             and story.ready(h.name) == "True" and schedulable(story, h.name) and "watch" in h.procs]
    check(alive, "no running agent left to reboot")
    return random.Random(story.opts.seed).choice(sorted(alive, key=lambda h: h.name))


def reboot(story) -> dict:
    t, sim, kube = story.t, story.sim, story.kube
    helper = pick(story)
    name, vm, watch = helper.name, helper.vm, helper.procs["watch"]
    pods = sum(1 for p in kube.pods(name) if evictable(p))
    marks = Milestones()
    try:
        event = sim.reboot(vm.name, notice=NOTICE)
        appeared = event.not_before - NOTICE
        row = lambda: story.app.registry.node(name)  # noqa: E731
        marks.watch("cordoned", lambda: not schedulable(story, name) and kube.node(name))
        marks.watch("drained", lambda: row() and row().drained_at and row().last_event_id == event.event_id)
        marks.watch("started", lambda: event.status == "Started")
        marks.watch("down", lambda: story.ready(name) != "True")
        marks.watch("back", lambda: marks.at("down") and story.ready(name) == "True")
        story.recorder.mark("event", f"Reboot {name}")
        t.say(f"a reboot: Reboot for {name} ({vm.name}) appears in its IMDS; NotBefore in {NOTICE:.0f} s")
        cordoned = marks.wait("cordoned", NOTICE, f"{name} cordoned")
        drained = marks.wait("drained", NOTICE, f"{name} drained")
        started = marks.wait("started", NOTICE, f"the Reboot {event.event_id} acknowledged")
        forwarded = watch.first(f"forwarded event {event.event_id}")
        check(forwarded, f"`agent watch` on {name} did not forward the Reboot")
        check(kube.node(name) is not None and row().state.value == "cordoned",
              f"after the drain: Node {kube.node(name) is not None}, row {row()}")
        t.more(f"`agent watch` forwarded it; cordoned +{cordoned - appeared:.2f} s, {pods} pods drained by "
               f"+{drained - appeared:.1f} s; the VM stays: Node kept, GET /api/nodes/{name} state "
               f"{_api_state(story, name)}; acknowledged (StartRequests) +{started - appeared:.1f} s: it restarts")
        down = marks.wait("down", story.opts.grace + 10, f"Node {name} NotReady while the VM restarts")
        back = marks.wait("back", 60, f"Node {name} Ready again")
    finally:
        marks.stop()
    same = sim.vm(vm.instance_id)
    check(same.vm_id == vm.vm_id and same.power == "running", f"VM {vm.name} was replaced or is not running")
    check(not schedulable(story, name), f"Node {name} schedulable before the reconcile tick")
    t.more(f"Node NotReady +{down - appeared:.1f} s, Ready again +{back - appeared:.1f} s (same VM, vmId "
           f"{vm.vm_id[:8]}...), still cordoned: a reboot's cordon is lifted by reconcile, not by the agent")
    story.recorder.mark("decision", "reconcile: uncordon")
    report, lines = tick(Settings.from_env(story.stack.app_env))
    uncordons = [line for line in lines if line.startswith(f"reconcile uncordon_node {name}")]
    check(report.planned.get("uncordon_node") and uncordons and schedulable(story, name),
          f"reconcile did not uncordon {name}: {report.line()}")
    state = _api_state(story, name)
    check(state == "ready", f"GET /api/nodes/{name} after the uncordon: state {state}")
    t.say(f"reconcile tick ({report.seconds:.2f} s): planned "
          + ", ".join(f"{k} {v}" for k, v in sorted(report.planned.items())) + f"; applied {report.applied}")
    for line in grouped(uncordons):
        t.more(line)
    t.more(f"Node {name} schedulable again; GET /api/nodes/{name}: state {state}")
    return {"node": name, "pods_drained": pods, "cordon_s": round(cordoned - appeared, 2),
            "drained_s": round(drained - appeared, 2), "acked_s": round(started - appeared, 2),
            "not_ready_s": round(down - appeared, 1), "ready_again_s": round(back - appeared, 1),
            "uncordoned": True, "total_s": round(time.time() - appeared, 1)}


def _api_state(story, name: str) -> str:
    return (story.stack.node_row(name) or {}).get("state", "absent")
