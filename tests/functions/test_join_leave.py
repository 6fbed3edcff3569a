"""POST /api/leave: the node is cordoned in Kubernetes, a drain message waits in `node-events`,
and the registry says `left`. (The drain itself is the events issue; the dev host's queue
listeners are off here so the message can be peeked.)
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from nodepool.drain.state import DrainRequest
from tests.functions.join_support import kube_objects, queue_messages, quiet_stack, token_parts


@pytest.fixture
def stack(make_stack):
    return quiet_stack(make_stack)


def test_leave_cordons_the_node_and_enqueues_a_well_formed_drain(stack):
    stack.register_master()
    vm = stack.sim.vms[0]
    answer = stack.call("POST", "join", body={"hostname": vm.computer_name}).json()
    stack.sim.kube.k3s_agent_join(vm.computer_name, answer["token"], "pw", provider_id=vm.provider_id)
    assert stack.sim.kube.node(vm.computer_name)["spec"].get("unschedulable") is None

    before = datetime.now(timezone.utc)
    response = stack.call("POST", "leave", body={"hostname": vm.computer_name})
    assert response.status_code == 202, response.text
    reply = response.json()

    assert stack.sim.kube.node(vm.computer_name)["spec"]["unschedulable"] is True
    [message] = queue_messages(stack)
    assert set(message) == {"node", "event_id", "type", "not_before", "deadline"}
    assert message["node"] == vm.computer_name and message["type"] == "Leave"
    assert message["event_id"] == reply["event_id"] == f"leave-{token_parts(answer['token'])[0]}"
    drain = DrainRequest.from_message(message)  # what the drain worker will parse
    assert before + timedelta(seconds=80) <= drain.deadline <= before + timedelta(seconds=100)
    assert message["deadline"] == reply["deadline"]

    node = stack.node_row(vm.computer_name)
    assert node["state"] == "left" and node["last_event_type"] == "Leave"
    assert node["last_event_id"] == reply["event_id"]


def test_leave_of_an_agent_that_never_started_k3s_still_enqueues_and_records(stack):
    stack.register_master()
    name = stack.hostnames()[1]
    token_id = token_parts(stack.join(name).json()["token"])[0]  # joined (attested), but k3s never started
    nodes_before = kube_objects(stack)["nodes"]
    response = stack.call("POST", "leave", body={"hostname": name})
    assert response.status_code == 202, response.text
    assert kube_objects(stack)["nodes"] == nodes_before  # nothing to cordon, nothing created
    [message] = queue_messages(stack)
    assert message["node"] == name and message["event_id"] == f"leave-{token_id}"
    assert stack.node_row(name)["state"] == "left"
