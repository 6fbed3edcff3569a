
"""GET /api/status's service over fakes: each part read on its own, a missing part said, decisions recorded."""
from __future__ import annotations

import logging

from nodepool import wiring
from nodepool.core.errors import Unavailable
from nodepool.core.instruments import NULL
from nodepool.fakes.audit import FakeAuditLog
from nodepool.fakes.decisions import FakeDecisionLog
from nodepool.fakes.event_queue import FakeEventQueue
from nodepool.fakes.kube import FakeKube
from nodepool.fakes.queues import FakeQueues
from nodepool.fakes.registry import FakeRegistry
from nodepool.fakes.scaleset import FakeScaleSet
from nodepool.fakes.tickstate import FakeTickStore
from nodepool.reconcile.tick import TickReport
from nodepool.settings import Settings
from nodepool.status.decisions import ticked
from nodepool.status.service import StatusService
from tests.unit.fakes_world import NOW, ManualClock, Plane
from tests.unit.test_wiring import APP


def joined_plane() -> tuple[Plane, list[str]]:
    plane = Plane(scaleset=FakeScaleSet(capacity=3))
    plane.register_master()
    names = plane.hostnames()
    for name in names:
        plane.join(name)
    return plane, names


def test_nodes_carry_pool_ready_and_pods_and_pending_pods_are_counted():
    plane, names = joined_plane()
    for name in names[:2]:
        plane.kube.add_node(name)
    plane.kube.add_pods(names[0], 3)
    plane.kube.add_pods(None, 2)  # pending: no node
    log = FakeDecisionLog()
    log.record("reconcile", NOW, {"line": "reconcile tick: planned nothing", "reasons": []})
    view = StatusService(plane.registry, lambda now: plane.kube, [("spot", plane.scaleset)], log).view(NOW)
    by_name = {n["name"]: n for n in view["nodes"]}
    assert sorted(by_name) == sorted(names)
    assert by_name[names[0]]["pool"] == "spot" and by_name[names[0]]["ready"] == "True"
    assert by_name[names[0]]["pods"] == 3 and by_name[names[1]]["pods"] == 0
    assert by_name[names[2]]["ready"] == "absent"  # joined, no Node (yet)
    assert view["pools"] == {"spot": 3}
    assert view["kubernetes"]["pending_pods"]["count"] == 2
    assert view["decisions"]["reconcile"][0]["line"] == "reconcile tick: planned nothing"
    assert view["decisions"]["autoscale"] == []


def test_a_part_that_cannot_be_read_is_named_and_the_rest_still_served():
    plane, names = joined_plane()

    plane.scaleset.fail_listing_after = 1  # ARM's second page fails: no node can be placed in a pool

    view = StatusService(plane.registry, lambda now: None, [("spot", plane.scaleset)], FakeDecisionLog()).view(NOW)
    assert len(view["nodes"]) == 3 and view["pools"] == {"unknown": 3}
    assert "pool_listing_failed" in view["pools_unavailable"]
    assert "master has not registered" in view["kubernetes"]["unavailable"]


def test_every_reconcile_tick_through_the_wiring_is_recorded_with_its_plan():
    registry, log = FakeRegistry(), FakeDecisionLog()
    services = wiring.Services(Settings.from_env(APP), clock=ManualClock(NOW),
                               registry=registry, scaleset=FakeScaleSet(capacity=2),
                               queue=FakeEventQueue(), peek=FakeQueues(), tick_store=FakeTickStore(),
                               kube_for=lambda cluster: FakeKube(), decisions=log, audit=FakeAuditLog())
    report = services.reconciler(NOW).tick(NOW)
    [row] = log.recent("reconcile")
    assert row["line"] == report.line() and row["at"] == NOW.isoformat()
    assert row["blocked"] == report.blocked  # no cluster registered: the tick says why it did nothing


def test_a_decision_log_that_fails_costs_the_record_not_the_tick(caplog):
    class Broken:
        def record(self, *a):
            raise Unavailable("table down")

    with caplog.at_level(logging.WARNING, logger="nodepool.status"):
        ticked("reconcile", NOW, TickReport(planned={"delete_node": 1}, applied=1), Broken(), NULL)
    said = [r for r in caplog.records if "reconcile decision not recorded: unavailable" in r.getMessage()]
    assert len(said) == 1 and said[0].levelname == "WARNING"


def test_the_status_says_what_the_attestation_verifier_trusts_or_why_it_cannot():
    plane, _ = joined_plane()
    trust = {"roots": {"source": "platform (certifi)", "count": 140}, "intermediates": [], "bundle": {"missing": "x"}}
    view = StatusService(plane.registry, lambda now: None, [], FakeDecisionLog(), lambda now: trust).view(NOW)
    assert view["attestation"] == trust

    def broken(now):
        raise Unavailable("roots file unreadable")
    assert "roots file unreadable" in StatusService(plane.registry, lambda now: None, [], FakeDecisionLog(),
                                                    broken).view(NOW)["attestation"]["unavailable"]


def test_the_wired_status_reports_the_production_verifier_and_the_console_shows_it(tmp_path):
    from rich.console import Console

    from console.render import attestation_line
    from nodepool.adapters.pem import write_bundle
    from tests.unit.attest_docs import chain
    path = tmp_path / "bundle.pem"
    write_bundle(path, [(chain().intermediate, "http://www.microsoft.com/pkiops/certs/x.crt")], NOW, "test")
    services = wiring.Services(Settings.from_env({**APP, "NODEPOOL_ATTESTATION_INTERMEDIATES": str(path)}),
                               clock=ManualClock(NOW), registry=FakeRegistry(), scaleset=FakeScaleSet(capacity=1),
                               decisions=FakeDecisionLog(), kube_for=lambda cluster: FakeKube())
    trust = services.status.view(NOW)["attestation"]
    assert trust["roots"]["source"] == "platform (certifi)" and trust["roots"]["count"] > 100
    assert [(i["subject"], i["source"]) for i in trust["intermediates"] if i["source"] == "setting"] == [
        ("Simulated TLS G2 RSA CA OCSP 02", "setting")]
    assert trust["aia_hosts"] == ["www.microsoft.com", "caissuers.microsoft.com", "cacerts.digicert.com"]
    console = Console(record=True, width=300)
    console.print(attestation_line({"attestation": trust}))
    assert "attestation: roots platform (certifi)" in console.export_text()
