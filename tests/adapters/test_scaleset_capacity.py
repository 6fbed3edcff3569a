"""Azure's "no capacity" answers reach the autoscaler as CapacityUnavailable with Azure's code.

Through azure-mgmt-compute against the simulated ARM, which answers as ARM does (409 and an
`{"error": {"code", "message"}}` body); the codes are the ones azure-core parses into
HttpResponseError.error. Several pools are several scale sets, each its own AzureScaleSet.
"""
import pytest

from nodepool.adapters.scaleset import AzureScaleSet
from nodepool.core.errors import CapacityUnavailable, Conflict
from nodepool.settings import Settings
from sim.cluster import Pool


@pytest.fixture
def pools(make_sim):
    sim = make_sim(agents=1, pools=(Pool("regular", agents=1),))
    settings = Settings.from_env({"AzureWebJobsStorage": "UseDevelopmentStorage=true", **sim.settings_env()})
    return sim, {name: AzureScaleSet(settings, name=name, polling_interval=0.02, lro_wait_s=5)
                 for name in ("agents", "regular")}


@pytest.mark.parametrize("code", ["SkuNotAvailable", "AllocationFailed", "ZonalAllocationFailed",
                                  "OverconstrainedAllocationRequest", "OperationNotAllowed"])
def test_a_refused_scale_out_is_capacity_unavailable_with_azures_code_and_changes_nothing(pools, code):
    sim, sets = pools
    sim.pool("agents").capacity_left.refuse(code, count=1)
    with pytest.raises(CapacityUnavailable) as caught:
        sets["agents"].set_capacity(3, sets["agents"].info().etag)
    assert caught.value.code == code
    assert sets["agents"].info().capacity == 1
    sets["agents"].set_capacity(3, sets["agents"].info().etag)  # the outage was one write long
    assert sets["agents"].info().capacity == 3


def test_pools_are_separate_scale_sets_each_with_its_own_capacity_and_outage(pools):
    sim, sets = pools
    sim.pool("agents").capacity_left.refuse("SkuNotAvailable")
    sets["regular"].set_capacity(2, sets["regular"].info().etag)
    with pytest.raises(CapacityUnavailable):
        sets["agents"].set_capacity(2, sets["agents"].info().etag)
    assert (sets["agents"].info().capacity, sets["regular"].info().capacity) == (1, 2)
    assert [i.name for i in sets["regular"].instances().items] == ["regular000000", "regular000001"]
    assert sim.pool("agents").capacity_left.refused == 1


def test_a_protected_scale_in_refusal_is_not_mistaken_for_a_quota_error(pools):
    sim, sets = pools
    sets["regular"].set_protection("0", True)
    with pytest.raises(Conflict):  # 409 OperationNotAllowed without quota: the scale set's own refusal
        sets["regular"].set_capacity(0, sets["regular"].info().etag)


def test_an_allocation_failure_after_an_accepted_write_comes_from_the_operation_and_leaves_failed_instances(pools):
    sim, sets = pools
    sim.pool("agents").capacity_left.refuse("AllocationFailed", count=1, accepted=True)
    with pytest.raises(CapacityUnavailable) as caught:  # the poller sees the operation end Failed
        sets["agents"].set_capacity(3, sets["agents"].info().etag)
    assert caught.value.code == "AllocationFailed"
    states = {i.instance_id: i.provisioning_state for i in sets["agents"].instances().items}
    assert states == {"0": "Succeeded", "1": "Failed", "2": "Failed"}
