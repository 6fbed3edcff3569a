"""Headroom: node-sized placeholders packed after real demand; kept by scale-down; none for an idle cluster."""
from dataclasses import replace
from datetime import timedelta

from nodepool.autoscale.model import AutoscaleState, Backoff
from tests.unit.autoscale_world import NOW, POLICY, REGULAR, SPOT, ago, cluster, node, pending, plan, running, ups

ONE = replace(POLICY, headroom_nodes=1)
TWO = replace(POLICY, headroom_nodes=2)
LONG_AGO = AutoscaleState(unneeded_since={f"spot-{i}": ago(11) for i in range(4)})


def test_a_busy_cluster_without_a_free_node_gets_one_more_for_headroom():
    obs = cluster({SPOT: [node("spot-0")], REGULAR: []}, [running("web", "spot-0", cpu=3)])
    p = plan(obs, policy=ONE)
    assert ups(p) == {"spot": 1} and p.unplaced == ()
    assert "0 pods and 1 nodes of headroom need 1 more" in p.ups[0].reason


def test_headroom_comes_after_the_pending_pods_and_adds_whole_nodes():
    pods = [running("web", "spot-0", cpu=3)] + [pending(f"p{i}", cpu=1) for i in range(8)]
    assert ups(plan(cluster({SPOT: [node("spot-0")], REGULAR: []}, pods), policy=TWO)) == {"spot": 2 + 2}


def test_an_empty_node_already_there_is_the_headroom():
    obs = cluster({SPOT: [node("spot-0"), node("spot-1")], REGULAR: []}, [running("web", "spot-0", cpu=3)])
    assert ups(plan(obs, policy=ONE)) == {}


def test_scale_down_keeps_the_node_that_holds_the_headroom_and_says_why():
    obs = cluster({SPOT: [node("spot-0"), node("spot-1")], REGULAR: []}, [running("web", "spot-0", cpu=3)])
    p = plan(obs, LONG_AGO, policy=ONE)
    assert p.downs == () and any("headroom" in k.reason for k in p.kept if k.node == "spot-1")
    assert [d.node for d in plan(obs, LONG_AGO, policy=POLICY).downs] == ["spot-1"]  # without headroom it goes


def test_only_nodes_beyond_the_headroom_go():
    nodes = [node(f"spot-{i}") for i in range(4)]
    p = plan(cluster({SPOT: nodes, REGULAR: []}, [running("web", "spot-0", cpu=3)]), LONG_AGO, policy=ONE)
    assert len(p.downs) == 2 and "spot-0" not in {d.node for d in p.downs}


def test_an_idle_cluster_keeps_no_headroom_and_scales_to_zero():
    obs = cluster({SPOT: [node("spot-0")], REGULAR: []}, [])
    p = plan(obs, LONG_AGO, policy=ONE)
    assert ups(p) == {} and [d.node for d in p.downs] == ["spot-0"]


def test_headroom_goes_to_the_next_pool_while_the_preferred_is_backed_off_and_never_past_max():
    backed = AutoscaleState(backoffs={"spot": Backoff("SkuNotAvailable", NOW + timedelta(hours=1), "no spot")})
    obs = cluster({SPOT: [node("spot-0")], REGULAR: []}, [running("web", "spot-0", cpu=3)])
    assert ups(plan(obs, backed, policy=ONE)) == {"regular": 1}
    full = cluster({SPOT: [node("spot-0")], REGULAR: []}, [running("web", "spot-0", cpu=3)])
    capped = replace(full, pools=tuple(replace(pv, pool=replace(pv.pool, max=len(pv.instances.items)))
                                       for pv in full.pools))
    p = plan(capped, policy=ONE)
    assert ups(p) == {} and p.unplaced == ()  # a placeholder that fits nowhere is not chased nor reported
