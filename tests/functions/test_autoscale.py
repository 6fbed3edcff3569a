"""Autoscale end to end with the real adapters: the simulator (ARM with a spot and a regular pool,
Kubernetes with its scheduler) and Azurite. See autoscale_stack.py.

Wait on conditions, never on times: the simulator boots a VM in 0.3 s, but a loaded machine
may take longer, and `eventually` waits for what must happen rather than for a duration.
"""
from datetime import timedelta

import pytest

from nodepool.core.k3s import node_password_secret
from nodepool.core.model import NodeState
from tests.fixtures.kube import eventually
from tests.functions.autoscale_stack import make_stack

LATER = timedelta(minutes=11)  # past the unneeded time (10 min)
BIG = {"cpu": "1", "memory": "1Gi"}


@pytest.fixture
def stack(make_sim, storage_env):
    return lambda **kw: make_stack(make_sim, storage_env, **kw)


def test_a_burst_of_40_pending_pods_brings_enough_nodes_in_one_decision(stack):
    s = stack(spot=1)
    s.kube.add_pods(None, 40, owner="ReplicaSet/burst", requests=BIG)
    eventually(lambda: len(s.pending("burst")) == 37 and s.unschedulable("burst"))  # 3 fit on the one node
    report = s.tick()
    assert report.planned == {"scale_up_nodes": 13} and report.applied == 1  # ceil(37 / 3): one write
    assert (s.capacity("agents"), s.capacity("regular")) == (14, 0)
    eventually(lambda: s.running("burst"), timeout=30)
    assert s.tick().planned == {}  # nothing more to ask for


def test_a_spot_pool_refusing_with_sku_not_available_is_backed_off_and_regular_scaled_in_the_same_tick(stack):
    s = stack(spot=1)
    s.sim.pool("agents").capacity_left.refuse("SkuNotAvailable")
    s.kube.add_pods(None, 9, owner="ReplicaSet/batch", requests=BIG)
    eventually(lambda: len(s.pending("batch")) == 6 and s.unschedulable("batch"))
    report = s.tick()
    assert report.backed_off == {"spot": "SkuNotAvailable"}
    assert (s.capacity("agents"), s.capacity("regular")) == (1, 2)
    assert s.sim.pool("agents").capacity_left.refused == 1
    eventually(lambda: s.running("batch"), timeout=30)
    s.sim.pool("agents").capacity_left.restore()
    assert "scale_up_nodes" not in s.tick().planned  # still backed off: no write to spot for its TTL
    assert s.sim.pool("agents").capacity_left.refused == 1


def _two_spot_nodes_one_nearly_idle(s):
    busy, idle = s.names("agents")
    s.kube.add_pods(busy, 1, owner="ReplicaSet/steady", requests={"cpu": "2500m", "memory": "1Gi"})
    s.kube.add_pods(idle, 1, owner="ReplicaSet/small", requests={"cpu": "200m", "memory": "256Mi"})
    eventually(lambda: s.running("small") and s.running("steady"))
    return busy, idle


def test_an_idle_node_is_drained_and_its_own_instance_deleted(stack):
    s = stack(spot=2)
    busy, idle = _two_spot_nodes_one_nearly_idle(s)
    idle_id = next(vm.instance_id for vm in s.sim.pool("agents").listing() if vm.computer_name == idle)
    assert s.tick().planned == {}  # unneeded from now on
    report = s.tick(after=LATER)
    assert report.planned == {"scale_down": 1} and report.applied == 0
    assert s.kube.node(idle)["spec"]["unschedulable"] is True  # cordoned first
    assert s.registry.node(idle).last_event_type == "ScaleDown"
    [drained] = s.drain_queued()
    assert drained["pods_left"] == 0
    eventually(lambda: s.running("small") and s.pods("small")[0]["spec"]["nodeName"] == busy)
    report = s.tick(after=LATER)
    assert report.planned == {"finish_scale_down": 1} and report.applied == 1
    deletes = [k for k in s.sim.arm.server.hits if k.startswith("POST") and k.endswith("/delete")]
    assert deletes == [f"POST /subscriptions/{s.sim.subscription_id}/resourceGroups/k3s-compute/providers/"
                       f"Microsoft.Compute/virtualMachineScaleSets/agents/delete"]
    eventually(lambda: s.names("agents") == [busy])
    assert idle_id not in {vm.instance_id for vm in s.sim.pool("agents").listing()}
    assert s.kube.node(idle) is None and s.kube.secret("kube-system", node_password_secret(idle)) is None
    assert s.registry.node(idle).state is NodeState.DELETED


def test_a_node_whose_pods_a_pdb_protects_is_kept(stack):
    s = stack(spot=2)
    _, idle = _two_spot_nodes_one_nearly_idle(s)
    s.kube.add_pdb("small", selector={"app": "small"}, min_available=1)
    eventually(lambda: s.kube.pdb("default", "small")["disruptionsAllowed"] == 0)
    s.tick()
    report = s.tick(after=LATER)
    assert report.planned == {} and s.queue.messages == []
    assert not s.kube.node(idle)["spec"].get("unschedulable")
    assert len(s.names("agents")) == 2


def test_a_preemption_brings_its_replacement_before_the_pods_go_pending(stack):
    s = stack(spot=2)
    for name in s.names("agents"):  # two nodes, each 63 % used: neither has room for the other's pod
        s.kube.add_pods(name, 1, owner="ReplicaSet/steady", requests={"cpu": "2500m", "memory": "1Gi"})
    eventually(lambda: s.running("steady"))
    busy = s.names("agents")[0]
    vm = next(vm for vm in s.sim.pool("agents").listing() if vm.computer_name == busy)
    s.sim.preempt(vm.instance_id, notice=30)
    s.report_events(vm)  # the agent forwards its Preempt: cordon, drain queued, event row
    report = s.tick()
    assert report.planned == {"scale_up_nodes": 1} and s.capacity("agents") == 3
    assert s.pending("steady") == [] and s.running("steady")  # the replacement is asked for before any pod waits
    assert busy in {p["spec"]["nodeName"] for p in s.pods("steady")}


def test_a_dry_run_plans_the_burst_and_writes_nothing(stack):
    s = stack(spot=1, NODEPOOL_DRY_RUN="true")
    s.kube.add_pods(None, 10, owner="ReplicaSet/burst", requests=BIG)
    eventually(lambda: len(s.pending("burst")) == 7 and s.unschedulable("burst"))
    writes = sum(n for k, n in s.sim.arm.server.hits.items() if not k.startswith("GET"))
    report = s.tick()
    assert report.dry_run and report.planned == {"scale_up_nodes": 3} and report.state == "dry run"
    assert sum(n for k, n in s.sim.arm.server.hits.items() if not k.startswith("GET")) == writes
    assert s.capacity("agents") == 1 and s.services.tables("autoscale").get("test", "state") is None


def test_with_the_default_headroom_a_preempted_nodes_pods_land_on_the_spare_node(stack):
    s = stack(spot=1, NODEPOOL_AUTOSCALE_HEADROOM_NODES="1")
    [first] = s.names("agents")
    s.kube.add_pods(first, 1, owner="ReplicaSet/steady", requests={"cpu": "2500m", "memory": "1Gi"})
    eventually(lambda: s.running("steady"))
    assert s.tick().planned == {"scale_up_nodes": 1}  # one node of free room
    eventually(lambda: len(s.names("agents")) == 2 and all(s.kube.node(n) for n in s.names("agents")), timeout=30)
    assert s.tick().planned == {}  # the spare node is the headroom: kept, nothing more asked


def test_an_allocation_failure_seen_on_the_operation_moves_the_demand_in_the_same_tick(stack):
    s = stack(spot=1)
    s.sim.pool("agents").capacity_left.refuse("AllocationFailed", accepted=True)
    s.kube.add_pods(None, 6, owner="ReplicaSet/batch", requests=BIG)
    eventually(lambda: len(s.pending("batch")) == 3 and s.unschedulable("batch"))
    report = s.tick()
    assert report.backed_off == {"spot": "AllocationFailed"} and s.capacity("regular") == 1
    eventually(lambda: s.running("batch"), timeout=30)
    report = s.tick()  # the failed spot instance holds capacity that never comes: deleted
    assert report.planned.get("delete_failed") == 1
