"""The pool commands against the simulator's ARM: each does what it says."""
import random

import pytest

from ops import agents, catalog
from ops.errors import OpsError
from tests.infra.ops_support import azure_for


def quiet(_):
    pass


def power_states(sim) -> dict[str, str]:
    return {vm.instance_id: vm.power for vm in sim.vms}


def test_list_agents_shows_every_instance_with_its_power_state(sim):
    rows = agents.list_agents(azure_for(sim), say=quiet)
    assert [(pool, state) for pool, _, _, _, state in rows] == [("agents", "running")] * 3
    assert {name for _, _, name, _, _ in rows} == {vm.computer_name for vm in sim.vms}


def test_scale_agents_sets_the_capacity_and_waits_for_the_new_instances(sim):
    agents.scale(azure_for(sim), 5, say=quiet)
    assert sim.world.capacity == 5 and set(power_states(sim).values()) == {"running"}
    agents.scale(azure_for(sim), 2, pool="agents", say=quiet)
    assert sim.world.capacity == 2


def test_an_unknown_pool_and_a_negative_count_are_one_clear_error(sim):
    with pytest.raises(OpsError, match="no scale set 'gpu'"):
        agents.scale(azure_for(sim), 1, pool="gpu", say=quiet)
    with pytest.raises(OpsError, match="0 or more"):
        agents.scale(azure_for(sim), -1, say=quiet)


def test_stop_deallocates_every_agent_and_start_brings_them_back(sim):
    agents.power(azure_for(sim), "deallocate", say=quiet)
    assert set(power_states(sim).values()) == {"deallocated"}
    agents.power(azure_for(sim), "start", say=quiet)
    assert set(power_states(sim).values()) == {"running"}


def test_serial_reimage_waits_for_each_instance_before_the_next(sim):
    seen_before_next = []

    def note(line):
        if line.startswith("reimaging"):
            seen_before_next.append(dict(power_states(sim)))

    done = agents.reimage(azure_for(sim), serial=True, say=note)
    assert done == [f"agents/{vm.instance_id}" for vm in sim.vms]
    for snapshot in seen_before_next:  # when each reimage starts, no other instance is mid-reimage
        assert set(snapshot.values()) == {"running"}
    assert set(power_states(sim).values()) == {"running"}


def test_parallel_reimage_sends_every_instance_in_one_request(sim):
    before = sim.arm.server.hits.copy()
    done = agents.reimage(azure_for(sim), serial=False, say=quiet)
    posts = [k for k, v in (sim.arm.server.hits - before).items() if k.startswith("POST") and k.endswith("/reimage")]
    assert len(done) == 3 and len(posts) == 1


def test_chaos_monkey_restarts_every_agent_once_in_random_order(sim):
    order = agents.chaos_monkey(azure_for(sim), rng=random.Random(7), say=quiet)
    assert sorted(order) == sorted(f"agents/{vm.instance_id}" for vm in sim.vms)
    assert set(power_states(sim).values()) == {"running"}


def test_resize_changes_the_pools_vm_size(sim):
    agents.resize(azure_for(sim), "Standard_B2ms", say=quiet)
    assert sim.world.config.vm_size == "Standard_B2ms"
    lines = []
    agents.show_agents(azure_for(sim), say=lines.append)
    assert "Standard_B2ms" in lines[0] and "eviction Delete" in lines[0]


def test_catalogue_listings_come_from_the_simulators_fixture_data(sim):
    az = azure_for(sim)
    assert "westeurope" in catalog.locations(az, say=quiet)
    assert "Standard_B2s" in catalog.sizes(az, say=quiet)
    assert "server" in catalog.images(az, say=quiet)


def test_pool_commands_on_a_group_without_scale_sets_name_the_deploy_task(sim):
    az = azure_for(sim, COMPUTE_GROUP="k3s-empty")
    az.resources.resource_groups.create_or_update("k3s-empty", {"location": "westeurope"})
    with pytest.raises(OpsError, match="deploy-compute"):
        agents.list_agents(az, say=quiet)
