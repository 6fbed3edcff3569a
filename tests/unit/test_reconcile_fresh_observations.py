"""Reconcile acts only on fresh, consistent observations, for every pool, without locking small ones.

Each row replays what real systems produce on a pool of 200 (scale set `agents`) beside a Regular
fallback pool of 3 (`regular`), wired as the app wires them, for half an hour of ticks: a Node list
older than one already seen, the app's clock 10 min fast, 10 min slow then corrected, an instance
listed twice, one pool's listing failed or short. None may destroy anything; each says why in the
decision log (GET /api/status), and once the observation is good again what was due is done (the
positive control: the refusal was the guard's, not a stuck planner). Then the cases that must act:
the fallback pool's ghosts and NotReady VMs, and a pool of 3 with 2 dead VMs.
"""
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest

from nodepool.core.errors import Throttled
from nodepool.reconcile.tick import TickReport
from tests.unit.reconcile_fleet import FALLBACK, MAIN, Fleet, utcnow

HALF_HOUR = (0, 1, 5, 10, 11, 15, 20, 21, 25, 30)
SICK = ((MAIN, 5), (MAIN, 6), (FALLBACK, 1))  # NotReady on running VMs: their repairs come due


def not_ready(fleet: Fleet, *who, since=None) -> list[str]:
    names = [fleet.name(scale_set, i) for scale_set, i in who]
    for name in names:
        fleet.kube.set_ready(name, False, since=since or utcnow())
    return names


@dataclass
class Outcome:
    reports: list[TickReport]  # the ticks on the bad observation
    destroyed: list[tuple[str, str]]  # what they destroyed
    why: str | None  # what each of them said, when they refused
    due: list[tuple[str, str]]  # destroyed once the observation was good again


def bad(fleet: Fleet, reports: list[TickReport], why: str | None) -> Outcome:
    return Outcome(reports, fleet.destroyed(), why, [])


def restarted(*who) -> list[tuple[str, str]]:
    return [(f"{scale_set} restart instances", str(i)) for scale_set, i in who]


def stale_node_list(fleet: Fleet):
    """The Nodes were NotReady, healed, and a cache then answers with the list from before the heal."""
    fleet.tick()
    names = not_ready(fleet, *SICK)
    fleet.tick()
    before = fleet.kube.nodes()
    for name in names:
        fleet.kube.set_ready(name, True, since=utcnow())
    fleet.tick()  # the fresh list: healed
    fleet.kube.freeze_nodes(before)
    outcome = bad(fleet, fleet.walk(HALF_HOUR), "older than one already seen")
    fleet.kube.thaw_nodes()
    fleet.walk((31, 41))
    return outcome  # healed: nothing is due afterwards


def app_clock_fast(fleet: Fleet):
    """NotReady for one second, seen by an app whose clock runs 10 min ahead."""
    fleet.tick(timedelta(minutes=10))
    not_ready(fleet, *SICK, since=utcnow() - timedelta(seconds=1))
    outcome = bad(fleet, fleet.walk((0, 1, 5, 9), start=timedelta(minutes=10)), None)
    assert not any(r.blocked for r in outcome.reports), "a fast clock of ours is not seen, nor lengthens a duration"
    fleet.walk((10,), start=timedelta(minutes=10))  # 10 min after we first saw them NotReady
    outcome.due = restarted(*SICK)
    return outcome


def app_clock_slow_then_corrected(fleet: Fleet):
    """The app's clock 10 min slow while the Nodes go NotReady, then corrected."""
    fleet.tick()
    not_ready(fleet, *SICK, since=utcnow() - timedelta(seconds=1))
    slow = fleet.walk((0, 1, 2), start=-timedelta(minutes=10))
    fleet.walk((0, 1, 5, 9))  # corrected: the first look at the NotReady Nodes on a good clock
    outcome = bad(fleet, slow, "clocks disagree: Kubernetes wrote")
    fleet.walk((10,))  # 10 min after the first tick on the corrected clock
    outcome.due = restarted(*SICK)
    return outcome


def instance_listed_twice(fleet: Fleet):
    """Instance 7 is deallocated on purpose; a page boundary moved and the listing shows it again, running.
    The fallback pool's dead VM waits too: one pool's inconsistent listing holds every pool."""
    fleet.tick()
    main = fleet.sets[MAIN]
    main.vms["7"] = replace(main.vms["7"], power_state="deallocated")
    not_ready(fleet, (MAIN, 7), (FALLBACK, 2))
    main.listed_twice = [replace(main.vms["7"], power_state="running")]
    outcome = bad(fleet, fleet.walk(HALF_HOUR), "inconsistent instance listing: listed twice: 7 (deallocated")
    main.listed_twice = []
    fleet.walk((31,))
    outcome.due = restarted((FALLBACK, 2))  # seen NotReady all along, held; never the deallocated VM
    return outcome


def fallback_listing_fails(fleet: Fleet):
    """The fallback pool's listing keeps failing while the main pool has a ghost and a dead VM."""
    fleet.tick()
    ghost = fleet.kill(MAIN, 3)
    not_ready(fleet, (MAIN, 4))
    fleet.sets[FALLBACK].fail(times=10_000)
    outcome = bad(fleet, fleet.walk(HALF_HOUR), "scale set regular not trusted")
    fleet.sets[FALLBACK].fail(times=0)
    fleet.walk((31,))
    outcome.due = [*restarted((MAIN, 4)), ("delete_node", ghost)]
    return outcome


def main_listing_short(fleet: Fleet):
    """The main pool's listing silently drops its last 50 VMs while the fallback pool has a ghost."""
    fleet.tick()
    ghost = fleet.kill(FALLBACK, 0)
    fleet.sets[MAIN].short_list = 150
    outcome = bad(fleet, fleet.walk(HALF_HOUR), "scale set agents not trusted")
    fleet.sets[MAIN].short_list = None
    fleet.walk((31,))
    outcome.due = [("delete_node", ghost)]
    return outcome


def small_pool_partial_listing(fleet: Fleet):
    """The pool of 3 lists 1 VM (its capacity says 3), the other two's Nodes are NotReady, and ARM's
    GETs of single VMs are throttled: nothing proves them gone, whatever the time."""
    fleet.tick()
    not_ready(fleet, (FALLBACK, 1), (FALLBACK, 2))
    fallback = fleet.sets[FALLBACK]
    fallback.short_list = 1

    def throttled(instance_id):
        raise Throttled("get instance: ARM throttled")
    fallback.get_instance = throttled
    outcome = bad(fleet, fleet.walk(HALF_HOUR), "1 listed, expected 3")
    fallback.short_list = None
    fleet.walk((31, 41))  # their clocks start once the listing is believed
    outcome.due = restarted((FALLBACK, 1), (FALLBACK, 2))
    return outcome


REFUSED = [stale_node_list, app_clock_fast, app_clock_slow_then_corrected, instance_listed_twice,
           fallback_listing_fails, main_listing_short, small_pool_partial_listing]


@pytest.mark.parametrize("case", REFUSED, ids=lambda case: case.__name__)
def test_a_bad_observation_destroys_nothing_in_any_pool_and_says_why(case):
    fleet = Fleet()
    outcome = case(fleet)
    assert outcome.destroyed == []
    if outcome.why:
        said = [r.blocked or "" for r in outcome.reports]
        assert all(outcome.why in why for why in said), said
        decided = [d["blocked"] or "" for d in fleet.decisions.recent("reconcile", 100)]
        assert any(outcome.why in why for why in decided)  # what GET /api/status shows
    assert sorted(fleet.destroyed()) == sorted(outcome.due)  # and once the observation is good, what was due


def test_the_fallback_pools_ghost_and_dead_vm_are_handled_like_the_main_ones():
    fleet = Fleet()
    fleet.tick()
    ghost = fleet.kill(FALLBACK, 0)
    not_ready(fleet, (FALLBACK, 1))
    fleet.tick()  # ARM answers 404 for instance 0 of regular: the ghost goes
    assert fleet.destroyed() == [("delete_node", ghost)]
    assert fleet.registry.node(ghost).state.value == "deleted"
    fleet.walk((9,))
    assert fleet.destroyed() == [("delete_node", ghost)]
    fleet.walk((10,))
    assert fleet.destroyed() == [("regular restart instances", "1"), ("delete_node", ghost)]


@pytest.mark.parametrize("dead", [2, 3])
def test_a_pool_of_3_with_dead_vms_is_repaired_not_locked(dead):
    """Karpenter stops repairing past 20 % unhealthy: 2 of 3 would stay broken. Ours counts an outage
    only past 3 NotReady agents and 45 % of a pool (or of the cluster), so a small pool is repaired."""
    fleet = Fleet()
    fleet.tick()
    who = [(FALLBACK, i) for i in range(dead)]
    not_ready(fleet, *who)
    fleet.walk((0, 9))
    assert fleet.destroyed() == []
    report = fleet.tick(timedelta(minutes=10))
    assert report.planned == {"restart_instance": dead} and report.blocked is None
    assert sorted(fleet.destroyed()) == restarted(*who)


def test_an_outage_of_the_cluster_holds_every_pool_however_small():
    """The API server unreachable from most kubelets: the small pool's NotReady Nodes are that outage too."""
    fleet = Fleet()
    fleet.tick()
    not_ready(fleet, *((FALLBACK, i) for i in range(3)), *((MAIN, i) for i in range(90)))
    fleet.tick()
    report = fleet.walk((10, 20, 30))[-1]
    assert fleet.destroyed() == []
    assert "outage: 93 of 203 agents in the cluster NotReady" in report.blocked
