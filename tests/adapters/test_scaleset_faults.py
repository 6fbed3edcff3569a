"""The ARM adapter under the simulator's faults: throttling, outages, partial listings, races."""
import time

import pytest

from nodepool.adapters.credentials import StaticTokenCredential
from nodepool.adapters.scaleset import AzureScaleSet
from nodepool.core.errors import Conflict, Throttled, Unavailable
from nodepool.core.limits import ARM_CONNECT_S, ARM_READ_S
from nodepool.fakes.scaleset import FakeScaleSet


@pytest.fixture
def adapter(sim_settings):
    return AzureScaleSet(sim_settings, polling_interval=0.02, lro_wait_s=5)


def test_429_with_retry_after_is_waited_out_and_the_call_succeeds(sim, adapter):
    sim.arm_fault("throttle", count=1, retry_after=1)
    started = time.monotonic()
    assert adapter.info().capacity == 3
    assert time.monotonic() - started >= 0.95


def test_throttled_writes_are_retried_too(sim, adapter):
    sim.arm_fault("throttle", count=1, retry_after=1, method="PATCH")
    adapter.set_capacity(4, adapter.info().etag)
    assert adapter.info().capacity == 4


def test_a_retry_after_beyond_the_budget_is_not_waited_for_but_reported(sim, sim_settings):
    adapter = AzureScaleSet(sim_settings, retry_budget_s=2)
    sim.arm_fault("throttle", retry_after=120)
    with pytest.raises(Throttled) as raised:
        adapter.info()
    assert sim.arm.faults.counts["throttle"] == 1  # asked once: the 120 s wait was not taken
    assert raised.value.retry_after == 120


def test_a_lasting_outage_is_unavailable_within_the_retry_budget(sim, sim_settings):
    adapter = AzureScaleSet(sim_settings, retry_budget_s=1)
    sim.arm_fault("error", status=503)
    started = time.monotonic()
    with pytest.raises(Unavailable):
        adapter.info()
    # the adapter's own bound (a call may take its budget plus one read timeout), not this machine's speed
    assert time.monotonic() - started < 1 + ARM_CONNECT_S + ARM_READ_S


def test_a_brief_500_is_retried_away(sim, adapter):
    sim.arm_fault("error", count=1)
    assert adapter.info().capacity == 3


def test_slow_answers_are_still_answers(sim, adapter):
    sim.arm_fault("slow", delay=0.3, count=1)
    assert len(adapter.instances().items) == 3


def test_a_failing_later_page_makes_the_snapshot_incomplete(sim, sim_settings):
    adapter = AzureScaleSet(sim_settings, retry_budget_s=0.5)
    sim.arm_fault("fail_page", page=2)
    snapshot = adapter.instances()
    assert not snapshot.complete
    assert [i.instance_id for i in snapshot.items] == ["0", "1"]
    assert "arm_unavailable" in snapshot.error


def test_a_short_listing_is_detectable_against_the_scale_set_capacity(sim, adapter):
    """ARM answered 200 without a nextLink: only the capacity from info() reveals it."""
    sim.arm_fault("short_list", count=1)
    snapshot = adapter.instances()
    assert len(snapshot.items) == 2 < adapter.info().capacity


def test_concurrent_capacity_writers_one_wins_the_other_conflicts(adapter, sim_settings):
    other = AzureScaleSet(sim_settings, polling_interval=0.02, lro_wait_s=5)
    etag = adapter.info().etag
    other.set_capacity(5, etag)
    with pytest.raises(Conflict):
        adapter.set_capacity(1, etag)
    assert adapter.info().capacity == 5


def test_operations_are_polled_until_new_instances_run(make_sim):
    sim = make_sim(boot_seconds=0.5)
    adapter = AzureScaleSet(_settings(sim), polling_interval=0.05, lro_wait_s=5)
    adapter.set_capacity(4, adapter.info().etag)
    assert {i.power_state for i in adapter.instances().items} == {"running"}


def test_polling_gives_up_after_lro_wait_and_the_operation_carries_on(make_sim):
    sim = make_sim(boot_seconds=0.8)
    adapter = AzureScaleSet(_settings(sim), polling_interval=0.05, lro_wait_s=0.2)
    adapter.set_capacity(4, adapter.info().etag)
    new = [i for i in adapter.instances().items if i.instance_id == "3"]  # returned before the VM runs
    assert (new[0].provisioning_state, new[0].power_state) == ("Creating", "starting")
    sim.wait_until(lambda: sim.vm("3").power == "running")


def test_a_wrong_arm_token_is_unavailable_not_a_caller_error(sim_settings):
    adapter = AzureScaleSet(sim_settings, credential=StaticTokenCredential("not-the-token"))
    with pytest.raises(Unavailable) as raised:
        adapter.info()
    assert raised.value.code == "arm_auth"


def test_managed_identity_tokens_from_imds_are_accepted_by_arm(sim, sim_settings):
    token = sim.token("master", audience="https://management.azure.com/")
    adapter = AzureScaleSet(sim_settings, credential=StaticTokenCredential(token))
    assert adapter.info().capacity == 3


def test_fake_knobs_raise_the_same_errors():
    fake = FakeScaleSet("agents", 3)
    fake.throttle(1, retry_after=7)
    with pytest.raises(Throttled) as raised:
        fake.info()
    assert raised.value.retry_after == 7
    fake.fail(1)
    with pytest.raises(Unavailable):
        fake.instances()
    fake.short_list = 2
    assert len(fake.instances().items) == 2 < fake.info().capacity
    fake.short_list, fake.fail_listing_after = None, 1
    assert not fake.instances().complete


def _settings(sim):
    from nodepool.settings import Settings

    return Settings.from_env({"AzureWebJobsStorage": "UseDevelopmentStorage=true", **sim.settings_env()})
