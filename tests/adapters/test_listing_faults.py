"""The simulator's stale, inconsistent and skewed observations, as the production adapters read them."""
from datetime import datetime, timedelta, timezone

from nodepool.adapters.scaleset import AzureScaleSet
from nodepool.reconcile.versions import compare
from nodepool.settings import Settings
from tests.fixtures.kube import eventually


def test_a_page_boundary_that_moved_lists_a_vm_twice_in_two_states(sim, sim_settings):
    """Pages of 2: VM 1 ends page 1 and comes again first on page 2, there running although deallocated."""
    sim.world.act("deallocate", ["1"])
    sim.arm_fault("duplicate", state="running")
    listed = AzureScaleSet(sim_settings).instances()
    assert listed.complete and [i.instance_id for i in listed.items] == ["0", "1", "1", "2"]
    assert [i.power_state for i in listed.items if i.instance_id == "1"] == ["deallocated", "running"]


def test_a_listing_of_one_page_repeats_its_last_vm(make_sim):
    sim = make_sim(page_size=10)
    sim.arm_fault("duplicate")
    listed = AzureScaleSet(_settings(sim)).instances()
    assert [i.instance_id for i in listed.items] == ["0", "1", "2", "2"]


def test_a_stale_node_list_is_an_older_snapshot_at_an_older_resource_version(kube_sim, kube):
    kube_sim.add_node("agent-0")
    kube_sim.add_node("agent-1")
    before = kube_sim.snapshot()
    old = kube.nodes()
    kube_sim.add_node("agent-2")
    kube.patch_node("agent-0", labels={"healed": "yes"})
    kube_sim.faults.add("stale_list", path="/api/v1/nodes", snapshot=before)
    stale = kube.nodes()
    assert (stale.version, [n.name for n in stale.items]) == (old.version, ["agent-0", "agent-1"])
    assert "healed" not in stale.items[0].labels
    assert kube.node("agent-2") is not None and kube.node("agent-0").labels["healed"] == "yes"  # GETs stay current
    kube_sim.faults.clear()
    fresh = kube.nodes()
    assert compare(stale.version, fresh.version) == -1 and len(fresh.items) == 3


def test_without_a_snapshot_the_stale_list_is_the_first_one_it_answers(kube_sim, kube):
    kube_sim.add_node("agent-0")
    kube_sim.faults.add("stale_list", path="/api/v1/nodes")
    first = kube.nodes()
    kube_sim.add_node("agent-1")
    assert kube.nodes() == first


def test_a_skewed_api_server_clock_stamps_what_it_writes_ahead(kube_sim, kube):
    kube_sim.faults.add("skew", delay=600)
    kube_sim.add_node("agent-0")
    node = eventually(lambda: kube.node("agent-0"))
    ahead = node.created_at - datetime.now(timezone.utc)
    assert timedelta(minutes=9) < ahead <= timedelta(minutes=10, seconds=1)


def _settings(sim) -> Settings:
    return Settings.from_env({"AzureWebJobsStorage": "UseDevelopmentStorage=true", **sim.settings_env()})
