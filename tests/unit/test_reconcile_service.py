"""The reconcile tick over the in-memory fakes: writes, dry run, isolation, state across ticks, guards."""
import json
from datetime import datetime, timedelta, timezone

import pytest

from nodepool.core.errors import Conflict, Unavailable
from nodepool.core.instruments import NULL
from nodepool.core.logs import logger
from nodepool.core.model import NodeState
from nodepool.reconcile.tick import Reconciler
from nodepool.settings import InvalidSettings, Settings
from nodepool.telemetry import install_json_logs
from tests.unit.reconcile_pool import POLICY, Pool

NO_WRITES = {"scaleset": 0, "kube": 0, "registry": 0, "state": 0}


def with_ghosts(pool: Pool, *ids: int) -> list[str]:
    """VMs deleted without notice: their Nodes stay behind, NotReady."""
    names = [pool.name(i) for i in ids]
    for i, name in zip(ids, names):
        del pool.scaleset.vms[str(i)]
        pool.kube.set_ready(name, None)
    return names


def test_a_converged_pool_makes_zero_writes_tick_after_tick():
    pool = Pool(5)
    first = pool.tick()
    assert first.planned == {} and first.state == "saved"  # the first tick records the instance count
    pool.forget_writes()
    for minutes in (1, 2, 30):
        report = pool.tick(timedelta(minutes=minutes))
        assert report.planned == {} and report.state == "unchanged"
    assert pool.writes() == NO_WRITES


def test_dry_run_plans_and_logs_but_writes_nothing_not_even_the_state(caplog):
    pool = Pool(5)
    ghosts = with_ghosts(pool, 1)
    pool.kube.patch_node(pool.name(2), labels={"node-role.kubernetes.io/worker": None})
    pool.forget_writes()
    with caplog.at_level("INFO", logger="test.reconcile"):
        report = pool.tick(dry_run=True)
    assert report.planned == {"delete_node": 1, "label_node": 1, "mark_stale": 1}
    assert report.state == "dry run" and report.applied == 0
    assert pool.writes() == NO_WRITES
    assert pool.kube.node(ghosts[0]) is not None
    assert sum("would delete_node" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize("error", [Unavailable("kube down"), Conflict("changed meanwhile"), RuntimeError("bug")])
def test_one_failing_action_does_not_stop_the_others(error):
    pool = Pool(5)
    ghosts = with_ghosts(pool, 1, 3)
    pool.kube.failing[("delete_node", ghosts[0])] = error
    report = pool.tick()
    assert report.planned["delete_node"] == 2
    assert pool.kube.node(ghosts[0]) is not None and pool.kube.node(ghosts[1]) is None
    # the row of the Node that is still there is not marked deleted: it waits, as a retry, for its delete
    assert (report.retry, report.failed) == ((2, 0) if isinstance(error, Unavailable) else (1, 1))
    assert pool.registry.node(ghosts[0]).state is NodeState.READY
    assert pool.registry.node(ghosts[1]).state is NodeState.DELETED
    again = pool.tick()
    assert again.planned.get("delete_node") == 1 and pool.kube.node(ghosts[0]) is None


def test_one_json_line_per_tick_carries_the_counts_and_each_action_its_fields(caplog):
    """What reaches Application Insights: the JSON line, with every field the tick and its actions gave."""
    install_json_logs([caplog.handler])
    pool = Pool(3)
    ghost = with_ghosts(pool, 0)[0]
    with caplog.at_level("INFO", logger="nodepool.reconcile"):
        pool.tick(logger=logger("nodepool.reconcile.tick"))
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name.startswith("nodepool.reconcile")]
    [tick] = [line for line in lines if line["msg"].startswith("reconcile tick")]
    assert tick["reconcile_planned"] == {"delete_node": 1, "mark_stale": 1}
    assert (tick["reconcile_applied"], tick["reconcile_failed"], tick["reconcile_state"]) == (2, 0, "saved")
    [delete] = [line for line in lines if line.get("action") == "delete_node"]
    assert (delete["node"], delete["destructive"], delete["target"]) == (ghost, True, ghost)


def test_repair_state_survives_from_one_instance_to_the_next():
    pool = Pool(5)
    sick = pool.name(2)
    pool.tick()
    pool.kube.set_ready(sick, False)
    assert pool.tick(timedelta(minutes=1)).planned == {}  # first seen NotReady: its clock starts
    assert pool.tick(timedelta(minutes=11)).planned == {"restart_instance": 1}
    assert pool.store.load()[0].pool("agents").repairs[sick].step == 1
    assert pool.tick(timedelta(minutes=12)).planned == {}  # a fresh Reconciler: the step is remembered
    assert pool.tick(timedelta(minutes=22)).planned == {"reimage_instance": 1}
    assert pool.tick(timedelta(minutes=33)).planned == {"delete_instance": 1, "mark_stale": 1}
    assert "2" not in pool.scaleset.vms and pool.kube.node(sick) is None
    assert [w[0] for w in pool.scaleset.writes] == ["restart instances", "reimage instances", "delete instances"]


@pytest.mark.parametrize("breakage", ["arm page failed", "kube list failed", "queue peek failed", "master unknown"])
def test_an_incomplete_observation_changes_nothing(breakage):
    pool = Pool(5)
    with_ghosts(pool, 1)
    pool.kube.set_ready(pool.name(2), False)
    if breakage == "arm page failed":
        pool.scaleset.fail_listing_after = 2
    elif breakage == "kube list failed":
        pool.kube.fail_next(Unavailable("list nodes: 503"))
    elif breakage == "queue peek failed":
        pool.queues.fail_next(Unavailable("queue service down"))
    else:
        pool.kube_registered = False
    report = pool.tick(timedelta(minutes=30))
    assert report.planned == {} and report.blocked.startswith("incomplete observation")
    assert {**pool.writes(), "state": 0} == NO_WRITES
    assert pool.store.load()[0].pools == {}  # at most the Node list's marks were kept, when it was complete


def test_a_short_arm_list_after_a_trusted_one_is_not_believed():
    pool = Pool(20)
    pool.tick()
    pool.forget_writes()
    pool.scaleset.short_list = 3  # 3 of 20, no error: the throttled-list incident
    for node in list(pool.kube.nodes().items)[4:]:
        pool.kube.set_ready(node.name, None)
    pool.kube.writes.clear()
    report = pool.tick(timedelta(minutes=1))
    assert report.planned == {} and "3 listed, expected 20 (the scale set's capacity)" in report.blocked
    assert {k: v for k, v in pool.writes().items() if k != "state"} == {"scaleset": 0, "kube": 0, "registry": 0}


def test_a_lost_state_race_acts_on_nothing():
    pool = Pool(5)
    ghost, = with_ghosts(pool, 1)
    pool.store.race_next()
    report = pool.tick()
    assert report.state == "lost race" and report.applied == 0
    assert pool.kube.node(ghost) is not None


def test_a_state_that_cannot_be_loaded_skips_the_tick():
    pool = Pool(5)
    with_ghosts(pool, 1)
    pool.store.fail_next(Unavailable("table service down"))
    report = pool.tick()
    assert report.state == "not loaded" and report.planned == {} and pool.writes() == NO_WRITES


def test_an_unreadable_state_row_starts_over_and_is_replaced():
    pool = Pool(5)
    pool.tick()
    pool.store.corrupt()
    report = pool.tick()
    assert report.state == "saved" and pool.store.load()[0].pool("agents").instance_count == 5


def test_a_node_with_a_drain_waiting_in_the_queue_is_left_to_the_drain():
    pool = Pool(5)
    ghost, = with_ghosts(pool, 1)
    pool.queues.put("node-events", {"node": ghost, "event_id": "E1", "type": "Preempt"})
    assert pool.tick().planned == {}


def test_poison_messages_are_reported_once_as_a_warning(caplog):
    pool = Pool(3)
    pool.queues.put("node-events-poison", {"node": pool.name(0), "event_id": "E1"})
    with caplog.at_level("INFO", logger="test.reconcile"):
        first = pool.tick(dry_run=True)
        pool.tick()
        second = pool.tick()
    assert first.planned == {"report_poison": 1} and second.planned == {}
    warnings = [r for r in caplog.records if "node-events-poison" in r.getMessage() and r.levelname == "WARNING"]
    assert len(warnings) == 2  # the dry run reports too: a log line is not a write
    assert pool.registry.node(pool.name(0)).state is NodeState.READY


def test_the_timer_schedule_setting_has_a_default_and_needs_no_other_setting():
    assert Settings.one("reconcile_schedule", {}) == "0 * * * * *"
    assert Settings.one("reconcile_schedule", {"NODEPOOL_RECONCILE_SCHEDULE": "*/30 * * * * *"}) == "*/30 * * * * *"
    bad = {"NODEPOOL_MAX_DESTRUCTIVE_PER_TICK": "0"}
    assert Settings.one("max_destructive_per_tick", bad) == 3  # binding at indexing never fails the app...
    with pytest.raises(InvalidSettings):  # ...the app refuses the value when it serves (and healthz names it)
        Settings.from_env(bad)


class Counting:
    """Instruments that remember what was counted."""

    def __init__(self):
        self.added: list[tuple[str, dict]] = []

    def span(self, name, **attributes):
        return NULL.span(name)

    def add(self, metric, value=1, **attributes):
        self.added.append((metric, attributes))

    def record(self, metric, value, **attributes):
        pass


def test_a_bug_in_an_observation_raises_with_its_stack_and_is_counted_not_taken_for_an_outage():
    """A TypeError while listing used to read as 'incomplete observation': reconcile then did nothing,
    every tick, with nothing but a reason string to show for it."""
    pool, counted = Pool(3), Counting()

    def broken(label_selector=None):
        raise TypeError("unsupported operand")

    pool.kube.nodes = broken
    with pytest.raises(TypeError, match="unsupported operand"):
        Reconciler(pool.ports(), POLICY, telemetry=counted).tick(datetime.now(timezone.utc))
    assert counted.added == [("nodepool.errors", {"where": "reconcile.tick"})]


def test_a_port_that_cannot_answer_is_still_an_incomplete_picture_that_changes_nothing():
    pool = Pool(3)
    pool.kube.fail_next(Unavailable("API server down"))
    report = pool.tick()
    assert report.blocked and "API server down" in report.blocked and report.applied == 0
