"""IMDS of VMs in the simulator's other scale sets (`pools`): each answers as its own VM, of its own scale set.

Checked with the agent's own IMDS client and our attestation verifier (which checks the signature
against the simulator's root, as the app does), not by reading the simulator's fields back.
"""
from __future__ import annotations

import datetime as dt

import pytest
import requests

from agent.imds import Imds
from nodepool.adapters.attestation import verifier_from_settings
from nodepool.settings import Settings
from sim.cluster import Pool

M = {"Metadata": "true"}
NONCE = "fallback0123456789"


@pytest.fixture
def sim(make_sim):
    return make_sim(agents=2, pools=(Pool("regular", "Regular", agents=2, vm_size="Standard_D4s_v5"),))


def compute(sim, which) -> dict:
    url = f"{sim.imds_for(which)}/metadata/instance"
    return requests.get(url, headers=M, params={"api-version": "2021-02-01"}, timeout=5).json()["compute"]


def test_a_fallback_vm_has_its_own_imds_url_and_metadata(sim):
    vm = sim.pool("regular").find("regular000001")
    assert sim.imds_for("regular000001") != sim.imds_for("agents000001")
    meta = compute(sim, "regular_1")
    assert (meta["name"], meta["osProfile"]["computerName"], meta["vmId"]) == ("regular_1", "regular000001", vm.vm_id)
    assert (meta["vmScaleSetName"], meta["priority"], meta["evictionPolicy"], meta["vmSize"]) == (
        "regular", "Regular", "", "Standard_D4s_v5")
    assert meta["resourceId"].endswith("/virtualMachineScaleSets/regular/virtualMachines/1")
    assert meta["resourceId"] == vm.resource_id


def test_the_main_sets_vms_and_master0_are_unchanged_by_a_second_pool(sim):
    main = compute(sim, "agents000001")
    assert (main["vmId"], main["vmScaleSetName"], main["priority"]) == (sim.vm(1).vm_id, "agents", "Spot")
    assert compute(sim, 1)["vmId"] == sim.vm(1).vm_id  # a bare instance id: the agents' own set
    master = compute(sim, "master0")
    assert (master["vmId"], master["vmScaleSetName"]) == (sim.world.master.vm_id, "")


def test_a_fallback_vms_attested_document_names_its_own_vm_id(sim, monkeypatch):
    for name, value in sim.proxy_env().items():  # the leaf's issuer is fetched from its AIA URL, as in Azure
        monkeypatch.setenv(name, value)
    doc = Imds(sim.imds_for("regular000000"), timeout=5.0).attested(NONCE)
    env = {"AzureWebJobsStorage": "UseDevelopmentStorage=true", "NODEPOOL_ATTESTATION_ROOTS": sim.attestation_roots}
    claims = verifier_from_settings(Settings.from_env(env)).verify(doc, dt.datetime.now(dt.timezone.utc))
    assert (claims.vm_id, claims.nonce) == (sim.pool("regular").find("regular000000").vm_id, NONCE)
    assert claims.vm_id != sim.vm(0).vm_id


def test_a_fallback_vms_scheduled_events_are_its_own_scale_sets(sim):
    regular = sim.pool("regular")
    event = regular.reboot("regular000001", notice_s=30)
    client = Imds(sim.imds_for("regular000001"), timeout=5.0)
    mine = client.scheduled_events()
    assert [(e["EventId"], e["EventType"], e["Resources"]) for e in mine["Events"]] == [
        (event.event_id, "Reboot", ["regular_1"])]
    assert Imds(sim.imds_for("agents000001"), timeout=5.0).scheduled_events()["Events"] == []
    client.acknowledge([event.event_id])
    assert regular.find("regular000001").power == "starting"  # started by the acknowledgement, in its own set


def test_the_control_server_reaches_a_fallback_vm(sim):
    answer = requests.post(f"{sim.control_url}/sim/vms/regular000000/preempt", json={"notice": 30}, timeout=5)
    assert answer.status_code == 201 and answer.json()["Resources"] == ["regular_0"]
    assert sim.pool("regular").board.pending("regular", "regular_0", "Preempt")


def test_an_unknown_vm_is_404(sim):
    url = f"{sim.imds.server.url}/vms/regular000009/metadata/instance"
    assert requests.get(url, headers=M, params={"api-version": "2021-02-01"}, timeout=5).status_code == 404
