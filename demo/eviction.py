"""Steps 4 and 5: a spot eviction with notice (30 s as Azure gives, then a short 5 s one), followed
from the event appearing in IMDS to the VM's end.

Nothing here drives the product: the simulator puts a Preempt event in the VM's IMDS, and from then
on it is the real `agent watch` (forward, poll the drain, acknowledge), the app (cordon, enqueue, start
the drain at once) and its drain (evict through the Eviction API, delete the Node). The demo only watches the
simulated world and times what happens, against the event's NotBefore.
"""
from __future__ import annotations

import time

from agent.watch import POLL_S
from demo import measure
from demo.milestones import Milestones
from demo.timeline import check, wait_until


def evictable(pod: dict) -> bool:
    refs = pod["metadata"].get("ownerReferences") or [{}]
    return refs[0].get("kind") not in ("DaemonSet", "Node") and not pod["metadata"].get("deletionTimestamp")


def spot_eviction(story, victim=None, notice: float | None = None, what: str = "spot eviction") -> dict:
    """One Preempt with `notice` seconds, followed to the VM's end; returns what was measured."""
    t, sim, kube = story.t, story.sim, story.kube
    victim = victim or story.victim
    notice = story.opts.notice if notice is None else notice
    name, watch = victim.name, victim.procs["watch"]
    evicting = [p["metadata"]["name"] for p in kube.pods(name) if evictable(p)]
    calls_before = kube.requests["POST pods/eviction"]
    marks, event, emptied = Milestones(), None, None
    try:
        event = sim.preempt(victim.vm.name, notice=notice)
        appeared, ends = event.not_before - notice, event.not_before
        marks.watch("cordoned", lambda: ((kube.node(name) or {}).get("spec") or {}).get("unschedulable"))
        marks.watch("emptied", lambda: not [p for p in kube.pods(name) if evictable(p)])
        marks.watch("deleted", lambda: kube.node(name) is None)
        marks.watch("acked", lambda: event.status == "Started")
        marks.watch("gone", lambda: all(vm.instance_id != victim.vm.instance_id for vm in sim.vms))
        story.recorder.mark("event", f"Preempt {name} ({notice:.0f} s notice)")
        t.say(f"{what}: Preempt for {name} ({victim.vm.name}) appears in its IMDS; NotBefore in {notice:.0f} s")

        def left() -> float:
            return max(0.5, ends - time.time())

        cordoned = marks.wait("cordoned", left(), f"{name} cordoned")
        forwarded = wait_until(lambda: watch.first(f"forwarded event {event.event_id}"), left(),
                               "`agent watch` forwarding the event")
        seen = watch.first(f"new event {event.event_id}") or forwarded
        t.more(f"`agent watch` saw it +{seen - appeared:.2f} s ({POLL_S:g}-s IMDS poll) and forwarded it "
               "(POST /api/events); "
               f"Node cordoned {1000 * (cordoned - appeared):.0f} ms after the event appeared "
               f"({1000 * (cordoned - seen):.0f} ms after the agent saw it)")
        emptied = marks.wait("emptied", left(), f"{name} drained")
        wait_until(lambda: story.running("web", off=name) == story.opts.pods and story.running("db", off=name) == 3,
                   left(), "every evicted pod Running on another node")
        calls = kube.requests["POST pods/eviction"] - calls_before
        t.more("drain (started by POST /api/events; the queue message is its fallback): "
               f"{len(evicting)} pods evicted by +{emptied - appeared:.1f} s "
               f"({calls} Eviction API calls, {calls - len(evicting)} refused by PDB db and retried); "
               f"all Running elsewhere: web {story.opts.pods}/{story.opts.pods}, db 3/3")
        deleted = marks.wait("deleted", left(), f"Node {name} deleted")
        acked = marks.wait("acked", left(), f"event {event.event_id} acknowledged")
        gone = marks.wait("gone", left(), f"VM {victim.vm.name} gone")
    finally:
        marks.stop()
        if event is not None:  # measured even when a step failed: a missed deadline is counted
            drained = emptied is not None and emptied < event.not_before
            measure.record_preemption(story, name, event.event_id, notice, drained)
    check(gone < ends and deleted < ends, f"the VM went at NotBefore, not on our acknowledgement "
                                          f"(deleted {deleted - appeared:.1f} s, gone {gone - appeared:.1f} s)")
    t.more(f"Node deleted +{deleted - appeared:.1f} s, event acknowledged (StartRequests) +{acked - appeared:.1f} s, "
           f"VM gone +{gone - appeared:.1f} s: {ends - gone:.1f} s before NotBefore")
    ack_line = f"acknowledged event {event.event_id} (Preempt): every node it names is drained"
    wait_until(lambda: watch.first(ack_line), 5, f"`agent watch` logging '{ack_line}'")
    row = story.stack.node_row(name) or {}
    check(row.get("state") == "deleted" and row.get("last_event_id") == event.event_id and not row.get("pods_left"),
          f"GET /api/nodes/{name} after the drain: {row}")
    t.more(f"GET /api/nodes/{name}: state {row['state']}, last_event_id {event.event_id[:8]}..., "
           f"pods_left {row.get('pods_left', 0)}; the VM's helper stopped with it")
    victim.stop()
    return dict(cordon_ms=round(1000 * (cordoned - appeared)), seen_s=round(seen - appeared, 2),
                 cordon_after_seen_ms=round(1000 * (cordoned - seen)), forwarded_s=round(forwarded - appeared, 2),
                 pods_evicted=len(evicting), eviction_calls=calls, drained_s=round(emptied - appeared, 2),
                 node_deleted_s=round(deleted - appeared, 2), acked_s=round(acked - appeared, 2),
                 vm_gone_s=round(gone - appeared, 2), before_not_before_s=round(ends - gone, 1),
                 deleted_before_not_before=deleted < ends and gone < ends)
