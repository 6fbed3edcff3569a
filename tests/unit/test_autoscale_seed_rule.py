"""The benchmark's model of the seed's Azure autoscale CPU rule behaves as the engine does."""
import pytest

from nodepool.fakes.autoscale_scaleset import FakePoolScaleSet
from tests.bench._autoscale_seed import CpuRule, SeedAutoscale


def run(cpu_per_minute: list[float], capacity: int = 2, rule: CpuRule = CpuRule()) -> tuple[FakePoolScaleSet, list]:
    scaleset = FakePoolScaleSet("spot", capacity)
    seed = SeedAutoscale(scaleset, rule)
    for minute, cpu in enumerate(cpu_per_minute, start=1):
        seed.sample({vm.name: cpu for vm in scaleset.vms.values()})
        seed.evaluate(minute * 60.0)
    return scaleset, seed.actions


@pytest.mark.parametrize("cpu, expected", [
    ([90] * 11, 5),  # +1 at minute 1, then once per 5 min cooldown: minutes 1, 6, 11
    ([85, 85, 50, 50, 50], 3),  # first minute > 80 scales out; the 5 min average then holds it
    ([50] * 20, 2),  # between the thresholds: nothing
    ([5] * 11, 1),  # < 10 % scales in, never below min 1
], ids=["scale_out_one_per_cooldown", "average_over_window", "dead_band", "scale_in_to_min"])
def test_cpu_rule(cpu, expected):
    scaleset, _ = run(cpu, capacity=2)
    assert len(scaleset.vms) == expected


def test_scale_in_removes_the_instance_azure_picks_without_a_drain():
    scaleset, actions = run([5], capacity=3)
    assert sorted(scaleset.vms) == ["0", "1"] and actions == [(60.0, 2, 2)]


def test_below_min_is_raised_to_min_at_once():
    scaleset, _ = run([50], capacity=0, rule=CpuRule(minimum=2))
    assert len(scaleset.vms) == 2


def test_a_refused_scale_out_changes_nothing_and_is_tried_again():
    scaleset = FakePoolScaleSet("spot", 2)
    scaleset.refuse("SkuNotAvailable")
    seed = SeedAutoscale(scaleset)
    for minute in (1, 2):
        seed.sample({vm.name: 95 for vm in scaleset.vms.values()})
        seed.evaluate(minute * 60.0)
    assert len(scaleset.vms) == 3 and seed.actions == [(120.0, 3, 3)]
