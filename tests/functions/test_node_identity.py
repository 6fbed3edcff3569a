"""End to end on the local stack: agent A's real credentials cannot act as B; A's own flows work.

A and B are simulated VMs that joined with attested documents from their own IMDS. A then uses
everything its VM holds (agent token, function key, its node credential, its IMDS) against B.
"""
from __future__ import annotations

import pytest

from tests.functions import spoofing
from tests.functions.join_support import quiet_stack

REFUSED = {
    "join_as_b": (403, "attestation_vm_other_instance"),
    "join_as_b_fresh": (403, "attestation_vm_other_instance"),
    "join_as_b_with_a_nonce": (403, "attestation_nonce_other_host"),
    "join_as_b_without_document": (403, "attestation_missing"),
    "join_as_b_replayed_document": (403, "attestation_nonce_replayed"),
    "leave_b": (403, "node_credential_invalid"),
    "leave_b_without_credential": (401, "node_credential_missing"),
    "events_b_preempt": (403, "node_credential_invalid"),
    "events_b_started": (403, "node_credential_invalid"),
    "events_b_without_credential": (401, "node_credential_missing"),
    "status_b": (403, "node_credential_invalid"),
    "status_b_without_credential": (401, "node_credential_missing"),
    "register_cluster_as_agent": (403, "identity_not_allowed"),
    "master_nonce_as_agent": (403, "identity_not_allowed"),
}


@pytest.fixture
def pool(make_stack):
    stack = quiet_stack(make_stack)
    stack.register_master()
    a, b = stack.sim.vms[:2]
    for vm in (a, b):
        stack.sim.kube.add_node(vm.computer_name)
        assert stack.join(vm.computer_name).status_code == 200
    return stack, a, b


def test_a_cannot_join_leave_report_events_for_or_read_b(pool):
    stack, a, b = pool
    outcomes = spoofing.run(stack, a.computer_name, b.computer_name, b.name)
    assert {o.case: (o.status, o.code) for o in outcomes} == REFUSED
    assert [o.case for o in outcomes if o.accepted] == []
    assert stack.sim.kube.node(b.computer_name)["spec"].get("unschedulable") in (None, False)


def test_a_own_flows_work_and_every_action_is_audited(pool):
    stack, a, _ = pool
    name, first = a.computer_name, stack.node_credentials[a.computer_name]
    status = stack.call("GET", f"nodes/{name}")
    assert status.status_code == 200 and status.json()["state"] == "joining"
    event = spoofing._events(stack, name, a.name, "own-preempt", "Scheduled", stack.identities.headers(name))
    assert event.status_code == 202 and event.json()["events"][0]["action"] == "drain"
    assert stack.sim.kube.node(name)["spec"]["unschedulable"] is True

    stack.sim.world.act("reimage", [a.instance_id])  # a new OS disk: the agent re-attests with fresh=true
    rejoined = stack.call("POST", "join", body={"hostname": name, "fresh": True})
    assert rejoined.status_code == 200, rejoined.text
    second = stack.node_credentials[name]
    assert second != first
    old = stack.call("GET", f"nodes/{name}", headers={"X-Node-Credential": first})
    assert (old.status_code, old.json()["error"]) == (403, "node_credential_invalid")
    assert stack.call("POST", "join", body={"hostname": name}).status_code == 200  # a plain re-join rotates too
    assert stack.node_credentials[name] != second
    assert stack.call("POST", "leave", body={"hostname": name}).status_code == 202

    audit = stack.call("GET", "audit", who=None, params={"limit": 100})
    assert audit.status_code == 200
    mine = [(e["action"], e["who"]["role"]) for e in audit.json()["entries"] if e["node"] == name]
    for action in ("join", "token_mint", "cordon", "leave"):
        assert (action, "agent") in mine, mine
    # The Preempt's drain (system) deletes the Node, unless the fresh disk's join got there first (agent):
    # the trail names whichever did, once.
    assert [role for action, role in mine if action == "node_delete"] in (["system"], ["agent"]), mine
    assert not any(secret in audit.text for secret in (first, second, stack.node_credentials[name]))
    assert stack.call("GET", "audit", who=None, key=False).status_code == 401
