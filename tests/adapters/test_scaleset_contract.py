"""One contract for the ScaleSet port: the in-memory fake and the ARM adapter against the simulator.

Both start with 3 running instances (ids 0..2). Against the simulator every call goes through
azure-mgmt-compute over HTTPS, with paged listings (2 per page) and polled operations.
"""
from dataclasses import replace

import pytest

from nodepool.adapters.scaleset import AzureScaleSet
from nodepool.core.errors import Conflict, NotFound
from nodepool.fakes.scaleset import FakeScaleSet


@pytest.fixture(params=["fake", "sim"])
def pool(request):
    if request.param == "fake":
        return FakeScaleSet("agents", 3)
    return AzureScaleSet(request.getfixturevalue("sim_settings"), polling_interval=0.02, lro_wait_s=5)


def by_id(snapshot):
    return {i.instance_id: i for i in snapshot.items}


def test_info_reports_name_capacity_and_an_etag(pool):
    info = pool.info()
    assert (info.name, info.capacity) == ("agents", 3)
    assert info.etag


def test_instances_are_listed_completely_with_azure_names(pool):
    snapshot = pool.instances()
    assert snapshot.complete and snapshot.error is None
    assert [(i.instance_id, i.name) for i in snapshot.items] == [
        ("0", "agents000000"), ("1", "agents000001"), ("2", "agents000002")]
    assert {(i.power_state, i.provisioning_state, i.protected) for i in snapshot.items} == {
        ("running", "Succeeded", False)}
    assert len({i.vm_id for i in snapshot.items}) == 3
    assert all(i.created_at is not None for i in snapshot.items)


def test_scaling_out_creates_instances_with_the_next_ids_and_changes_the_etag(pool):
    before = pool.info()
    pool.set_capacity(5, before.etag)
    after = pool.info()
    assert after.capacity == 5 and after.etag != before.etag
    items = by_id(pool.instances())
    assert sorted(items, key=int) == ["0", "1", "2", "3", "4"]
    assert items["4"].name == "agents000004"


def test_instance_ids_past_35_get_base36_computer_names(pool):
    pool.set_capacity(38, pool.info().etag)
    items = by_id(pool.instances())
    assert len(items) == 38
    assert (items["10"].name, items["35"].name, items["37"].name) == ("agents00000a", "agents00000z", "agents000011")


def test_capacity_write_with_a_stale_etag_is_a_conflict_and_changes_nothing(pool):
    stale = pool.info().etag
    pool.set_capacity(4, stale)
    with pytest.raises(Conflict):
        pool.set_capacity(6, stale)
    assert pool.info().capacity == 4


def test_scaling_in_removes_the_highest_unprotected_instances(pool):
    pool.set_protection("2", True)
    pool.set_capacity(2, pool.info().etag)
    assert sorted(by_id(pool.instances())) == ["0", "2"]


def test_scaling_in_past_protected_instances_is_refused(pool):
    for iid in ("0", "1", "2"):
        pool.set_protection(iid, True)
    with pytest.raises(Conflict):
        pool.set_capacity(1, pool.info().etag)
    assert pool.info().capacity == 3


def test_protection_is_reported_and_can_be_lifted(pool):
    pool.set_protection("1", True)
    assert by_id(pool.instances())["1"].protected
    pool.set_protection("1", False)
    assert not by_id(pool.instances())["1"].protected


def test_one_instance_is_read_as_listed_and_a_missing_one_is_none(pool):
    listed = by_id(pool.instances())
    assert pool.get_instance("1") == listed["1"]
    pool.delete_instances(["1"])
    assert pool.get_instance("1") is None and pool.get_instance("99") is None


def test_a_missing_scale_set_is_not_taken_for_a_missing_instance(sim_settings):
    other = AzureScaleSet(replace(sim_settings, scale_set="nosuchset"), polling_interval=0.02, lro_wait_s=5)
    with pytest.raises(NotFound):
        other.get_instance("1")  # a 404 for the parent: no evidence that instance 1 is gone


def test_deleting_instances_removes_them_and_lowers_capacity(pool):
    pool.delete_instances(["0", "2"])
    assert sorted(by_id(pool.instances())) == ["1"]
    assert pool.info().capacity == 1


def test_deleting_an_unknown_instance_is_not_found_and_deletes_nothing(pool):
    with pytest.raises(NotFound):
        pool.delete_instances(["1", "99"])
    assert len(pool.instances().items) == 3


def test_deallocated_instances_stay_listed_until_started_again(pool):
    pool.deallocate_instances(["1"])
    assert by_id(pool.instances())["1"].power_state == "deallocated"
    assert pool.info().capacity == 3
    pool.start_instances(["1"])
    assert by_id(pool.instances())["1"].power_state == "running"


def test_restarted_and_reimaged_instances_come_back_running(pool):
    pool.restart_instances(["0"])
    pool.reimage_instances(["1"])
    items = by_id(pool.instances())
    assert (items["0"].power_state, items["1"].power_state) == ("running", "running")
    assert items["1"].vm_id  # a reimage keeps the VM


def test_empty_id_lists_touch_nothing(pool):
    for action in (pool.delete_instances, pool.restart_instances, pool.deallocate_instances, pool.reimage_instances):
        action([])
    assert {i.power_state for i in pool.instances().items} == {"running"}
    assert pool.info().capacity == 3


VMSS_ID = ("azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/"
           "virtualMachineScaleSets/{}/virtualMachines/{}")  # cloud-provider-azure's providerID of a VMSS VM


def test_the_scale_set_names_its_vms_and_reads_provider_ids_as_azure_does(pool):
    assert pool.vm_name("7") == "agents_7"  # what IMDS lists in a scheduled event's Resources
    ours = pool.claim(VMSS_ID.format("Agents", "7"))  # Azure resource names are case-insensitive
    assert (ours.ours, ours.instance_id) == (True, "7")
    assert pool.claim(VMSS_ID.format("gpu", "7")).ours is False
    assert pool.claim("k3s://agents000007").ours is None and pool.claim("").ours is None
