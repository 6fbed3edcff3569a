"""The drain worker over fakes, with a manual clock: evict before the deadline, idempotently."""
from dataclasses import replace
from datetime import timedelta

import pytest

from nodepool.core.errors import Unavailable
from nodepool.core.model import NodeState
from nodepool.drain.evict import Drainer, DrainPolicy
from nodepool.drain.state import DrainRequest
from nodepool.fakes.kube import FakeKube
from tests.unit.fakes_world import NOW, ManualClock, Plane

NODE = "agents000000"


@pytest.fixture
def plane():
    plane = Plane()
    plane.kube.add_node(NODE, unschedulable=True)
    plane.kube.add_secret("kube-system", f"{NODE}.node-password.k3s")
    return plane


def drain(plane: Plane, kind="Preempt", notice_s=30, event_id="E1", clock=None, **policy) -> dict:
    clock = clock or ManualClock()
    drainer = Drainer(plane.registry, plane.kube, DrainPolicy(**policy), clock)
    return drainer.drain(DrainRequest(NODE, event_id, kind, NOW + timedelta(seconds=notice_s)))


def test_preempt_evicts_pods_skips_daemonset_and_mirror_and_deletes_the_node(plane):
    plane.kube.add_pods(NODE, 20)
    plane.kube.add_pods(NODE, 1, owner="DaemonSet/svclb")
    plane.kube.add_mirror_pod(NODE)
    outcome = drain(plane)
    assert outcome["pods_left"] == 0 and not outcome["late"]
    assert plane.kube.node(NODE) is None
    assert plane.kube.secret("kube-system", f"{NODE}.node-password.k3s") is None
    row = plane.registry.node(NODE)
    assert (row.state, row.pods_left, row.last_event_id) == (NodeState.DELETED, 0, "E1")
    assert NOW <= row.drained_at < NOW + timedelta(seconds=25)


def test_pods_behind_an_exhausted_pdb_are_retried_until_the_margin_then_reported(plane):
    plane.kube.add_pods(NODE, 3, owner="StatefulSet/db")
    plane.kube.add_pdb("db", selector={"app": "db"}, min_available=2)
    clock = ManualClock()
    outcome = drain(plane, clock=clock, margin_s=5)
    assert outcome["pods_left"] == 2
    assert clock.current >= NOW + timedelta(seconds=25)  # kept trying until deadline - margin
    assert plane.registry.node(NODE).note == "2 pods not evicted before the deadline"


def test_force_delete_removes_what_eviction_could_not(plane):
    plane.kube.add_pods(NODE, 3, owner="StatefulSet/db")
    plane.kube.add_pdb("db", selector={"app": "db"}, min_available=3)
    assert drain(plane, force_delete=True)["pods_left"] == 0
    assert [p for p in plane.kube.pods_on(NODE) if not p.daemonset] == []


def test_reboot_keeps_the_node_cordoned(plane):
    plane.kube.add_pods(NODE, 2)
    drain(plane, kind="Reboot")
    assert plane.kube.node(NODE).unschedulable
    assert plane.registry.node(NODE).state is NodeState.CORDONED


def test_a_redelivered_message_after_the_drain_does_nothing(plane):
    plane.kube.add_pods(NODE, 2)
    drain(plane)
    writes = len(plane.kube.writes)
    assert drain(plane)["status"] == "already drained"
    assert len(plane.kube.writes) == writes


def test_kubernetes_api_down_for_a_while_is_retried_inside_the_drain(plane):
    plane.kube.add_pods(NODE, 5)
    plane.kube.fail_next(Unavailable("api down"), times=3)
    assert drain(plane)["pods_left"] == 0


def test_kubernetes_api_down_past_the_deadline_fails_the_message_for_redelivery(plane):
    plane.kube.add_pods(NODE, 5)
    plane.kube.fail_next(Unavailable("api down"), times=10_000)
    with pytest.raises(Unavailable):
        drain(plane, notice_s=10)
    assert plane.registry.node(NODE).state is NodeState.DRAINING
    plane.kube._failures.clear()
    assert drain(plane, notice_s=10)["pods_left"] == 0  # the redelivery finishes the job



@pytest.mark.parametrize("notice_s, grace", [(30, 27), (8, 7), (3, 2)])
def test_grace_periods_end_before_the_cutoff(plane, notice_s, grace):
    plane.kube.add_pods(NODE, 4)
    assert drain(plane, notice_s=notice_s)["pods_left"] == 0
    assert {w[3] for w in plane.kube.writes if w[0] == "evict"} == {grace}


def test_a_drain_past_its_deadline_evicts_nothing_and_leaves_the_node_to_its_vm(plane):
    """Pods still on it: the Node is not deleted under them (that orphans them) without word that the VM is gone."""
    plane.kube.add_pods(NODE, 5)
    outcome = drain(plane, notice_s=-1)
    assert outcome["pods_left"] == 5 and outcome["late"] and plane.kube.node(NODE) is not None
    assert not [w for w in plane.kube.writes if w[0] in ("evict", "delete_node")]
    row = plane.registry.node(NODE)
    assert (row.state, row.pods_left) == (NodeState.CORDONED, 5)


def test_the_drain_ends_when_the_evicted_pods_are_gone_and_only_then_deletes_the_node():
    clock = ManualClock()
    plane = Plane(kube=FakeKube(clock))  # evicted pods stay Terminating for their whole grace period
    plane.kube.add_node(NODE, unschedulable=True)
    plane.kube.add_pods(NODE, 3)
    deletes = []
    real_delete = plane.kube.delete_node
    plane.kube.delete_node = lambda name: deletes.append((clock.now(), [p.name for p in plane.kube.pods_on(name)])) \
        or real_delete(name)
    outcome = drain(plane, clock=clock)
    assert (outcome["pods_left"], outcome["pods_terminating"], outcome["node_deleted"]) == (0, 0, True)
    [(when, pods_then)] = deletes
    assert pods_then == [] and NOW + timedelta(seconds=27) <= when < NOW + timedelta(seconds=30)
    assert plane.registry.node(NODE).state is NodeState.DELETED


def test_pods_still_terminating_at_the_cutoff_are_reported_as_such_and_keep_the_node():
    clock = ManualClock()
    plane = Plane(kube=FakeKube(clock))
    plane.kube.add_node(NODE, unschedulable=True)
    (slow,) = plane.kube.add_pods(NODE, 1)
    pod = next(p for p in plane.kube.pods_on(NODE) if p.name == slow)  # evicted by someone else, 300 s grace
    plane.kube._pods[(pod.namespace, pod.name)] = replace(pod, terminating=True,
                                                           deleting_at=NOW + timedelta(seconds=300))
    outcome = drain(plane, clock=clock, notice_s=8)
    assert (outcome["pods_left"], outcome["pods_terminating"], outcome["node_deleted"]) == (0, 1, False)
    row = plane.registry.node(NODE)
    assert (row.state, row.pods_terminating) == (NodeState.CORDONED, 1)
    assert row.note == "1 evicted pods still terminating at the deadline"


def test_with_pods_left_the_node_goes_once_arm_says_the_vm_is_gone():
    clock = ManualClock()
    plane = Plane(kube=FakeKube(clock))
    plane.kube.add_node(NODE, unschedulable=True)
    plane.kube.add_pods(NODE, 3, owner="StatefulSet/db")
    plane.kube.add_pdb("db", selector={"app": "db"}, min_available=3)  # none may go
    asked = []

    def vm_gone(node: str) -> bool:
        asked.append(clock.now())
        return clock.now() >= NOW + timedelta(seconds=33)  # Azure deleted it 3 s after NotBefore
    drainer = Drainer(plane.registry, plane.kube, DrainPolicy(), clock, vm_gone=vm_gone)
    outcome = drainer.drain(DrainRequest(NODE, "E1", "Preempt", NOW + timedelta(seconds=30)))
    assert (outcome["pods_left"], outcome["node_deleted"]) == (3, True) and plane.kube.node(NODE) is None
    assert min(asked) >= NOW + timedelta(seconds=29) and clock.now() >= NOW + timedelta(seconds=33)
    assert plane.registry.node(NODE).state is NodeState.DELETED


def test_a_pods_own_shorter_grace_period_is_kept():
    from nodepool.adapters.kube_wire import pod_from
    pod = pod_from({"metadata": {"name": "p", "namespace": "d"}, "spec": {"terminationGracePeriodSeconds": 5}})
    assert pod.grace_s == 5 and pod_from({"metadata": {"name": "p"}, "spec": {}}).grace_s is None
