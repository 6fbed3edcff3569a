"""The autoscaler acts only on consistent observations, with clocks that agree: its unneeded times,
Creating timeouts and backoffs run on our clock from our first observation, and it refuses to act
while Kubernetes' or ARM's timestamps are ahead of our clock (nodepool/core/skew.py)."""
from dataclasses import replace
from datetime import timedelta

from nodepool.autoscale.model import AutoscaleState, InstanceView
from tests.unit.autoscale_world import NOW, POLICY, REGULAR, SPOT, cluster, node, observe, pending, plan, pool_view


def idle_spot(written_at=None):
    return cluster({SPOT: [node("spot-0", written_at=written_at), node("spot-1", written_at=written_at)],
                    REGULAR: []})


def test_a_clock_of_ours_10_min_slow_decides_nothing_and_starts_no_timer():
    """Kubernetes wrote a Node's Ready transition 10 min after what our clock reads: ours is behind."""
    obs = idle_spot(written_at=NOW)
    p = plan(obs, AutoscaleState(), NOW - timedelta(minutes=10))
    assert p.blocked.startswith("clocks disagree: Kubernetes wrote") and p.state == AutoscaleState()
    assert p.downs == () and p.ups == ()
    corrected = plan(obs, p.state, NOW + timedelta(seconds=30))  # the first tick on the corrected clock
    assert corrected.blocked is None and corrected.downs == ()
    assert corrected.state.unneeded_since == {"spot-0": NOW + timedelta(seconds=30),
                                              "spot-1": NOW + timedelta(seconds=30)}


def test_arm_timestamps_ahead_of_our_clock_decide_nothing():
    instances = [InstanceView("0", "spot-0", "Creating", NOW + timedelta(minutes=5))]
    p = plan(observe([pool_view(SPOT, instances=instances), pool_view(REGULAR)], pods=[pending("p")]))
    assert p.blocked.startswith("clocks disagree: ARM wrote") and p.ups == () and p.failed == ()


def test_within_the_bound_the_clocks_agree():
    assert plan(idle_spot(written_at=NOW + POLICY.max_clock_skew)).blocked is None


def test_a_clock_of_ours_running_fast_does_not_make_a_creating_instance_stuck():
    """Created a minute ago by ARM's clock; our clock 20 min ahead: it is not past the 15 min timeout."""
    instances = [InstanceView("0", "spot-0", "Creating", NOW - timedelta(minutes=1))]
    obs = observe([pool_view(SPOT, instances=instances), pool_view(REGULAR)], pods=[pending("p")])
    p = plan(obs, AutoscaleState(), NOW + timedelta(minutes=20))
    assert p.failed == () and "spot" not in p.state.backoffs


def test_an_instance_listed_twice_decides_nothing():
    instances = [InstanceView("0", "spot-0", "Succeeded"), InstanceView("1", "spot-1", "Failed"),
                 InstanceView("1", "spot-1", "Succeeded")]
    p = plan(observe([pool_view(SPOT, instances=instances), pool_view(REGULAR)], pods=[pending("p")]))
    assert p.blocked == ("observation not trusted: inconsistent pool spot instance listing: listed twice: "
                         "1 (Failed / Succeeded)")
    assert p.failed == () and p.ups == () and p.state == AutoscaleState()


def test_the_creating_times_are_kept_only_while_creating():
    instances = [InstanceView("0", "spot-0", "Creating", NOW)]
    first = plan(observe([pool_view(SPOT, instances=instances), pool_view(REGULAR)]))
    booted = [replace(instances[0], provisioning_state="Succeeded")]
    assert first.state.creating and not plan(observe([pool_view(SPOT, instances=booted)]), first.state).state.creating
