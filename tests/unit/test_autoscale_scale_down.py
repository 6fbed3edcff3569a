"""Scale-down policy: unneeded nodes, blockers, cooldowns, min, zero, order, bulk."""
from dataclasses import replace
from datetime import timedelta

import pytest

from nodepool.autoscale.model import AutoscaleState, Budget
from tests.unit.autoscale_world import NOW, POLICY, REGULAR, SPOT, ago, cluster, node, pending, plan, running, ups

LONG_AGO = AutoscaleState(unneeded_since={f"{p}-{i}": ago(11) for p in ("spot", "regular") for i in range(6)})


def downs(p) -> list[str]:
    return [d.node for d in p.downs]


def test_an_idle_node_goes_after_the_unneeded_time_and_not_before():
    nodes = [node("spot-0"), node("spot-1")]
    pods = [running("busy", "spot-0", cpu=3), running("small", "spot-1", cpu=0.5)]
    first = plan(cluster({SPOT: nodes}, pods))
    assert downs(first) == [] and first.state.unneeded_since == {"spot-1": NOW}
    assert downs(plan(cluster({SPOT: nodes}, pods), first.state, now=NOW + timedelta(minutes=9))) == []
    later = plan(cluster({SPOT: nodes}, pods), first.state, now=NOW + timedelta(minutes=10))
    assert downs(later) == ["spot-1"] and later.downs[0].pods == 1 and "spot-1" in later.state.draining


def test_a_node_that_becomes_busy_again_restarts_its_unneeded_clock():
    nodes = [node("spot-0")]
    busy = plan(cluster({SPOT: nodes}, [running("big", "spot-0", cpu=3)]), LONG_AGO)
    assert "spot-0" not in busy.state.unneeded_since


@pytest.mark.parametrize("pod, budgets, annotate, why", [
    (running("bare", "spot-1", owner_kind=None), [], {}, "no controller"),
    (running("scratch", "spot-1", local_storage=True), [], {}, "local storage"),
    (running("pinned", "spot-1", safe_to_evict="false"), [], {}, "safe-to-evict=false"),
    (running("guarded", "spot-1", labels=(("app", "db"),)), [Budget("default", (("app", "db"),), 0)], {},
     "PodDisruptionBudget allows 0"),
    (running("dns", "spot-1", namespace="kube-system"), [], {}, "kube-system pod"),
    (running("ok", "spot-1"), [], {"scale_down_disabled": True}, "scale-down-disabled"),
    (running("ok", "spot-1"), [], {"protected": True}, "protected from scale-in"),
], ids=["no_controller", "local_storage", "safe_to_evict_false", "pdb_no_room", "kube_system_without_pdb",
        "annotated_disabled", "instance_protected"])
def test_blockers_keep_the_node(pod, budgets, annotate, why):
    nodes = [node("spot-0"), node("spot-1", **annotate)]
    p = plan(cluster({SPOT: nodes}, [running("busy", "spot-0", cpu=3), pod], budgets=budgets), LONG_AGO)
    assert downs(p) == [] and any(k.node == "spot-1" and why in k.reason for k in p.kept)


@pytest.mark.parametrize("pod, budgets", [
    (running("local-but-safe", "spot-1", local_storage=True, safe_to_evict="true"), []),
    (running("guarded", "spot-1", labels=(("app", "db"),)), [Budget("default", (("app", "db"),), 1)]),
    (running("dns", "spot-1", namespace="kube-system", labels=(("k8s-app", "dns"),)),
     [Budget("kube-system", (("k8s-app", "dns"),), 1)]),
], ids=["safe_to_evict_true_overrides", "pdb_with_room", "kube_system_with_pdb"])
def test_what_is_not_a_blocker(pod, budgets):
    nodes = [node("spot-0"), node("spot-1")]
    p = plan(cluster({SPOT: nodes}, [running("busy", "spot-0", cpu=3), pod], budgets=budgets), LONG_AGO)
    assert downs(p) == ["spot-1"]


def test_pods_must_fit_on_the_nodes_that_stay():
    nodes = [node("spot-0"), node("spot-1")]
    pods = [running("a", "spot-0", cpu=1.9), running("b", "spot-1", cpu=2.5)]  # spot-1 is needed, 1.5 cpu free
    p = plan(cluster({SPOT: nodes}, pods), LONG_AGO)
    assert downs(p) == [] and p.kept[0].node == "spot-0" and "do not all fit" in p.kept[0].reason
    roomy = plan(cluster({SPOT: nodes}, [running("a", "spot-0", cpu=1.4), pods[1]]), LONG_AGO)
    assert downs(roomy) == ["spot-0"]


def test_no_scale_down_within_the_delay_after_a_scale_up():
    nodes = [node("spot-0"), node("spot-1")]
    recent = replace(LONG_AGO, last_scale_up=ago(9))
    assert downs(plan(cluster({SPOT: nodes}), recent)) == []
    assert len(plan(cluster({SPOT: nodes}), replace(recent, last_scale_up=ago(10))).downs) == 2


def test_no_scale_down_in_a_tick_that_scales_up():
    p = plan(cluster({SPOT: [node("spot-0")]}, [running("r", "spot-0", cpu=1), pending("big", cpu=4)]), LONG_AGO)
    assert ups(p) == {"spot": 1} and downs(p) == []


@pytest.mark.parametrize("min_, count, expected", [(0, 3, 3), (1, 3, 2), (3, 3, 0), (2, 1, 0)],
                         ids=["to_zero", "keeps_min_1", "at_min", "below_min"])
def test_never_below_min_and_down_to_zero(min_, count, expected):
    spot = replace(SPOT, min=min_)
    p = plan(cluster({spot: [node(f"spot-{i}", spot) for i in range(count)]}), LONG_AGO)
    assert len(p.downs) == expected


def test_regular_nodes_go_before_spot_and_empties_in_bulk_others_one_at_a_time():
    nodes = {SPOT: [node(f"spot-{i}") for i in range(3)], REGULAR: [node(f"regular-{i}", REGULAR) for i in range(3)]}
    pods = [running("s", "spot-0", cpu=0.5), running("r", "regular-0", cpu=0.5)]
    p = plan(cluster(nodes, pods), LONG_AGO, policy=replace(POLICY, max_empty_bulk=3))
    assert downs(p)[0].startswith("regular") and sum(1 for d in p.downs if d.pods) == 1
    assert sum(1 for d in p.downs if not d.pods) == 3


def test_a_drain_in_progress_finishes_with_that_instance_deleted():
    p = plan(cluster({SPOT: [node("spot-0"), node("spot-1", unschedulable=True)]}, [running("a", "spot-0", cpu=3)]),
             plan(cluster({SPOT: [node("spot-0"), node("spot-1")]},
                          [running("a", "spot-0", cpu=3)]), LONG_AGO).state)
    assert [(f.node, f.instance_id) for f in p.finish] == [("spot-1", "1")] and "spot-1" not in p.state.draining


def test_a_drain_that_does_not_finish_in_time_is_given_up():
    pods = [running("busy", "spot-0", cpu=2), running("b", "spot-1", cpu=1)]
    chosen = plan(cluster({SPOT: [node("spot-0"), node("spot-1")]}, pods), LONG_AGO)
    assert [d.node for d in chosen.downs] == ["spot-1"]
    stuck = cluster({SPOT: [node("spot-0"), node("spot-1", unschedulable=True)]}, pods)
    assert plan(stuck, chosen.state, now=NOW + timedelta(minutes=5)).abandon == ()
    late = plan(stuck, chosen.state, now=NOW + POLICY.drain_timeout + timedelta(seconds=1))
    assert [a.node for a in late.abandon] == ["spot-1"] and "spot-1" not in late.state.draining


def test_a_partial_listing_decides_nothing():
    obs = cluster({SPOT: [node("spot-0")]}, [pending(f"p{i}") for i in range(4)])
    p = plan(replace(obs, pods=replace(obs.pods, complete=False, error="page 2 failed")), LONG_AGO)
    assert p.ups == () and p.downs == () and "pods: page 2 failed" in p.blocked and p.state == LONG_AGO
