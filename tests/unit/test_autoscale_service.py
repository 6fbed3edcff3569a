"""The autoscale tick over fakes: same-tick fallback, named deletes after drain, guards, dry run."""
from datetime import timedelta

from nodepool.autoscale.model import Budget
from nodepool.core.errors import Throttled, Unavailable
from tests.unit.autoscale_service_world import ServiceWorld
from tests.unit.autoscale_world import pending


def test_a_burst_of_40_pending_pods_brings_enough_nodes_in_one_decision():
    w = ServiceWorld()
    w.add_pods(*(pending(f"p{i}") for i in range(40)))
    report = w.tick()
    assert w.writes("spot") == [("set_capacity", (10,))] and report.planned == {"scale_up_nodes": 10}
    assert w.tick().planned == {}  # booting nodes hold the demand: nothing asked twice
    w.boot()
    assert all(p.node for p in w.cluster.pod_map.values())


def test_a_spot_pool_refusing_with_sku_not_available_is_backed_off_and_regular_scaled_same_tick():
    w = ServiceWorld()
    w.sets["spot"].refuse("SkuNotAvailable")
    w.add_pods(*(pending(f"p{i}") for i in range(6)))
    report = w.tick()
    assert report.backed_off == {"spot": "SkuNotAvailable"} and w.capacity("spot") == 0 and w.capacity("regular") == 2
    state, _ = w.store.load()
    backoff = state.backoffs["spot"]
    assert backoff.kind == "SkuNotAvailable" and backoff.until == w.now + timedelta(hours=1)


def test_allocation_failures_after_an_accepted_write_move_the_demand_next_tick():
    w = ServiceWorld()
    w.sets["spot"].fail_allocations = "AllocationFailed"
    w.add_pods(*(pending(f"p{i}") for i in range(4)))
    w.tick()  # accepted: one instance, which then fails
    assert [vm.provisioning_state for vm in w.sets["spot"].vms.values()] == ["Failed"]
    w.tick()
    assert w.capacity("spot") == 0 and w.capacity("regular") == 1  # failed instance deleted, demand moved


def test_an_idle_node_is_drained_and_its_own_instance_deleted():
    w = ServiceWorld()
    w.add_pods(*(pending(f"p{i}", cpu=1) for i in range(6)))
    w.tick()
    w.boot()  # p0..p3 on one node, p4 and p5 on the other
    quiet = w.cluster.pod_map["default/p4"].node
    w.cluster.delete_pod("default/p0")
    w.cluster.delete_pod("default/p4")  # the quiet node runs p5 at 25 %; the other 3 pods, room for one more
    w.tick(timedelta(minutes=11))  # unneeded from now (and past the delay after scale-up)
    report = w.tick(timedelta(minutes=10))
    assert report.planned.get("scale_down") == 1 and w.drains.started == [quiet]
    w.cluster.bind_pending()  # the evicted pod lands on the other node
    ids = {vm.name: vm.instance_id for vm in w.sets["spot"].vms.values()}
    w.tick()
    assert ("delete instances", (ids[quiet],)) in w.writes("spot")
    deletes = [args for what, args in w.writes("spot") if what == "delete instances"]
    assert len(deletes) == 1 and quiet not in {vm.name for vm in w.sets["spot"].vms.values()}
    assert w.capacity("spot") == 1 and w.cluster.pod_map["default/p5"].node != quiet
    assert w.drains.removed_nodes == [quiet]  # its Node goes once its instance is deleted


def test_a_pdb_blocked_node_is_kept():
    w = ServiceWorld()
    w.add_pods(pending("guarded", labels=(("app", "db"),)))
    w.tick()
    w.boot()
    w.cluster.budget_list.append(Budget("default", (("app", "db"),), 0))
    for _ in range(3):
        report = w.tick(timedelta(minutes=11))
    assert w.drains.started == [] and w.capacity("spot") == 1 and report.planned == {}


def test_a_preemption_brings_its_replacement_before_the_pods_go_pending():
    w = ServiceWorld()
    w.add_pods(*(pending(f"p{i}") for i in range(4)))
    w.tick()
    w.boot()
    w.notices.nodes.add("spot000000")
    w.tick()
    assert w.capacity("spot") == 2 and all(p.node == "spot000000" for p in w.cluster.pod_map.values())


def test_a_partial_or_throttled_listing_writes_nothing():
    w = ServiceWorld()
    w.add_pods(*(pending(f"p{i}") for i in range(4)))
    w.cluster.fail_next(Unavailable("pods page 2"), times=2)
    assert w.tick().blocked and w.writes("spot") == []
    w.sets["spot"].throttle()
    assert "pool spot" in w.tick().blocked and w.writes("spot") == [] and w.store.writes == 0


def test_capacity_is_written_from_a_fresh_read_with_if_match():
    w = ServiceWorld()
    w.add_pods(*(pending(f"p{i}") for i in range(4)))
    w.sets["spot"].race()  # someone wrote between our read and our write: 412, read again, write again
    w.tick()
    assert w.writes("spot") == [("set_capacity", (1,))]


def test_dry_run_writes_nothing_not_even_the_state():
    w = ServiceWorld(dry_run=True)
    w.add_pods(*(pending(f"p{i}") for i in range(4)))
    report = w.tick()
    assert report.planned == {"scale_up_nodes": 1} and w.writes("spot") == [] and w.store.writes == 0
    assert report.state == "dry run"


def test_a_protected_instance_is_not_deleted():
    w = ServiceWorld()
    w.add_pods(pending("p"))
    w.tick()
    w.boot()
    w.cluster.delete_pod("default/p")
    w.sets["spot"].set_protection("0", True)
    for _ in range(3):
        w.tick(timedelta(minutes=11))
    assert w.capacity("spot") == 1 and w.drains.started == []


def test_a_lost_race_on_the_state_acts_on_nothing():
    w = ServiceWorld()
    w.add_pods(pending("p"))
    w.store.race_next()
    report = w.tick()
    assert report.state == "lost race" and w.writes("spot") == []


def test_state_storage_down_skips_the_tick():
    w = ServiceWorld()
    w.add_pods(pending("p"))
    w.store.fail_next(Throttled("table throttled"))
    assert w.tick().state == "not loaded" and w.writes("spot") == []


def test_a_pool_failing_again_after_its_backoff_ended_is_backed_off_again():
    w = ServiceWorld()
    w.sets["spot"].refuse("SkuNotAvailable", times=2)
    w.add_pods(pending("p0"))
    w.tick()
    w.boot()  # p0 runs on the regular node
    w.add_pods(pending("p1", cpu=4))  # a pod only a new node can take
    report = w.tick(timedelta(hours=1, seconds=1))  # the first backoff has ended; spot refuses again
    assert report.backed_off == {"spot": "SkuNotAvailable"} and w.capacity("regular") == 2
    assert w.store.load()[0].backoffs["spot"].until == w.now + timedelta(hours=1)


def test_dry_run_drains_and_deletes_nothing():
    w = ServiceWorld(dry_run=True)
    w.sets["spot"].set_capacity(1, w.sets["spot"].info().etag)
    w.boot()  # one empty node, unneeded long enough by the second tick
    w.tick(timedelta(minutes=11))
    report = w.tick(timedelta(minutes=11))
    assert report.planned == {"scale_down": 1} and w.drains.started == [] and w.capacity("spot") == 1


def test_capacity_writes_and_instance_deletes_are_audited_and_dry_runs_are_not():
    w = ServiceWorld()
    w.add_pods(*(pending(f"p{i}", cpu=1) for i in range(6)))
    w.tick()
    w.boot()
    quiet = w.cluster.pod_map["default/p4"].node
    for pod in ("default/p0", "default/p4", "default/p5"):
        w.cluster.delete_pod(pod)
    w.tick(timedelta(minutes=11))
    w.tick(timedelta(minutes=10))  # the quiet node is empty now: drained and its instance deleted at once
    rows = [(e.action, e.node, e.role, e.detail) for e in sorted(w.audit.rows.values(), key=lambda e: e.at)]
    assert rows[0] == ("capacity_write", "", "system", "spot 0 -> 2")
    deletes = [r for r in rows if r[0] == "instance_delete"]
    assert [(node, role) for _, node, role, _ in deletes] == [(quiet, "system")]
    dry = ServiceWorld(dry_run=True)
    dry.add_pods(*(pending(f"p{i}") for i in range(6)))
    dry.tick()
    assert dry.audit.rows == {}
