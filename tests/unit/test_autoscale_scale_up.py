"""Scale-up policy: packing, GPUs, selectors and taints, room in flight, caps, preemption."""
from dataclasses import replace

import pytest

from nodepool.autoscale.model import InstanceView, Toleration
from tests.unit.autoscale_world import (
    GPU,
    NOW,
    POLICY,
    REGULAR,
    SPOT,
    ago,
    cluster,
    node,
    observe,
    pending,
    plan,
    pool_view,
    running,
    ups,
)


@pytest.mark.parametrize("pods, expected", [
    ([pending(f"p{i}", cpu=1) for i in range(10)], {"spot": 3}),  # 4 per node: 10 -> 3 nodes
    ([pending(f"p{i}", cpu=3) for i in range(3)] + [pending(f"s{i}", cpu=1) for i in range(3)], {"spot": 3}),  # FFD
    ([pending(f"p{i}", cpu=0.5, mem_gi=8) for i in range(4)], {"spot": 2}),  # memory binds, not cpu
    ([pending(f"p{i}", cpu=1) for i in range(40)], {"spot": 10}),  # a burst of 40 in one decision
    ([], {}),
], ids=["ten_small", "decreasing_fills_gaps", "memory_bound", "burst_of_40", "nothing_pending"])
def test_pending_pods_are_packed_first_fit_decreasing(pods, expected):
    assert ups(plan(cluster({SPOT: [], REGULAR: []}, pods))) == expected


def test_gpu_pods_go_to_the_gpu_pool_only_and_one_per_gpu():
    gpu_pods = [pending(f"g{i}", cpu=1, gpu=1, tolerations=(Toleration("nvidia.com/gpu", "Exists"),)) for i in range(3)]
    p = plan(cluster({SPOT: [], REGULAR: [], GPU: []}, gpu_pods + [pending("cpu-only")]))
    assert ups(p) == {"gpu": 3, "spot": 1}


@pytest.mark.parametrize("pod, expected", [
    (pending("no-toleration", tolerations=()), {"regular": 1}),  # the spot taint keeps it off spot
    (pending("wants-gpu-label", node_selector=(("accelerator", "nvidia"),),
             tolerations=(Toleration("", "Exists"),)), {"gpu": 1}),
    (pending("wants-regular", node_selector=(("kubernetes.azure.com/scalesetpriority", "regular"),)), {"regular": 1}),
    (pending("selects-pool", node_selector=(("nodepool/pool", "spot"),)), {"spot": 1}),
], ids=["taint_not_tolerated", "selector_to_gpu", "selector_priority", "selector_pool_label"])
def test_selectors_and_taints_choose_the_pool(pod, expected):
    assert ups(plan(cluster({SPOT: [], REGULAR: [], GPU: []}, [pod]))) == expected


@pytest.mark.parametrize("pod, why", [
    (pending("huge", cpu=64), "no pool takes it"),
    (pending("gpu-without-toleration", gpu=1), "no pool takes it"),
    (pending("unknown-label", node_selector=(("zone", "mars"),)), "no pool takes it"),
])
def test_pods_that_fit_no_pool_are_reported_not_chased(pod, why):
    p = plan(cluster({SPOT: [], REGULAR: [], GPU: []}, [pod]))
    assert ups(p) == {} and [u.pod for u in p.unplaced] == [pod.key] and why in p.unplaced[0].reason


def test_capacity_already_provisioning_is_not_asked_for_twice():
    booting = [InstanceView(str(i), f"spot-{i}", "Creating", ago(1)) for i in range(2)]
    obs = observe([pool_view(SPOT, instances=booting), pool_view(REGULAR)], pods=[pending(f"p{i}") for i in range(10)])
    assert ups(plan(obs)) == {"spot": 1}  # 10 pods need 3 nodes, 2 are on their way


def test_free_room_on_ready_nodes_counts_before_new_nodes():
    n = node("spot-0")
    obs = cluster({SPOT: [n], REGULAR: []}, [running("r", "spot-0", cpu=1), pending("a", cpu=2), pending("b", cpu=2)])
    assert ups(plan(obs)) == {"spot": 1}  # a fits beside r; b needs a node


@pytest.mark.parametrize("max_, step, capacity, expected_spot, unplaced", [
    (10, 20, 0, 10, 0), (4, 20, 0, 4, 24), (10, 3, 0, 3, 28), (10, 20, 8, 2, 32), (10, 20, 10, 0, 40),
], ids=["within_max", "capped_by_max", "capped_by_step", "max_counts_existing", "at_max"])
def test_scale_up_is_capped_by_max_and_step(max_, step, capacity, expected_spot, unplaced):
    spot = replace(SPOT, max=max_)
    nodes = [node(f"spot-{i}", spot, unschedulable=True) for i in range(capacity)]  # full, cordoned
    obs = observe([pool_view(spot, nodes), pool_view(replace(REGULAR, max=0))], nodes,
                  [pending(f"p{i}") for i in range(40)])
    p = plan(obs, policy=replace(POLICY, max_step=step))
    assert ups(p).get("spot", 0) == expected_spot and len(p.unplaced) == unplaced


def test_a_preempt_notice_asks_for_the_replacement_before_the_pods_are_pending():
    nodes = [node("spot-0"), node("spot-1")]
    pods = [running(f"a{i}", "spot-0", cpu=1) for i in range(3)] + [running("b", "spot-1", cpu=3)]
    p = plan(cluster({SPOT: nodes, REGULAR: []}, pods, preempting=["spot-0"]))
    assert ups(p) == {"spot": 1} and "2 pods" in p.ups[0].reason  # one fits beside b


def test_a_replacement_in_flight_is_not_asked_for_again():
    nodes = [node("spot-0")]
    instances = [InstanceView("0", "spot-0", created_at=ago(60)), InstanceView("1", "spot-1", "Creating", NOW)]
    obs = observe([pool_view(SPOT, instances=instances), pool_view(REGULAR)], nodes,
                  [running(f"a{i}", "spot-0") for i in range(3)], preempting=["spot-0"])
    assert ups(plan(obs)) == {}


def test_daemonset_pods_on_a_preempted_node_need_no_replacement():
    obs = cluster({SPOT: [node("spot-0")], REGULAR: []}, [running("ds", "spot-0", owner_kind="DaemonSet")],
                  preempting=["spot-0"])
    assert ups(plan(obs)) == {}


def test_every_scale_up_says_why():
    p = plan(cluster({SPOT: [], REGULAR: []}, [pending("a")]))
    assert p.ups[0].reason == "1 pods need 1 more Standard_D4s_v5 nodes" and p.state.last_scale_up == NOW
