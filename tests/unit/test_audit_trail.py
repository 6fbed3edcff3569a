"""The audit trail of the drain worker and the reconcile timer, and GET /api/audit's paging."""
import logging
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from nodepool.core.audit import Actor, AuditEntry
from nodepool.core.errors import Unavailable
from nodepool.core.trail import AuditTrail
from nodepool.drain.evict import DrainPolicy
from nodepool.drain.service import DrainService
from nodepool.drain.state import DrainRequest
from nodepool.fakes.audit import FakeAuditLog
from nodepool.reconcile.actions import DeleteNode, LabelNode
from nodepool.reconcile.apply import apply
from tests.unit.fakes_world import NOW, ManualClock, Plane
from tests.unit.reconcile_pool import Pool


def test_a_drain_is_audited_once_with_the_node_delete_it_made():
    plane, clock = Plane(), ManualClock()
    plane.register_master()
    host = plane.hostnames()[0]
    plane.kube.add_node(host)
    drains = DrainService(plane.registry, plane.cluster, DrainPolicy(), clock,
                          trail=plane.trail)
    request = DrainRequest(host, "E1", "Preempt", NOW + timedelta(seconds=30))
    drains.drain(request)
    drains.drain(request)  # redelivered after the drain: nothing done, nothing audited
    assert plane.audit_log.actions() == [("drain", host), ("node_delete", host)]
    entry = plane.audit_log.entries[0]
    assert (entry.role, entry.principal_id, entry.reason, entry.detail) == ("system", "drain", "Preempt E1",
                                                                            "pods_left=0 pods_terminating=0")


def test_a_drain_of_a_node_already_gone_audits_no_node_delete():
    plane, clock = Plane(), ManualClock()
    plane.register_master()
    host = plane.hostnames()[0]  # no Node in Kubernetes: it left already (or never registered)
    drains = DrainService(plane.registry, plane.cluster, DrainPolicy(), clock,
                          trail=plane.trail)
    drains.drain(DrainRequest(host, "E1", "Preempt", NOW + timedelta(seconds=30)))
    assert plane.audit_log.actions() == [("drain", host)]


def test_reconcile_audits_its_destructive_actions_only_when_applied():
    pool, log = Pool(), FakeAuditLog()
    ports = replace(pool.ports(), trail=AuditTrail(log))
    now = datetime.now(timezone.utc)
    name = pool.name(0)
    delete = DeleteNode(reason="ghost: no VM for 10 min", since=now, node=name, secret_name=f"{name}.node-password.k3s")
    label = LabelNode(reason="labels", node=pool.name(1), labels=(("a", "b"),))
    apply((delete, label), ports, now, dry_run=True, log=logging.getLogger("test"))
    assert log.entries == []
    apply((delete, label), ports, now, dry_run=False, log=logging.getLogger("test"))
    assert log.actions() == [("node_delete", name)]
    assert (log.entries[0].role, log.entries[0].reason) == ("system", "ghost: no VM for 10 min")


def test_the_audit_is_paged_newest_first():
    log = FakeAuditLog()
    trail = AuditTrail(log)
    for i in range(5):
        trail.record(Actor.system("reconcile"), "node_delete", f"n{i}", "test", NOW + timedelta(seconds=i))
    first = trail.page(2, None)
    assert [e["node"] for e in first["entries"]] == ["n4", "n3"] and first["next"]
    rest = trail.page(10, first["next"])
    assert [e["node"] for e in rest["entries"]] == ["n2", "n1", "n0"] and rest["next"] is None
    assert set(first["entries"][0]) == {"id", "at", "action", "node", "reason", "who", "detail"}


@pytest.mark.parametrize("writers", [0, 4])
def test_rows_of_one_action_are_all_written_before_it_returns_and_faults_only_logged(caplog, writers):
    log, who = FakeAuditLog(), Actor.system("test")
    trail = AuditTrail(log, writers=writers)
    trail.record_all([AuditEntry.of(who, a, "n1", "join", NOW) for a in ("node_delete", "join", "token_mint")])
    assert sorted(log.actions()) == [("join", "n1"), ("node_delete", "n1"), ("token_mint", "n1")]
    log.fail_with = Unavailable("audit: storage answered 503")
    with caplog.at_level(logging.WARNING, logger="nodepool.audit"):
        trail.record_all([AuditEntry.of(who, a, "n2", "join", NOW) for a in ("join", "token_mint")])
    assert len(log.entries) == 4  # one of the two failed, logged; the join is not failed for it
    assert len([r for r in caplog.records if "not written" in r.getMessage()]) == 1
