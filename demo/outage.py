"""The spot capacity outage: spot capacity gone (ARM answers SkuNotAvailable), pending pods, the
autoscaler falls back to the regular pool in one decision; its VM joins and takes the pods; capacity
returns and the pool returns to spot: a spot node again, the regular one scaled down.

The outage is the simulator's (sim/capacity.py: a scale-out of the spot scale set refused with
ARM's 409 and code); everything after it is the autoscaler's own decisions (Services.autoscaler, the
timer's code path, as in demo/autoscaling.py). Its clock moves past what it waits for (spot's
SkuNotAvailable backoff, 1 h; a fallback node's unneeded time, 1 min) instead of waiting them out:
`story.later` carries the move forward, so later chapters' ticks never go back in time.
"""
from __future__ import annotations

from datetime import timedelta

from demo.autoscaling import BATCH, join_new, new_vms, pending_pods, settled, tick
from demo.ghost import log_lines
from demo.timeline import check, wait_until

SPOT, REGULAR = "agents", "regular"  # the scale sets of the pools spot and regular
PODS = 3  # of 1 CPU: one regular node's worth, more than the spot nodes have free after the burst
BACKOFF_PAST = timedelta(hours=1, minutes=1)  # past the SkuNotAvailable backoff (Policy: 1 h)
FALLBACK_UNNEEDED = timedelta(minutes=2)  # past a fallback node's unneeded time (Policy: 1 min)


def capacity_outage(story) -> dict:
    t, sim = story.t, story.sim
    spot, regular = sim.pool(SPOT), sim.pool(REGULAR)
    spot.capacity_left.refuse("SkuNotAvailable")  # until restore(): every spot scale-out refused
    story.recorder.mark("event", "spot capacity gone (SkuNotAvailable)")
    story.kube.add_pods(None, PODS, owner="ReplicaSet/surge", requests=BATCH)
    wait_until(lambda: settled(story, "surge", PODS), 20, "the surge's pods Running or Pending as Unschedulable")
    waiting = len(pending_pods(story, "surge"))
    check(waiting > 0, "every surge pod fit on the nodes there are: nothing for the autoscaler to do")
    t.say(f"a spot capacity outage: ARM refuses spot scale-outs (409 SkuNotAvailable); ReplicaSet surge, "
          f"{PODS} pods of 1 CPU, {waiting} Pending (Unschedulable)")
    spot_before, regular_before, refused = spot.capacity, regular.capacity, spot.capacity_left.refused
    with log_lines("nodepool.autoscale") as lines:
        report = tick(story)
    added = regular.capacity - regular_before
    story.recorder.mark("decision", f"autoscale: spot backed off, regular +{added}")
    check(report.backed_off.get("spot") == "SkuNotAvailable" and spot.capacity_left.refused == refused + 1,
          f"the tick did not meet the outage: {report.line()}")
    check(spot.capacity == spot_before and added == report.planned.get("scale_up_nodes", 0) > 0,
          f"no fallback: spot {spot.capacity}, regular {regular.capacity}: {report.line()}")
    t.say(f"autoscale tick: {report.line().split(': ', 1)[1]}")
    t.more(_line(lines, "regular capacity") + f"; spot stays at {spot.capacity}")
    fallback = new_vms(story, regular, added)
    join_new(story, fallback)
    wait_until(lambda: story.running("surge") == PODS, 30, f"the surge's {PODS} pods Running")
    names = [vm.computer_name for vm in fallback]
    on_fallback = sum(1 for p in story.pods("surge") if p["spec"].get("nodeName") in names)
    check(on_fallback > 0, "no surge pod on the regular node")
    t.more(f"{', '.join(names)} (Regular) joined with `agent join`, attested by its own IMDS; surge {PODS}/{PODS} "
           f"Running, {on_fallback} on it")
    back = _return_to_spot(story, spot, regular, names)
    return {"pods": PODS, "pending": waiting, "backed_off": report.backed_off, "fallback_vms": names, **back}


def _return_to_spot(story, spot, regular, fallback: list[str]) -> dict:
    t, kube = story.t, story.kube
    spot.capacity_left.restore()
    story.recorder.mark("event", "spot capacity back")
    story.later += BACKOFF_PAST
    spot_before = spot.capacity
    with log_lines("nodepool.autoscale") as lines:
        report = tick(story)
    added = spot.capacity - spot_before
    story.recorder.mark("decision", f"autoscale: back to spot +{added}")
    check(any("spot: backoff ended" in n for n in report.notes) and added > 0 and regular.capacity == len(fallback),
          f"the pool did not return to spot: {report.line()}")
    t.say(f"spot capacity is back; autoscale tick {BACKOFF_PAST.total_seconds() / 60:.0f} min later (past spot's 1-h "
          f"SkuNotAvailable backoff): {report.line().split(': ', 1)[1]}")
    t.more(_line(lines, "spot capacity") + " (the fallback node's pods belong on spot)")
    new = new_vms(story, spot, added)
    join_new(story, new)
    chosen = wait_until(lambda: _scaled_down(story, fallback), 20, "the regular node chosen for scale-down",
                        interval=0.5)
    story.recorder.mark("decision", f"autoscale: scale_down {', '.join(fallback)}")
    t.more(f"{', '.join(n.computer_name for n in new)} (Spot) joined; a tick marks the regular node unneeded, one "
           f"{FALLBACK_UNNEEDED.seconds // 60} min later (a fallback node's unneeded time: 1 min): "
           f"{chosen.line().split(': ', 1)[1]}")
    wait_until(lambda: all(story.app.registry.node(n) and story.app.registry.node(n).drained_at for n in fallback),
               30, "the regular node drained")

    def finished() -> bool:
        tick(story)
        return regular.capacity == 0 and all(kube.node(n) is None for n in fallback)

    wait_until(finished, 30, "the regular node's instance deleted and its Node gone", interval=0.5)
    for name in fallback:
        story.helpers[name].stop()
    wait_until(lambda: story.running("surge") == PODS, 30, f"the surge's {PODS} pods Running again")
    spread = sorted({p["spec"]["nodeName"] for p in story.pods("surge")})
    check(not set(spread) & set(fallback), f"surge pods still on {spread}")
    story.recorder.mark("decision", "autoscale: regular instance deleted")
    t.more(f"{', '.join(fallback)} cordoned, drained (ScaleDown) and its instance deleted; scale set regular "
           f"{regular.capacity}, agents {spot.capacity}; surge {PODS}/{PODS} Running on spot ({', '.join(spread)})")
    return {"spot_vms": [vm.computer_name for vm in new], "regular_after": regular.capacity}


def _scaled_down(story, fallback: list[str]):
    """One tick notes the fallback node unneeded; the clock then moves past its unneeded time for the next."""
    report = tick(story)
    story.later += FALLBACK_UNNEEDED
    cordoned = all(((story.kube.node(n) or {}).get("spec") or {}).get("unschedulable") for n in fallback)
    return report if report.planned.get("scale_down") and cordoned else None


def _line(lines: list[str], what: str) -> str:
    """The autoscaler's own log line about `what` (a capacity write and its reason)."""
    found = [line.removeprefix("autoscale ") for line in lines if what in line]
    check(found, f"no autoscale log line about {what}: {lines}")
    return found[0]
