"""A VM acts only on its own node: attested joins, node credentials and the audit trail, over fakes."""
import hashlib
from datetime import timedelta

import pytest

from nodepool.core.errors import Forbidden, Unauthenticated, Unavailable
from nodepool.core.model import Caller, NodeState, Role
from nodepool.drain.report import EventReport
from nodepool.fakes.attest import FakeAttestationVerifier
from nodepool.identity import attestation as att
from nodepool.identity.attestation import AttestationRefused
from nodepool.identity.guard import NodeClaim
from nodepool.join.cluster import Registration
from nodepool.join.request import JoinRequest
from nodepool.join.service import MASTER, JoinPolicy
from nodepool.join.tokens import TokenCleaner
from nodepool.status.nodes import NodeDirectory
from tests.unit.fakes_world import AGENT, NOW, Plane

NOT_BEFORE = "Wed, 25 Nov 2026 12:00:30 GMT"


@pytest.fixture
def plane():
    plane = Plane()
    plane.register_master()
    for host in plane.hostnames():
        plane.kube.add_node(host)
    plane.a, plane.b = plane.hostnames()[:2]
    plane.join(plane.a)
    plane.join(plane.b)
    return plane


def preempt(host: str, resource: str, event_id: str = "E1", status: str = "Scheduled") -> EventReport:
    event = {"EventId": event_id, "EventType": "Preempt", "Resources": [resource], "EventStatus": status,
             "NotBefore": NOT_BEFORE if status == "Scheduled" else ""}
    return EventReport.from_json({"hostname": host, "document": {"DocumentIncarnation": 1, "Events": [event]}})


def vm_id(plane, host: str) -> str:
    return next(i.vm_id for i in plane.scaleset.instances().items if i.name == host)


def test_a_join_answers_a_node_credential_that_works_only_for_its_node(plane):
    a_cred = plane.secrets[plane.a]
    assert a_cred.startswith("npc1.") and plane.credentials.get(plane.a).vm_id == vm_id(plane, plane.a)
    nodes = NodeDirectory(plane.registry, plane.guard)
    assert nodes.own(plane.claim(plane.a), plane.a, NOW)["name"] == plane.a
    with pytest.raises(Forbidden) as err:
        nodes.own(plane.claim(plane.b, a_cred), plane.b, NOW)
    assert err.value.code == "node_credential_invalid"
    with pytest.raises(Unauthenticated):
        nodes.own(NodeClaim(AGENT, None), plane.a, NOW)


def test_a_document_of_vm_a_cannot_join_as_b_not_even_fresh_and_nothing_is_deleted(plane):
    for fields in ({}, {"fresh": True}):
        request = plane.attested(plane.b, vm=vm_id(plane, plane.a), **fields)
        with pytest.raises(AttestationRefused) as err:
            plane.joins.join(AGENT, request, NOW)
        assert err.value.code == att.VM_MISMATCH
    assert plane.kube.node(plane.b) is not None and plane.credentials.get(plane.b).vm_id == vm_id(plane, plane.b)


def test_a_join_without_a_document_or_with_a_forged_one_is_refused(plane):
    request = plane.attested(plane.b)
    with pytest.raises(AttestationRefused) as missing:
        plane.joins.join(AGENT, JoinRequest(plane.b), NOW)
    forged = JoinRequest(plane.b, attested={**request.attested, "forged": True})
    with pytest.raises(AttestationRefused) as bad:
        plane.joins.join(AGENT, forged, NOW)
    assert (missing.value.code, bad.value.code) == (att.MISSING, att.SIGNATURE)


def test_leave_and_events_for_b_with_a_credential_are_refused_and_write_nothing(plane):
    a_claim = plane.claim(plane.b, plane.secrets[plane.a])
    with pytest.raises(Forbidden):
        plane.events.leave(a_claim, plane.b, NOW)
    for status in ("Scheduled", "Started"):
        with pytest.raises(Forbidden):
            plane.events.record(preempt(plane.b, "agents_1", status=status), NOW, a_claim)
    assert not plane.kube.node(plane.b).unschedulable and plane.queue.messages == []
    assert plane.registry.node(plane.b).state is NodeState.JOINING


def test_a_re_join_rotates_the_credential_and_the_old_one_stops_working(plane):
    old = plane.secrets[plane.a]
    plane.join(plane.a, fresh=True)  # a reimaged disk re-attests
    assert plane.secrets[plane.a] != old
    with pytest.raises(Forbidden):
        plane.events.leave(plane.claim(plane.a, old), plane.a, NOW)
    assert plane.events.leave(plane.claim(plane.a), plane.a, NOW)["node"] == plane.a


def test_the_event_path_reads_the_credential_once_then_checks_it_in_process(plane):
    fresh_guard_reads = plane.guard.reads
    plane.guard.forget(plane.a)
    for i in range(5):
        plane.events.record(preempt(plane.a, "agents_0", f"E{i}"), NOW + timedelta(seconds=i), plane.claim(plane.a))
    assert plane.guard.reads == fresh_guard_reads + 1
    assert plane.instances.refreshes == 1  # the join's listing; no ARM call per event


def test_every_control_action_is_audited_with_who_and_why(plane):
    plane.events.record(preempt(plane.a, "agents_0"), NOW, plane.claim(plane.a))
    plane.events.leave(plane.claim(plane.b), plane.b, NOW)
    actions = plane.audit_log.actions()
    assert actions[:3] == [("join", plane.a), ("token_mint", plane.a), ("join", plane.b)]
    assert ("cordon", plane.a) in actions and ("leave", plane.b) in actions and ("cordon", plane.b) in actions
    cordon = next(e for e in plane.audit_log.entries if e.action == "cordon" and e.node == plane.a)
    assert (cordon.role, cordon.principal_id, cordon.reason) == ("agent", AGENT.principal_id, "Preempt E1")
    assert cordon.credential_id == plane.credentials.get(plane.a).credential_id
    assert not any(plane.secrets[plane.a] in str(e) for e in plane.audit_log.entries)


def test_an_audit_write_that_fails_never_undoes_the_cordon(plane):
    plane.audit_log.fail_with = Unavailable("table down")
    answer = plane.events.record(preempt(plane.a, "agents_0"), NOW, plane.claim(plane.a))
    assert answer["events"][0]["action"] == "drain" and plane.kube.node(plane.a).unschedulable
    assert len(plane.queue.messages) == 1


def test_the_master_registration_is_bound_to_the_master_vm():
    plane = Plane(policy=JoinPolicy(master_vm_id="master-vm-id"))
    master = Caller(Role.MASTER, "master-principal")
    pem = "-----BEGIN CERTIFICATE-----\nx\n"
    body = {"server": "https://10.0.0.4:6443", "ca_cert": pem, "ca_hash": hashlib.sha256(pem.encode()).hexdigest(),
            "k3s_version": "v1.31.4+k3s1", "credential": "sa-token"}

    def registration(vm: str | None) -> Registration:
        if vm is None:
            return Registration.from_json(body)
        nonce = plane.joins.master_nonce(master, NOW)["nonce"]
        return Registration.from_json({**body, "attested": FakeAttestationVerifier.document(vm, nonce, NOW)})

    for vm, code in ((None, att.MISSING), (vm_id(plane, plane.hostnames()[0]), att.NOT_MASTER)):
        with pytest.raises(AttestationRefused) as err:
            plane.joins.register(master, registration(vm), NOW)
        assert err.value.code == code
    assert plane.registry.cluster() is None
    assert plane.joins.register(master, registration("master-vm-id"), NOW)["server"] == body["server"]
    assert plane.audit_log.actions() == [("cluster_register", "")]
    host = plane.hostnames()[0]
    nonce = plane.joins.master_nonce(master, NOW)["nonce"]  # an agent cannot spend the master's nonce
    document = FakeAttestationVerifier.document(vm_id(plane, host), nonce, NOW)
    with pytest.raises(AttestationRefused) as err:
        plane.joins.join(AGENT, JoinRequest(host, attested=document), NOW)
    assert err.value.code == att.NONCE_OTHER_HOST and MASTER.startswith("_")


def test_the_token_timer_removes_expired_nonces(plane):
    plane.joins.nonce(AGENT, plane.a, NOW)
    cleaner = TokenCleaner(plane.registry, plane.cluster, plane.attest.nonces)
    assert cleaner.clean(NOW + timedelta(seconds=60))["nonces_removed"] == 0
    assert cleaner.clean(NOW + timedelta(seconds=121))["nonces_removed"] == 3  # the two joins' and this one
    assert plane.attest.nonces.rows == {}
