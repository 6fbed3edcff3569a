"""One contract for the Kube port: the in-memory fake and KubeClient over HTTPS against KubeSim
(and, in tests/control_plane/, against a real kube-apiserver).

`world` seeds the cluster (FakeKube or KubeSim, same helper names); `port` is what services
use. Nodes in PDB tests are cordoned so the simulator's controllers cannot reschedule the
replacement pods and change the budget under the test.
"""
from __future__ import annotations

import inspect

import pytest

from localenv.waiting import wait_for
from nodepool.adapters.kube import KubeClient
from nodepool.core.errors import AlreadyExists, Conflict, NotFound, Unavailable
from nodepool.core.model import Taint
from nodepool.core.ports import Kube
from nodepool.fakes.kube import FakeKube

BOOTSTRAP = "bootstrap.kubernetes.io/token"
REQUESTS = {"cpu": "250m", "memory": "128Mi"}


@pytest.fixture(params=["fake", "sim"])
def world(request):
    if request.param == "fake":
        fake = FakeKube()
        return fake, fake
    sim = request.getfixturevalue("kube_sim")
    return sim, KubeClient(sim.url, sim.token, sim.ca_pem, page_size=2, read_timeout=5)  # every list pages


def names(items) -> list[str]:
    return [i.name for i in items]


def workload(pods) -> list:
    return [p for p in pods if not p.daemonset and not p.mirror]


def test_lists_nodes_across_pages_with_label_selectors(world):
    seed, port = world
    seed.add_node("n0", labels={"pool": "spot"})
    seed.add_node("n1", labels={"pool": "regular"})
    for i in range(2, 5):
        seed.add_node(f"n{i}")
    every = port.nodes()
    assert every.complete and names(every.items) == ["n0", "n1", "n2", "n3", "n4"]
    assert names(port.nodes("pool=spot").items) == ["n0"]
    assert names(port.nodes("pool==spot").items) == ["n0"]
    assert names(port.nodes("pool!=spot").items) == ["n1", "n2", "n3", "n4"]
    assert names(port.nodes("pool").items) == ["n0", "n1"]
    assert names(port.nodes("!pool").items) == ["n2", "n3", "n4"]


def test_node_carries_what_decisions_need(world):
    seed, port = world
    seed.add_node("n0", provider_id="azure:///x/virtualMachines/3", labels={"pool": "spot"}, cpu="2", memory="8Gi")
    node = port.node("n0")
    assert node.provider_id == "azure:///x/virtualMachines/3" and node.ready is True and node.ready_since
    assert node.labels["pool"] == "spot" and node.labels["kubernetes.io/hostname"] == "n0"
    assert node.allocatable_cpu_m == 2000 and 7 * 2**30 < node.allocatable_memory_b <= 8 * 2**30
    assert node.resource_version and node.uid and node.created_at and not node.unschedulable


def test_not_ready_node_reads_unknown(world):
    seed, port = world
    seed.add_node("n0", ready=False)
    assert port.node("n0").ready is None


def test_missing_node_is_none_and_patching_it_is_not_found(world):
    _, port = world
    assert port.node("nope") is None
    with pytest.raises(NotFound):
        port.patch_node("nope", unschedulable=True)


def test_cordon_and_uncordon(world):
    """The unschedulable taint is nodelifecycle's to add and remove: with the patch, or a moment after."""
    seed, port = world
    seed.add_node("n0")
    assert port.patch_node("n0", unschedulable=True).unschedulable and port.node("n0").unschedulable
    wait_for(lambda: Taint("node.kubernetes.io/unschedulable") in port.node("n0").taints, 30, what="the cordon taint")
    assert not port.patch_node("n0", unschedulable=False).unschedulable
    wait_for(lambda: not port.node("n0").taints, 30, what="the cordon taint removed")


def test_labels_are_added_and_removed(world):
    seed, port = world
    seed.add_node("n0", labels={"old": "1", "keep": "yes"})
    node = port.patch_node("n0", labels={"new": "2", "old": None})
    assert node.labels["new"] == "2" and "old" not in node.labels and node.labels["keep"] == "yes"


def test_taints_are_replaced(world):
    seed, port = world
    seed.add_node("n0", taints=[{"key": "a", "value": "1", "effect": "NoSchedule"}])
    node = port.patch_node("n0", taints=[Taint("spot", "true", "NoExecute")])
    assert node.taints == (Taint("spot", "true", "NoExecute"),)
    assert port.patch_node("n0", taints=[]).taints == ()


def test_stale_resource_version_is_a_conflict(world):
    seed, port = world
    seed.add_node("n0")
    seen = port.node("n0")
    changed = port.patch_node("n0", labels={"a": "1"}, resource_version=seen.resource_version)
    assert changed.resource_version != seen.resource_version
    with pytest.raises(Conflict):
        port.patch_node("n0", unschedulable=True, resource_version=seen.resource_version)
    assert not port.node("n0").unschedulable


def test_pods_on_a_node_with_owner_and_requests(world):
    seed, port = world
    seed.add_node("n0")
    seed.add_node("n1")
    mine = seed.add_pods("n0", 3, owner="ReplicaSet/web", requests=REQUESTS)
    seed.add_pods("n1", 2, owner="StatefulSet/db")
    pods = workload(port.pods_on("n0"))
    assert sorted(names(pods)) == sorted(mine)
    assert {(p.owner_kind, p.cpu_m, p.memory_b, p.phase, p.node) for p in pods} == {
        ("ReplicaSet", 250, 128 * 2**20, "Running", "n0")}


def test_pod_listing_with_field_selectors(world):
    seed, port = world
    seed.add_node("n0", unschedulable=True)
    running = seed.add_pods("n0", 2)
    pending = seed.add_pods(None, 3, owner="Job/batch")  # nowhere to go: the only node is cordoned
    listed = port.pods()
    assert listed.complete and set(running + pending) <= set(names(listed.items))
    unbound = port.pods("spec.nodeName=")
    assert all(p.node is None for p in unbound.items) and set(pending) >= set(names(unbound.items))
    assert set(running) <= set(names(port.pods("status.phase=Running").items))
    assert not set(running) & set(names(port.pods("status.phase!=Running").items))


def test_mirror_pods_are_marked(world):
    seed, port = world
    seed.add_node("n0")
    name = seed.add_mirror_pod("n0", "kube-vip")
    pod = next(p for p in port.pods_on("n0") if p.name == name)
    assert pod.mirror and pod.owner_kind == "Node"


def test_eviction_honours_min_available(world):
    seed, port = world
    seed.add_node("n0", unschedulable=True)
    seed.add_pods("n0", 3, owner="ReplicaSet/web")
    seed.add_pdb("web", selector={"app": "web"}, min_available=2)
    first, second, _ = workload(port.pods_on("n0"))
    assert port.evict(first, grace_s=5) is True
    assert port.evict(second) is False
    left = {p.name: p for p in port.pods_on("n0")}
    assert first.name not in left or left[first.name].terminating  # gone, or terminating for its grace period
    assert second.name in left and not left[second.name].terminating


def test_eviction_honours_max_unavailable_percent(world):
    seed, port = world
    seed.add_node("n0", unschedulable=True)
    seed.add_pods("n0", 4, owner="ReplicaSet/api")
    seed.add_pdb("api", selector={"app": "api"}, max_unavailable="50%")
    pods = workload(port.pods_on("n0"))
    assert [port.evict(p) for p in pods] == [True, True, False, False]


def test_pods_without_a_budget_are_evicted_and_missing_pods_count_as_gone(world):
    seed, port = world
    seed.add_node("n0")
    (name,) = seed.add_pods("n0", 1, owner="ReplicaSet/free")
    pod = next(p for p in port.pods_on("n0") if p.name == name)
    assert port.evict(pod) is True
    assert port.evict(pod) is True


def test_delete_pod_and_node_are_idempotent(world):
    seed, port = world
    seed.add_node("n0")
    seed.add_pods("n0", 1, owner=None)
    (pod,) = workload(port.pods_on("n0"))
    port.delete_pod(pod, grace_s=0)
    port.delete_pod(pod, grace_s=0)
    assert pod.name not in names(port.pods_on("n0"))
    port.delete_node("n0")
    port.delete_node("n0")
    assert port.node("n0") is None


def test_secrets_crud(world):
    seed, port = world
    port.create_secret("kube-system", "bootstrap-token-abcdef", type=BOOTSTRAP, labels={"owner": "nodepool"},
                       string_data={"token-id": "abcdef", "token-secret": "0123456789abcdef"})
    seed.add_secret("kube-system", "other", data={"x": "y"})
    got = port.secret("kube-system", "bootstrap-token-abcdef")
    assert got["type"] == BOOTSTRAP and got["data"]["token-secret"] == "0123456789abcdef"
    assert got["labels"] == {"owner": "nodepool"} and got["created_at"] and got["namespace"] == "kube-system"
    listed = port.secrets("kube-system", field_selector=f"type={BOOTSTRAP}")
    assert [s["name"] for s in listed] == ["bootstrap-token-abcdef"]
    assert {s["name"] for s in port.secrets("kube-system")} >= {"bootstrap-token-abcdef", "other"}
    with pytest.raises(AlreadyExists):
        port.create_secret("kube-system", "other", type="Opaque", string_data={})
    port.delete_secret("kube-system", "bootstrap-token-abcdef")
    port.delete_secret("kube-system", "bootstrap-token-abcdef")
    assert port.secret("kube-system", "bootstrap-token-abcdef") is None
    assert port.secrets("default") == []


def test_the_fake_fails_on_demand_and_records_writes():
    fake = FakeKube()
    fake.add_node("n0")
    fake.fail_next(Unavailable("down"), times=2)
    for _ in range(2):
        with pytest.raises(Unavailable):
            fake.nodes()
    fake.patch_node("n0", unschedulable=True)
    assert fake.nodes().complete and fake.writes == [("patch_node", "n0")]


@pytest.mark.parametrize("impl", [FakeKube, KubeClient])
def test_implements_every_method_of_the_port_with_its_signature(impl):
    for name, method in vars(Kube).items():
        if callable(method) and not name.startswith("_"):
            assert inspect.signature(getattr(impl, name)).parameters.keys() == \
                inspect.signature(method).parameters.keys(), name
