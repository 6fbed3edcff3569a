"""Spot capacity failures: backoff per error kind, demand to the next pool, return to spot."""
from dataclasses import replace
from datetime import timedelta

import pytest

from nodepool.autoscale.backoff import back_off, ttl
from nodepool.autoscale.model import AutoscaleState, InstanceView
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


@pytest.mark.parametrize("kind, hours", [
    ("SkuNotAvailable", 1), ("AllocationFailed", 1), ("ZonalAllocationFailed", 1),
    ("OverconstrainedAllocationRequest", 1), ("ProvisioningFailed", 1), ("OperationNotAllowed", 1 / 6),
    ("SpotQuotaExceeded", 1 / 6), ("SomethingElse", 1 / 6),
])
def test_each_error_kind_has_its_policy_ttl(kind, hours):
    assert ttl(kind, POLICY) == timedelta(hours=hours)


def test_a_backed_off_spot_pool_sends_the_demand_to_the_regular_pool():
    state = back_off(AutoscaleState(), "spot", "SkuNotAvailable", NOW, POLICY)
    p = plan(cluster({SPOT: [], REGULAR: []}, [pending(f"p{i}") for i in range(5)]), state)
    assert ups(p) == {"regular": 2}


def test_instances_failed_in_provisioning_back_the_pool_off_and_are_deleted_same_tick():
    failed = [InstanceView("0", "spot-0", "Failed", ago(2)), InstanceView("1", "spot-1", "Failed", ago(2))]
    obs = observe([pool_view(SPOT, instances=failed), pool_view(REGULAR)], pods=[pending(f"p{i}") for i in range(5)])
    p = plan(obs)
    assert ups(p) == {"regular": 2}
    assert [(f.pool, f.instance_ids) for f in p.failed] == [("spot", ("0", "1"))]
    backoff = p.state.backoffs["spot"]
    assert backoff.kind == "ProvisioningFailed" and backoff.until == NOW + timedelta(hours=1)


def test_instances_stuck_in_creating_past_the_timeout_count_as_failed():
    """The timeout runs from when we first saw the instance Creating: ARM's timeCreated is another clock."""
    stuck = [InstanceView("0", "spot-0", "Creating", NOW - timedelta(hours=5))]
    obs = observe([pool_view(SPOT, instances=stuck), pool_view(REGULAR)], pods=[pending("p")])
    first = plan(obs)
    assert first.state.creating == {"spot/0": NOW} and "spot" not in first.state.backoffs
    assert "spot" not in plan(obs, first.state, NOW + POLICY.provisioning_timeout).state.backoffs
    p = plan(obs, first.state, NOW + POLICY.provisioning_timeout + timedelta(seconds=1))
    assert ups(p) == {"regular": 1} and p.state.backoffs["spot"].kind == "ProvisioningTimeout"


def test_a_failed_instance_while_backed_off_does_not_extend_the_backoff():
    state = back_off(AutoscaleState(), "spot", "SkuNotAvailable", ago(30), POLICY)
    failed = [InstanceView("0", "spot-0", "Failed", ago(2))]
    p = plan(observe([pool_view(SPOT, instances=failed), pool_view(REGULAR)]), state)
    assert p.state.backoffs["spot"].until == ago(30) + timedelta(hours=1) and len(p.failed) == 1


def test_when_the_backoff_ends_demand_returns_to_spot():
    state = back_off(AutoscaleState(), "spot", "AllocationFailed", NOW - timedelta(hours=1, seconds=1), POLICY)
    p = plan(cluster({SPOT: [], REGULAR: []}, [pending("p")]), state)
    assert ups(p) == {"spot": 1} and "spot" not in p.state.backoffs
    assert p.notes == ("pool spot: backoff ended, demand returns to it",)


def test_after_the_backoff_fallback_pods_ask_for_spot_room_then_the_fallback_node_goes():
    fallback = [node("regular-0", REGULAR)]
    pods = [running(f"a{i}", "regular-0") for i in range(3)]
    first = plan(cluster({SPOT: [], REGULAR: fallback}, pods))
    assert ups(first) == {"spot": 1} and first.downs == ()  # spot room first, nothing removed yet
    spot_ready = [node("spot-0")]
    later = NOW + POLICY.fallback_unneeded_time
    state = replace(first.state, last_scale_up=NOW)  # within the delay after scale-up: fallback nodes excepted
    second = plan(cluster({SPOT: spot_ready, REGULAR: fallback}, pods), state, now=later)
    assert ups(second) == {} and [d.node for d in second.downs] == ["regular-0"]
    assert second.downs[0].reason.startswith("fallback node")


def test_fallback_pods_the_spot_pool_cannot_take_keep_their_node():
    fallback = [node("regular-0", REGULAR)]
    pods = [running("no-spot", "regular-0", cpu=3, tolerations=())]
    p = plan(cluster({SPOT: [], REGULAR: fallback}, pods), now=NOW)
    later = plan(cluster({SPOT: [], REGULAR: fallback}, pods), p.state, now=NOW + timedelta(minutes=30))
    assert ups(p) == {} and later.downs == () and "do not all fit" in later.kept[0].reason


def test_a_gpu_pool_is_nobodys_fallback():
    gpu_node = node("gpu-0", GPU)
    p = plan(cluster({SPOT: [], REGULAR: [], GPU: [gpu_node]}, [running("g", "gpu-0", gpu=1)]))
    assert ups(p) == {} and "gpu-0" not in p.state.unneeded_since


def test_a_protected_failed_instance_backs_the_pool_off_but_is_not_deleted():
    failed = [InstanceView("0", "spot-0", "Failed", ago(2), protected=True),
              InstanceView("1", "spot-1", "Failed", ago(2))]
    p = plan(observe([pool_view(SPOT, instances=failed), pool_view(REGULAR)]))
    assert [f.instance_ids for f in p.failed] == [("1",)] and "spot" in p.state.backoffs
