"""Join end to end: the token the app hands out lets k3s (KubeSim's supervisor) register the node;
503 until the master registered; concurrent joins of one hostname; a reimaged or replaced VM;
the agent-token fallback. Through the dev host over HTTP, with Azurite and the simulator.
"""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from nodepool.settings import Settings
from nodepool.wiring import Services
from sim.kube import JoinRefused
from sim.kube.k3s import PASSWORD_REJECTED
from tests.functions.join_support import (
    QUIET,
    bootstrap_secrets,
    kube_objects,
    quiet_stack,
    table_rows,
    token_parts,
    written,
)

LABELS, TAINTS = "pool=spot,team=batch", "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"


@pytest.fixture
def stack(make_stack):
    return quiet_stack(make_stack, env={"NODEPOOL_NODE_LABELS": LABELS, "NODEPOOL_NODE_TAINTS": TAINTS})


def join(stack, name: str, **body):
    response = stack.call("POST", "join", body={"hostname": name, **body})
    assert response.status_code == 200, response.text
    return response.json()


def k3s_join(stack, name: str, answer: dict, password: str) -> dict:
    """What the agent does with our answer: start k3s with the token, labels and taints."""
    labels = dict(label.split("=", 1) for label in answer["node_labels"])
    return stack.sim.kube.k3s_agent_join(name, answer["token"], password, labels, answer["node_taints"],
                                         stack.sim.vm(name).provider_id)


def password_secret(stack, name: str):
    return stack.sim.kube.secret("kube-system", f"{name}.node-password.k3s")


def test_the_token_from_join_lets_k3s_register_the_node(stack):
    stack.register_master()
    vm = stack.sim.vms[1]
    before = datetime.now(timezone.utc)
    answer = join(stack, vm.computer_name, vm_id=vm.vm_id.upper())  # IMDS may answer in either case

    kube = stack.sim.kube
    assert answer["server"] == kube.url and answer["ca_hash"] == kube.ca_hash
    assert answer["k3s_version"] == kube.registration()["k3s_version"]
    assert answer["token"].startswith(f"K10{kube.ca_hash}::")
    assert answer["node_labels"] == ["pool=spot", "team=batch", "kubernetes.azure.com/scalesetpriority=spot"]
    assert answer["node_taints"] == [TAINTS]
    expires = datetime.fromisoformat(answer["expires_at"])
    assert before + timedelta(seconds=890) <= expires <= before + timedelta(seconds=910)

    token_id, secret = token_parts(answer["token"])
    stored = bootstrap_secrets(stack)[token_id]  # what `k3s token create` writes
    assert stored["token-secret"] == secret and stored["token-id"] == token_id
    assert stored["usage-bootstrap-authentication"] == stored["usage-bootstrap-signing"] == "true"
    assert stored["auth-extra-groups"] == "system:bootstrappers:k3s:default-node-token"
    assert datetime.fromisoformat(stored["expiration"].replace("Z", "+00:00")) == expires

    rows = table_rows(stack)
    assert list(rows["jointokens"]) == [("test", token_id)]
    token_row = rows["jointokens"][("test", token_id)]
    assert token_row["node"] == vm.computer_name and token_row["instance_id"] == vm.instance_id
    assert secret not in str(rows) and answer["token"] not in str(rows)  # never the secret in clear
    node = stack.node_row(vm.computer_name)
    assert node["state"] == "joining" and node["vm_id"] == vm.vm_id.lower() and node["instance_id"] == vm.instance_id

    registered = k3s_join(stack, vm.computer_name, answer, "node-password-1")
    assert registered["metadata"]["labels"]["pool"] == "spot"
    assert registered["spec"]["taints"] == [{"key": "kubernetes.azure.com/scalesetpriority", "value": "spot",
                                             "effect": "NoSchedule"}]
    assert registered["spec"]["providerID"] == vm.provider_id
    ready = next(c for c in stack.sim.kube.node(vm.computer_name)["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"
    assert password_secret(stack, vm.computer_name) is not None


def test_before_the_master_registers_join_and_leave_answer_503_with_retry_after(stack):
    name = stack.hostnames()[0]
    before = written(stack)
    response = stack.call("POST", "join", body={"hostname": name})
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "master_not_registered"
    assert int(response.headers["Retry-After"]) > 0
    leave = stack.call("POST", "leave", body={"hostname": name})  # no join yet, so no node credential either
    assert (leave.status_code, leave.json()["error"]) == (401, "node_credential_missing")
    assert written(stack) == before
    stack.register_master()
    assert stack.call("POST", "join", body={"hostname": name}).status_code == 200


def test_concurrent_joins_of_one_hostname_end_with_one_row_and_valid_tokens(stack):
    stack.register_master()
    name = stack.hostnames()[0]
    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda _: stack.call("POST", "join", body={"hostname": name}), range(10)))
    assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses if r.status_code != 200]
    tokens = [r.json()["token"] for r in responses]
    assert len(set(tokens)) == 10

    rows = table_rows(stack)
    assert list(rows["nodes"]) == [("test", name)]
    assert rows["nodes"][("test", name)]["state"] == "joining"
    assert rows["nodes"][("test", name)]["token_id"] in {token_parts(t)[0] for t in tokens}  # one of them won
    assert {k[1] for k in rows["jointokens"]} == {token_parts(t)[0] for t in tokens}
    for token in tokens:  # every one works (the same node re-registers with its password)
        k3s_join(stack, name, {**responses[0].json(), "token": token}, "the-node-password")


def test_rejoin_after_a_reimage_clears_the_node_password_so_the_new_disk_can_join(stack):
    stack.register_master()
    vm = stack.sim.vms[0]
    name = vm.computer_name
    k3s_join(stack, name, join(stack, name, vm_id=vm.vm_id), "password-of-the-first-disk")

    stack.sim.world.act("reimage", [vm.instance_id])  # as ARM does it: same VM and vmId, a new OS disk
    stack.sim.wait_until(lambda: stack.sim.vm(name).power == "running")
    # Without our cleanup k3s refuses the new disk's password, whatever token it brings.
    with pytest.raises(JoinRefused, match="Node password rejected") as refused:
        stack.sim.kube.k3s_agent_join(name, stack.sim.kube.create_join_token(), "password-of-the-new-disk")
    assert refused.value.reason == "node_password_rejected" and str(refused.value) == PASSWORD_REJECTED

    answer = join(stack, name, vm_id=vm.vm_id, fresh=True)  # the agent finds no node password on its disk
    assert password_secret(stack, name) is None and stack.sim.kube.node(name) is None
    registered = k3s_join(stack, name, answer, "password-of-the-new-disk")
    assert registered["metadata"]["name"] == name


def test_a_rejoin_from_the_same_disk_keeps_the_node(stack):
    stack.register_master()
    vm = stack.sim.vms[0]
    k3s_join(stack, vm.computer_name, join(stack, vm.computer_name, vm_id=vm.vm_id), "same-disk")
    uid = stack.sim.kube.node(vm.computer_name)["metadata"]["uid"]
    answer = join(stack, vm.computer_name, vm_id=vm.vm_id)  # a restart: same VM, same disk
    assert stack.sim.kube.node(vm.computer_name)["metadata"]["uid"] == uid
    k3s_join(stack, vm.computer_name, answer, "same-disk")


def test_a_new_vm_with_an_old_name_gets_the_stale_node_removed(stack):
    stack.register_master()
    vm = stack.sim.vms[2]
    k3s_join(stack, vm.computer_name, join(stack, vm.computer_name, vm_id=vm.vm_id), "old-vm")
    old_vm_id = vm.vm_id
    vm.vm_id = str(uuid.uuid4())  # the scale set was recreated: a new VM answers to the old name
    with pytest.raises(JoinRefused, match="Node password rejected"):
        stack.sim.kube.k3s_agent_join(vm.computer_name, stack.sim.kube.create_join_token(), "new-vm")

    # Minutes pass before a new VM boots; here another worker (cold caches) stands in for that.
    other = stack.with_another_host(args=list(QUIET))
    answer = join(other, vm.computer_name, vm_id=vm.vm_id)
    assert stack.sim.kube.node(vm.computer_name) is None and password_secret(stack, vm.computer_name) is None
    k3s_join(stack, vm.computer_name, answer, "new-vm")
    assert other.node_row(vm.computer_name)["vm_id"] == vm.vm_id != old_vm_id

    refused = other.call("POST", "join", body={"hostname": vm.computer_name, "vm_id": old_vm_id})
    assert refused.status_code == 403 and refused.json()["error"] == "vm_id_mismatch"  # the VM that is gone


def test_the_instance_list_is_refreshed_when_a_vm_was_replaced_but_not_more_than_bounded(stack):
    """The directory behind /join, on the real ARM adapter: a changed vmId is a miss, and misses
    still refresh at most once per interval (a flood of made-up vmIds costs no ARM calls)."""
    services = Services(Settings.from_env(stack.host.env))
    vm, now = stack.sim.vms[0], datetime.now(timezone.utc)
    assert services.instances.lookup(vm.computer_name, now, vm.vm_id).vm_id == vm.vm_id
    vm.vm_id = str(uuid.uuid4())
    lists = stack.sim.arm.server.hits.copy()
    for _ in range(20):
        stale = services.instances.lookup(vm.computer_name, now + timedelta(seconds=1), str(uuid.uuid4()))
    assert stack.sim.arm.server.hits == lists and stale.vm_id != vm.vm_id
    later = services.instances.lookup(vm.computer_name, now + timedelta(seconds=11), vm.vm_id)
    assert later.vm_id == vm.vm_id and services.instances.refreshes == 2


def test_concurrent_first_joins_on_a_cold_worker_share_one_instance_listing(make_stack):
    stack = quiet_stack(make_stack, sim_options={"agents": 6})  # ARM pages of 2: 3 pages a listing
    stack.register_master()
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda name: stack.call("POST", "join", body={"hostname": name}), stack.hostnames()))
    assert [a.status_code for a in answers] == [200] * 6
    listings = sum(n for key, n in stack.sim.arm.server.hits.items() if key.endswith("/virtualMachines"))
    assert listings == 3


def test_with_bootstrap_tokens_off_join_hands_out_the_registered_agent_token(make_stack):
    stack = quiet_stack(make_stack, env={"NODEPOOL_BOOTSTRAP_TOKENS": "false"})
    stack.register_master()
    name = stack.hostnames()[0]
    answer = join(stack, name)
    assert answer["token"] == stack.sim.kube.agent_token and answer["expires_at"] is None
    assert "jointokens" not in table_rows(stack) and bootstrap_secrets(stack) == {}
    k3s_join(stack, name, answer, "pw")
    assert kube_objects(stack)["nodes"][name] is False
