"""Kubernetes JSON → the autoscaler's views: what the scheduler reserves, what blocks a drain, PDB selectors."""
from nodepool.adapters.autoscale_wire import budget, node_view, pod_view
from nodepool.autoscale.model import Resources, Toleration
from nodepool.core.model import Taint

GI = 1024 ** 3


def pod(**spec_and_meta) -> dict:
    meta = {"name": "web-1", "namespace": "default", **spec_and_meta.pop("metadata", {})}
    status = spec_and_meta.pop("status", {"phase": "Running"})
    return {"metadata": meta, "spec": {"containers": [], **spec_and_meta}, "status": status}


def container(requests=None, limits=None) -> dict:
    return {"name": "c", "resources": {k: v for k, v in (("requests", requests), ("limits", limits)) if v}}


def test_requests_are_the_sum_of_containers_or_the_largest_init_container_plus_overhead():
    obj = pod(containers=[container({"cpu": "250m", "memory": "256Mi"}), container({"cpu": "250m"})],
              initContainers=[container({"cpu": "1", "memory": "64Mi"})], overhead={"memory": "128Mi"})
    assert pod_view(obj).requests == Resources(1000, 384 * 1024 ** 2)


def test_a_gpu_given_only_as_a_limit_is_requested():
    obj = pod(containers=[container({"cpu": "1"}, {"nvidia.com/gpu": "1"})])
    assert pod_view(obj).requests == Resources(1000, 0, 1)


def test_a_pending_pod_is_unschedulable_only_with_the_schedulers_condition():
    cond = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}
    assert pod_view(pod(status={"phase": "Pending", "conditions": [cond]})).unschedulable
    assert not pod_view(pod(status={"phase": "Pending"})).unschedulable  # not tried yet
    gated = {**cond, "reason": "SchedulingGated"}
    assert not pod_view(pod(status={"phase": "Pending", "conditions": [gated]})).unschedulable


def test_placement_and_drain_facts_are_read():
    obj = pod(nodeName="spot000001", nodeSelector={"pool": "spot"},
              tolerations=[{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}],
              volumes=[{"name": "scratch", "emptyDir": {}}],
              metadata={"labels": {"app": "web"}, "annotations": {
                  "cluster-autoscaler.kubernetes.io/safe-to-evict": "false"},
                  "ownerReferences": [{"kind": "ReplicaSet", "name": "web", "controller": True}]})
    view = pod_view(obj)
    assert (view.node, view.node_selector, view.labels) == ("spot000001", (("pool", "spot"),), (("app", "web"),))
    assert view.tolerations == (Toleration("spot", "Exists", "", "NoSchedule"),)
    assert (view.owner_kind, view.local_storage, view.safe_to_evict) == ("ReplicaSet", True, "false")
    bare = pod_view(pod(metadata={"ownerReferences": [{"kind": "ReplicaSet", "name": "x"}]}))
    assert bare.owner_kind is None  # an owner that is not its controller recreates nothing


def test_finished_pods_are_left_out():
    assert pod_view(pod(status={"phase": "Succeeded"})) is None and pod_view(pod(status={"phase": "Failed"})) is None


def test_a_node_with_its_allocatable_readiness_taints_and_annotation():
    obj = {"metadata": {"name": "spot000001", "labels": {"a": "b"},
                        "annotations": {"cluster-autoscaler.kubernetes.io/scale-down-disabled": "true"}},
           "spec": {"unschedulable": True, "taints": [{"key": "spot", "value": "true", "effect": "NoSchedule"}]},
           "status": {"allocatable": {"cpu": "3860m", "memory": "13Gi", "nvidia.com/gpu": "1"},
                      "conditions": [{"type": "Ready", "status": "True"}]}}
    view = node_view(obj)
    assert view.allocatable == Resources(3860, 13 * GI, 1) and view.ready and view.unschedulable
    assert view.taints == (Taint("spot", "true", "NoSchedule"),) and view.scale_down_disabled
    assert (view.pool, view.instance_id) == ("", "")  # ARM says which pool, not a label


def test_a_pdb_with_match_expressions_selects_its_whole_namespace():
    plain = {"metadata": {"namespace": "db"}, "spec": {"selector": {"matchLabels": {"app": "db"}}},
             "status": {"disruptionsAllowed": 1}}
    assert budget(plain).selector == (("app", "db"),) and budget(plain).disruptions_allowed == 1
    wide = {"metadata": {"namespace": "db"}, "spec": {"selector": {"matchLabels": {"app": "db"}, "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["a"]}]}}, "status": {}}
    assert budget(wide).selector == () and budget(wide).disruptions_allowed == 0
