"""The simulator's no_view fault as the ARM adapter sees it: listings without instanceView or
without a PowerState status read as an unknown power state, never as stopped or running."""
import pytest

from nodepool.adapters.scaleset import AzureScaleSet


@pytest.fixture
def adapter(sim_settings):
    return AzureScaleSet(sim_settings, polling_interval=0.02, lro_wait_s=5)


@pytest.mark.parametrize("keep", [0, 1], ids=["no instanceView", "no PowerState"])
def test_a_listing_without_views_reads_as_unknown_power(sim, adapter, keep):
    healthy = {i.instance_id: i.power_state for i in adapter.instances().items}
    sim.arm_fault("no_view", keep=keep)
    listed = adapter.instances().items
    assert len(listed) == len(healthy) and set(healthy.values()) != {"unknown"}
    assert {i.power_state for i in listed} == {"unknown"}
