"""A VM of the Regular fallback pool joins over the local stack, attested by its own IMDS, and its events count.

The simulator runs two scale sets (agents: spot; regular: the fallback, as NODEPOOL_AUTOSCALE_POOLS
names them); the dev host's app lists both. The join is the agent's: a nonce, the attested document
from that VM's IMDS, POST /api/join; its scheduled events are read from that VM's IMDS as `agent
watch` reads them, and sent with its node credential.
"""
from __future__ import annotations

import json

import pytest

from agent.imds import Imds
from sim.cluster import Pool
from tests.functions.join_support import quiet_stack

SHAPE = {"vm_size": "Standard_D4s_v5", "cpu": "3990m", "memory": "16264Mi", "min": 0, "max": 5}
POOLS = [{"name": "spot", "scale_set": "agents", "priority": "spot", "preference": 0, **SHAPE},
         {"name": "regular", "scale_set": "regular", "priority": "regular", "preference": 1, **SHAPE}]
FALLBACK = "regular000000"


@pytest.fixture
def stack(make_stack):
    stack = quiet_stack(make_stack, {"agents": 1, "pools": (Pool("regular", "Regular", agents=1),)},
                        {"NODEPOOL_AUTOSCALE_POOLS": json.dumps(POOLS)})
    stack.register_master()
    stack.sim.kube.add_node(FALLBACK)
    return stack


def test_a_fallback_vm_joins_attested_and_its_row_names_its_instance(stack):
    answer = stack.join(FALLBACK)
    assert answer.status_code == 200, answer.text
    assert answer.json()["node_credential"].startswith("npc1.")
    row = stack.node_row(FALLBACK)
    assert row is not None and row["state"] == "joining"
    assert row["instance_id"] == stack.sim.pool("regular").find(FALLBACK).instance_id


def test_its_own_scheduled_event_reaches_the_app_and_cordons_it(stack):
    assert stack.join(FALLBACK).status_code == 200
    event = stack.sim.pool("regular").preempt(FALLBACK, notice_s=30)
    document = Imds(stack.sim.imds_for(FALLBACK), timeout=5.0).scheduled_events()
    assert [e["Resources"] for e in document["Events"]] == [["regular_0"]]
    sent = stack.call("POST", "events", body={"hostname": FALLBACK, "incarnation": document["DocumentIncarnation"],
                                              "document": document})
    assert sent.status_code == 202, sent.text
    assert [(e["event_id"], e["action"]) for e in sent.json()["events"]] == [(event.event_id, "drain")]
    assert stack.sim.kube.node(FALLBACK)["spec"]["unschedulable"] is True


def test_a_fallback_vms_document_does_not_pass_for_a_spot_vm(stack):
    spot = stack.sim.vms[0].computer_name
    stack.sim.kube.add_node(spot)
    refused = stack.identities.join(spot, vm=FALLBACK)
    assert (refused.status_code, refused.json()["error"]) == (403, "attestation_vm_other_instance")
    assert stack.node_row(spot) is None
