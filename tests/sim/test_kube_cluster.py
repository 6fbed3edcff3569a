"""The simulated cluster behaves like one: scheduler, controllers, kubelet heartbeats, GC."""
from __future__ import annotations

import time

from sim.kube import KubeSim
from sim.kube.disruption import evict
from tests.fixtures.kube import eventually

SMALL = {"cpu": "1", "memory": "1Gi"}


def ready(node: dict) -> str:
    return next(c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready")


def workload(pods: list[dict]) -> list[dict]:
    return [p for p in pods if p["metadata"]["ownerReferences"][0]["kind"] not in ("DaemonSet", "Node")]


def test_scheduler_places_pending_pods_by_requests(kube_sim):
    kube_sim.add_node("small", cpu="2", memory="4Gi")
    kube_sim.add_node("big", cpu="4", memory="8Gi")
    kube_sim.add_node("off", cpu="64", memory="256Gi", unschedulable=True)
    kube_sim.add_node("dead", cpu="64", memory="256Gi", ready=False)
    kube_sim.add_pods(None, 6, owner="ReplicaSet/web", requests=SMALL)
    eventually(lambda: len(workload(kube_sim.pods("big"))) == 3 and len(workload(kube_sim.pods("small"))) == 1)
    # 4 and 2 cpus minus the DaemonSet pod's 10m: room for 3 and 1; the rest waits, saying why
    assert all(p["status"]["phase"] == "Running" for p in kube_sim.pods("big"))
    assert not workload(kube_sim.pods("off")) and not workload(kube_sim.pods("dead"))
    waiting = eventually(lambda: [p for p in kube_sim.pods("") if p["status"].get("conditions")])
    assert len(kube_sim.pods("")) == 2 and waiting[0]["status"]["conditions"][0]["message"] == (
        "0/4 nodes are available: 2 Insufficient cpu, 1 node(s) were not ready, 1 node(s) were unschedulable.")


def test_pods_that_fit_nowhere_are_marked_unschedulable(kube_sim):
    kube_sim.add_node("n0", cpu="1", memory="2Gi")
    (name,) = kube_sim.add_pods(None, 1, requests={"cpu": "2"})
    cond = eventually(lambda: kube_sim.pod("default", name)["status"].get("conditions"))[0]
    assert cond["reason"] == "Unschedulable" and "Insufficient cpu" in cond["message"]
    kube_sim.add_node("n1", cpu="4")
    eventually(lambda: kube_sim.pod("default", name)["spec"].get("nodeName") == "n1")


def test_taints_keep_pods_away_unless_tolerated(kube_sim):
    kube_sim.add_node("gpu", taints=["sku=gpu:NoSchedule"])
    plain = kube_sim.add_pods(None, 1, owner="ReplicaSet/plain")
    tolerant = kube_sim.add_pods(None, 1, owner="ReplicaSet/tolerant",
                                 tolerations=[{"key": "sku", "operator": "Equal", "value": "gpu"}])
    eventually(lambda: kube_sim.pod("default", tolerant[0])["spec"].get("nodeName") == "gpu")
    assert "untolerated taint" in kube_sim.pod("default", plain[0])["status"]["conditions"][0]["message"]
    assert len(kube_sim.pods("gpu")) == 2  # the DaemonSet pod tolerates everything


def test_controllers_recreate_evicted_and_deleted_pods(kube_sim, kube):
    kube_sim.add_node("n0")
    kube_sim.add_node("n1")
    web = kube_sim.add_pods("n0", 2, owner="ReplicaSet/web")
    db = kube_sim.add_pods("n0", 1, owner="StatefulSet/db")
    bare = kube_sim.add_pods("n0", 1, owner=None)
    kube.patch_node("n0", unschedulable=True)
    for pod in kube.pods_on("n0"):
        if pod.owner_kind != "DaemonSet":
            assert kube.evict(pod)
    moved = eventually(lambda: [p for p in kube.pods_on("n1") if p.owner_kind in ("ReplicaSet", "StatefulSet")]
                       if len(kube.pods_on("n1")) == 4 else None)
    assert {p.name for p in moved} & set(web) == set() and len([p for p in moved if p.owner_kind == "ReplicaSet"]) == 2
    assert [p.name for p in moved if p.owner_kind == "StatefulSet"] == db  # same name, new pod
    assert kube_sim.pod("default", bare[0]) is None  # nobody recreates a bare pod
    assert [p.owner_kind for p in kube.pods_on("n0")] == ["DaemonSet"]


def test_deleting_a_node_collects_its_pods_and_owned_secrets(kube_sim, kube):
    token = kube_sim.create_join_token()
    kube_sim.k3s_agent_join("n0", token, "pw")
    kube_sim.add_node("n1")
    kube_sim.add_pods("n0", 2, owner="ReplicaSet/web")
    assert kube_sim.secret("kube-system", "n0.node-password.k3s")
    kube.delete_node("n0")
    assert kube_sim.secret("kube-system", "n0.node-password.k3s") is None
    eventually(lambda: len(workload(kube_sim.pods("n1"))) == 2)


def test_silent_kubelet_makes_the_node_not_ready_after_the_grace_period(kube_sim, kube):
    kube_sim.add_node("n0", provider_id="azure:///vm/0")
    kube_sim.add_pods("n0", 1)
    kube_sim.vm_stopped("n0")
    assert kube.node("n0").ready is True  # within node-monitor-grace-period nothing changes
    node = eventually(lambda: (lambda n: n if ready(n) == "Unknown" else None)(kube_sim.node("n0")))
    cond = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert cond["reason"] == "NodeStatusUnknown" and cond["lastHeartbeatTime"] <= cond["lastTransitionTime"]
    assert {(t["key"], t["effect"]) for t in node["spec"]["taints"]} == {
        ("node.kubernetes.io/unreachable", "NoSchedule"), ("node.kubernetes.io/unreachable", "NoExecute")}
    assert kube.node("n0").ready is None
    assert all(c["status"] == "False" for p in workload(kube_sim.pods("n0"))
               for c in p["status"]["conditions"] if c["type"] == "Ready")
    kube_sim.vm_started("n0", "azure:///vm/0")
    back = kube.node("n0")
    assert back.ready is True and not back.taints


def test_pods_on_an_unreachable_node_are_evicted_after_the_toleration_and_stay_terminating():
    with KubeSim(grace_s=0.1, unreachable_eviction_s=0.2, tick_s=0.02) as sim:
        sim.add_node("n0")
        sim.add_node("n1")
        (name,) = sim.add_pods("n0", 1, owner="ReplicaSet/web")
        sim.vm_deleted("n0")
        eventually(lambda: sim.pod("default", name)["metadata"].get("deletionTimestamp"))
        eventually(lambda: len(workload(sim.pods("n1"))) == 1)  # the replacement runs elsewhere
        assert sim.pod("default", name) is not None  # nobody confirms the kill: Terminating for ever
        sim.cluster.pods.delete("default", name, 0)  # until forced
        assert sim.pod("default", name) is None


def deleted_pod(sim: KubeSim, grace: int) -> str:
    """A bare pod on a new node n0, gracefully deleted with `grace` seconds; its name."""
    sim.add_node("n0")
    (name,) = sim.add_pods("n0", 1, owner=None)
    with sim.cluster.lock:
        sim.cluster.pods.delete("default", name, grace)
    return name


def test_graceful_deletion_waits_for_the_kubelet():
    with KubeSim(terminate_s=0.2, tick_s=0.02) as sim:
        name = deleted_pod(sim, 30)
        assert sim.pod("default", name)["metadata"]["deletionGracePeriodSeconds"] == 30
        eventually(lambda: sim.pod("default", name) is None)


def test_an_evicted_pod_stays_terminating_for_its_grace_period_then_is_gone():
    """As the API server and kubelet do: deletionTimestamp = now + grace, the pod listed (Terminating)
    until its containers stopped, which by default takes the whole grace period."""
    with KubeSim(tick_s=0.02) as sim:
        sim.add_node("n0")
        (name,) = sim.add_pods("n0", 1, owner="ReplicaSet/web")
        body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": "default"},
                "deleteOptions": {"gracePeriodSeconds": 1}}
        evict(sim.cluster, "default", name, body)
        meta = sim.pod("default", name)["metadata"]
        assert meta["deletionGracePeriodSeconds"] == 1 and meta["deletionTimestamp"]
        time.sleep(0.5)
        assert sim.pod("default", name) is not None  # still Terminating half-way through its grace
        eventually(lambda: sim.pod("default", name) is None, timeout=3)


def test_a_second_delete_only_shortens_the_grace_period():
    with KubeSim(tick_s=0.02) as sim:
        name = deleted_pod(sim, 30)
        with sim.cluster.lock:
            sim.cluster.pods.delete("default", name, 60)  # longer: ignored
        assert sim.pod("default", name)["metadata"]["deletionGracePeriodSeconds"] == 30
        with sim.cluster.lock:
            sim.cluster.pods.delete("default", name, 1)
        assert sim.pod("default", name)["metadata"]["deletionGracePeriodSeconds"] == 1
        eventually(lambda: sim.pod("default", name) is None, timeout=3)


def test_a_pod_terminating_when_its_kubelet_falls_silent_stays_until_the_kubelet_is_back():
    with KubeSim(tick_s=0.02, grace_s=60) as sim:
        name = deleted_pod(sim, 1)
        sim.vm_stopped("n0")  # the VM stops mid-grace: nobody confirms the containers stopped
        time.sleep(1.5)
        assert sim.pod("default", name)["metadata"]["deletionTimestamp"]
        sim.vm_started("n0", "")
        eventually(lambda: sim.pod("default", name) is None, timeout=3)


def test_a_deleted_node_comes_back_when_its_kubelet_restarts(kube_sim, kube):
    kube_sim.k3s_agent_join("n0", kube_sim.agent_token, "pw", labels={"pool": "spot"})
    kube.delete_node("n0")
    kube_sim.vm_stopped("n0")
    kube_sim.vm_started("n0", "")
    assert kube.node("n0").labels["pool"] == "spot"
    kube_sim.vm_deleted("n0")
    kube.delete_node("n0")
    kube_sim.vm_started("n0", "")  # a new VM of that name must join again
    assert kube.node("n0") is None


def test_mirror_pods_come_back_after_deletion(kube_sim, kube):
    kube_sim.add_node("n0")
    name = kube_sim.add_mirror_pod("n0", "kube-vip")
    (pod,) = [p for p in kube.pods_on("n0") if p.mirror]
    kube.delete_pod(pod, grace_s=0)
    again = kube_sim.pod("kube-system", name)
    assert again and again["metadata"]["uid"] != pod.name
