"""Reconcile end to end with the real adapters: simulator (ARM + Kubernetes) and Azurite.

Ticks run the production wiring in this process (see reconcile_stack.py): faithful (the same
adapters, wire formats and Table Storage as the timer) and fast, and a tick's `now` can be
moved forward to walk the repair ladder without waiting ten minutes. The timer itself is
exercised through the dev host in test_reconcile_timer.py.
"""
from dataclasses import replace
from datetime import timedelta

import pytest

from nodepool.core.k3s import node_password_secret
from nodepool.core.model import NodeState
from tests.fixtures.kube import eventually
from tests.functions.reconcile_stack import ReconcileStack, lists, utcnow, writes

GRACE = {"grace_s": 0.2, "tick_s": 0.02, "scrypt_log_n": 10}


@pytest.fixture
def make_pool(make_sim, storage_env):
    def make(agents: int = 4, boot_seconds: float = 0.3, **settings) -> ReconcileStack:
        sim = make_sim(agents=agents, boot_seconds=boot_seconds, page_size=2, kube_options=GRACE)
        built = ReconcileStack(sim, storage_env, **settings)
        built.join_all()
        return built
    return make


def test_a_converged_pool_makes_no_write_and_lists_each_page_once(make_pool):
    pool = make_pool()
    assert pool.tick().state == "saved"  # the first tick records the instance count
    before, versions = pool.requests(), pool.storage_versions()
    report = pool.tick()
    after = pool.requests()
    assert report.planned == {} and report.state == "unchanged"
    assert writes(before, after) == {} and pool.storage_versions() == versions
    assert sum(lists(before, after).values()) == 2 + 1  # 4 VMs in ARM pages of 2, 5 Nodes in one page


def test_the_ghost_of_a_vm_killed_without_notice_is_removed(make_pool):
    pool = make_pool()
    pool.tick()
    ghost = pool.sim.vms[1].computer_name
    pool.sim.terminate(ghost)
    eventually(lambda: pool.ready(ghost) == "Unknown", timeout=60)  # a real nodelifecycle takes seconds
    report = pool.tick()
    assert report.planned == {"delete_node": 1, "mark_stale": 1} and report.applied == 2
    assert pool.node(ghost) is None
    assert pool.kube.secret("kube-system", node_password_secret(ghost)) is None
    assert pool.registry.node(ghost).state is NodeState.DELETED
    assert pool.tick().planned == {}


def test_a_node_back_from_a_reboot_is_uncordoned(make_pool):
    pool = make_pool(boot_seconds=1.2)  # the Ready condition's time has whole seconds: reboot for longer than one
    vm = pool.sim.vms[0]
    name = vm.computer_name
    # what the events path leaves behind: the Node cordoned, its row cordoned for the Reboot and drained
    pool.kube.cluster.patch_node(name, {"spec": {"unschedulable": True}}, "application/merge-patch+json")
    pool.registry.save_node(replace(pool.registry.node(name), state=NodeState.CORDONED, last_event_id="E-1",
                                    last_event_type="Reboot", drained_at=utcnow()))
    assert pool.tick().planned == {}  # cordoned, not rebooted yet: leave it
    pool.sim.reboot(vm.instance_id, notice=0)
    eventually(lambda: pool.ready(name) == "Unknown")
    assert pool.tick().planned == {}  # rebooting
    eventually(lambda: pool.ready(name) == "True")
    report = pool.tick()
    assert report.planned == {"uncordon_node": 1} and report.applied == 1
    assert not pool.node(name)["spec"].get("unschedulable")
    assert pool.registry.node(name).state is NodeState.READY


def test_a_not_ready_node_is_repaired_step_by_step(make_pool):
    pool = make_pool(NODEPOOL_REPAIR_AFTER="60")
    vm = pool.sim.vms[2]
    name = vm.computer_name
    pool.tick()
    pool.sim.partition(vm.instance_id)  # the VM runs, its kubelet cannot reach the API server
    eventually(lambda: pool.ready(name) == "Unknown")
    assert pool.tick(timedelta(seconds=30)).planned == {}
    steps = [set(pool.tick(timedelta(minutes=m)).planned) for m in (1.5, 2.0, 2.8, 3.0, 4.1)]
    assert steps == [{"restart_instance"}, set(), {"reimage_instance"}, set(), {"delete_instance", "mark_stale"}]
    eventually(lambda: vm.instance_id not in {v.instance_id for v in pool.sim.vms})
    assert pool.node(name) is None
    arm_actions = [k for k in pool.requests() if k.startswith("arm POST")]
    assert {k.rsplit("/", 1)[1] for k in arm_actions} >= {"restart", "reimage", "delete"}


def test_an_outage_of_half_the_pool_deletes_nothing(make_pool):
    pool = make_pool(agents=8, NODEPOOL_REPAIR_AFTER="60")
    pool.tick()
    down = [vm.computer_name for vm in pool.sim.vms[:4]]
    for name in down:
        pool.sim.partition(name)
    eventually(lambda: all(pool.ready(n) == "Unknown" for n in down))
    before = pool.requests()
    for minutes in (2, 5, 10):
        report = pool.tick(timedelta(minutes=minutes))
        assert report.planned == {} and report.blocked.startswith("outage: 4 of 8 agents NotReady")
    assert writes(before, pool.requests()) == {}
    assert all(pool.node(n) is not None for n in down) and len(pool.sim.vms) == 8


@pytest.mark.parametrize("fault", ["arm lists 1 of 6 VMs", "kube node list fails"])
def test_a_partial_or_failed_listing_changes_nothing(make_pool, fault):
    """(An ARM page answering 500 is retried by the adapter; one that keeps failing makes the
    listing incomplete: tests/adapters/test_scaleset_faults.py.)"""
    pool = make_pool(agents=6)
    pool.tick()
    ghost = pool.sim.vms[5].computer_name
    pool.sim.terminate(ghost)
    eventually(lambda: pool.ready(ghost) == "Unknown")
    if fault.startswith("arm"):
        pool.sim.arm_fault("short_list", keep=1, count=1)  # silently short: no error, no nextLink
    else:
        pool.kube.faults.fail(503, times=1, path="/api/v1/nodes")
    before = pool.requests()
    report = pool.tick()
    assert report.planned == {} and report.blocked
    assert writes(before, pool.requests()) == {}
    assert pool.tick().planned == {"delete_node": 1, "mark_stale": 1}  # the next, complete listing acts
