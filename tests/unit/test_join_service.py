"""Join, leave and token cleanup over in-memory fakes."""
import threading
from dataclasses import replace
from datetime import timedelta

import pytest

from nodepool.core.errors import Forbidden, Unavailable
from nodepool.core.model import Caller, NodeState, Role
from nodepool.core.records import NodeRecord
from nodepool.join.service import JoinPolicy
from nodepool.join.tokens import clean_join_tokens
from tests.unit.fakes_world import CA_HASH, NOW, Plane

AGENT = Caller(Role.AGENT, "agent-principal")


@pytest.fixture
def plane():
    plane = Plane()
    plane.register_master()
    return plane


def test_join_mints_a_bootstrap_token_and_records_it(plane):
    host = plane.hostnames()[0]
    answer = plane.join(host)
    token_id, secret = answer["token"].removeprefix(f"K10{CA_HASH}::").split(".")
    stored = plane.kube.secret("kube-system", f"bootstrap-token-{token_id}")
    assert stored["type"] == "bootstrap.kubernetes.io/token"
    assert stored["data"]["token-secret"] == secret
    assert answer["server"] == "https://10.0.0.4:6443" and answer["expires_at"] == "2026-11-25T12:15:00+00:00"
    [recorded] = plane.registry.join_tokens()
    assert (recorded.token_id, recorded.node) == (token_id, host)
    row = plane.registry.node(host)
    assert (row.state, row.token_id, row.instance_id) == (NodeState.JOINING, token_id, "0")


def test_join_before_the_master_registered_is_503_with_retry_after_and_writes_nothing():
    plane = Plane()
    with pytest.raises(Unavailable) as err:
        plane.join(plane.hostnames()[0])
    assert (err.value.code, err.value.retry_after) == ("master_not_registered", 15)
    assert plane.registry.writes == 0 and plane.kube.writes == []


def test_a_name_one_of_our_vms_could_have_is_not_visible_yet_and_a_flood_costs_one_arm_list(plane):
    for i in range(50):
        with pytest.raises(Unavailable) as err:
            plane.joins.nonce(AGENT, f"agents{i + 1000:06x}", NOW + timedelta(seconds=i / 10))
        assert (err.value.code, err.value.retry_after) == ("instance_not_visible", 10)
    assert plane.instances.refreshes == 1
    assert plane.registry.writes == 1  # the master's registration only
    assert plane.kube.writes == []


@pytest.mark.parametrize("name", ["intruder01", "master0", "0", "agents", "agentsx-1", "regular000000"])
def test_a_name_no_vm_of_ours_can_have_is_refused_for_good_without_asking_arm_again(plane, name):
    """Every VM of the scale set is named its computerNamePrefix (here `agents`) and base-36 digits."""
    for i in range(20):
        with pytest.raises(Forbidden) as err:
            plane.joins.nonce(AGENT, name, NOW + timedelta(seconds=i))
        assert err.value.code == "not_our_vm" and "start with agents" in err.value.message
    assert plane.instances.refreshes == 1  # the one that learnt the prefix
    assert plane.registry.writes == 1 and plane.kube.writes == []


def test_while_arm_will_not_say_the_prefix_every_name_may_be_ours(plane):
    def throttled():
        raise Unavailable("get scale set: ARM throttled")
    plane.scaleset.info = throttled  # the listing works, the scale set's own GET does not
    with pytest.raises(Unavailable) as err:
        plane.joins.nonce(AGENT, "intruder01", NOW)
    assert err.value.code == "instance_not_visible"
    del plane.scaleset.info
    with pytest.raises(Forbidden):
        plane.joins.nonce(AGENT, "intruder01", NOW + timedelta(seconds=11))


def test_a_new_vm_reusing_a_name_clears_the_stale_node_and_its_password(plane):
    host = plane.hostnames()[0]
    plane.kube.add_node(host)
    plane.kube.add_secret("kube-system", f"{host}.node-password.k3s")
    plane.registry.save_node(NodeRecord(host, NodeState.READY, vm_id="old-vm"))
    new_vm = plane.scaleset.instances().items[0].vm_id
    plane.join(host)
    assert plane.kube.node(host) is None
    assert plane.kube.secret("kube-system", f"{host}.node-password.k3s") is None
    assert plane.registry.node(host).vm_id == new_vm
    assert ("node_delete", host) in plane.audit_log.actions()


def test_the_first_join_of_a_new_vm_audits_no_node_delete(plane):
    host = plane.hostnames()[1]
    plane.join(host, fresh=True)  # every VM's first boot is a fresh disk, with no earlier Node to replace
    assert plane.audit_log.actions() == [("join", host), ("token_mint", host)]


def test_a_reboot_keeps_the_node(plane):
    host = plane.hostnames()[0]
    plane.kube.add_node(host)
    vm_id = plane.scaleset.instances().items[0].vm_id
    plane.registry.save_node(NodeRecord(host, NodeState.READY, vm_id=vm_id))
    plane.join(host)
    assert plane.kube.node(host) is not None


def test_without_bootstrap_tokens_the_agent_token_is_handed_out():
    plane = Plane(policy=JoinPolicy(bootstrap_tokens=False))
    plane.register_master()
    answer = plane.join(plane.hostnames()[0])
    assert answer["token"] == "K10agent::server:secret" and answer["expires_at"] is None
    assert plane.registry.join_tokens() == []


def test_concurrent_joins_for_one_hostname_end_with_one_row_and_valid_tokens(plane):
    host, answers, errors = plane.hostnames()[0], [], []

    def join():
        try:
            answers.append(plane.join(host))
        except Exception as err:  # noqa: BLE001 - any error is the failure we look for
            errors.append(err)

    threads = [threading.Thread(target=join) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(answers) == 8
    ids = {a["token"].split("::")[1].split(".")[0] for a in answers}
    assert len(ids) == 8
    assert all(plane.kube.secret("kube-system", f"bootstrap-token-{i}") for i in ids)
    assert plane.registry.node(host).token_id in ids
    assert len(plane.registry.all_nodes()) == 1


def test_leave_cordons_enqueues_a_drain_and_marks_the_row(plane):
    host = plane.hostnames()[1]
    plane.kube.add_node(host)
    plane.join(host)
    answer = plane.events.leave(plane.claim(host), host, NOW)
    assert plane.kube.node(host).unschedulable
    [message] = plane.queue.messages
    assert message == {"node": host, "event_id": answer["event_id"], "type": "Leave",
                       "not_before": NOW.isoformat(), "deadline": (NOW + timedelta(seconds=90)).isoformat()}
    assert plane.registry.node(host).state is NodeState.LEFT


def test_leave_whose_enqueue_fails_leaves_the_row_alone_for_the_retry(plane):
    host = plane.hostnames()[1]
    plane.join(host)
    plane.queue.fail_next(Unavailable("queue down"))
    with pytest.raises(Unavailable):
        plane.events.leave(plane.claim(host), host, NOW)
    assert plane.registry.node(host).state is NodeState.JOINING
    plane.events.leave(plane.claim(host), host, NOW)
    assert plane.registry.node(host).state is NodeState.LEFT and len(plane.queue.messages) == 1


def test_token_cleanup_removes_expired_and_used_tokens_and_keeps_pending_ones(plane):
    used, pending, expired = plane.hostnames()
    for host in (used, pending, expired):
        plane.join(host)
    plane.kube.add_node(used)  # joined and Ready: its token has served
    expired_id = plane.registry.node(expired).token_id
    plane.registry.delete_join_token(expired_id)
    record = next(t for t in plane.joins.registry.join_tokens() if t.node == pending)
    plane.registry.add_join_token(replace(record, token_id=expired_id, node=expired, expires_at=NOW))
    result = clean_join_tokens(plane.registry, plane.kube, NOW + timedelta(minutes=1))
    assert result == {"removed": 2, "kept": 1, "failed": 0}
    assert [t.node for t in plane.registry.join_tokens()] == [pending]
    assert plane.kube.secret("kube-system", f"bootstrap-token-{expired_id}") is None


def test_a_fresh_disk_clears_a_password_secret_left_without_a_node(plane):
    host = plane.hostnames()[2]
    plane.kube.add_secret("kube-system", f"{host}.node-password.k3s")  # an earlier k3s start that never registered
    plane.join(host, fresh=True)
    assert plane.kube.secret("kube-system", f"{host}.node-password.k3s") is None
