"""An operator's day with real kubectl against the simulated cluster (see conftest.py)."""
from __future__ import annotations

import json
import queue
import re
import threading

from localenv.stack import LocalStack
from localenv.waiting import wait_for
from tests.fixtures.storage import worker_account
from tests.kubectl.conftest import Kubectl

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: registry.k8s.io/pause:3.9
"""


def test_version_and_api_resources_come_from_discovery(kubectl):
    version = json.loads(kubectl.out("version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"].endswith("+k3s1")
    resources = kubectl.out("api-resources")
    for line in ("nodes ", "pods ", "daemonsets ", "statefulsets ", "poddisruptionbudgets ",
                 "selfsubjectaccessreviews "):
        assert line in resources
    assert "pdb" in kubectl.out("api-resources", "--api-group=policy")


def test_get_and_describe_print_tables_of_nodes_and_pods(kubectl, cluster):
    cluster.add_pods("agent-0", 2, owner="ReplicaSet/web")
    nodes = kubectl.out("get", "nodes").splitlines()
    assert nodes[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert [row.split()[:2] for row in nodes[1:]] == [["agent-0", "Ready"], ["agent-1", "Ready"]]
    pods = kubectl.out("get", "pods", "-o", "wide").splitlines()
    assert pods[0].split()[:3] == ["NAME", "READY", "STATUS"] and "NODE" in pods[0]
    assert len(pods) == 3 and all("Running" in row and "agent-0" in row for row in pods[1:])
    described = kubectl.out("describe", "node", "agent-0")
    assert re.search(r"^Name:\s+agent-0$", described, re.M) and "Non-terminated Pods:" in described
    pod = pods[1].split()[0]
    assert re.search(rf"^Name:\s+{pod}$", kubectl.out("describe", "pod", pod), re.M)
    kubectl.out("label", "pod", pod, "tier=front")
    assert "tier=front" in kubectl.out("get", "pods", "-l", "tier=front", "--show-labels")
    missing = kubectl.run("get", "node", "ghost", check=False)
    assert missing.returncode == 1 and 'nodes "ghost" not found' in missing.stderr  # a NotFound Status


def test_label_annotate_cordon_and_uncordon_change_the_node(kubectl, cluster):
    kubectl.out("label", "node", "agent-0", "pool=spot")
    kubectl.out("annotate", "node", "agent-0", "owner=ops")
    kubectl.out("cordon", "agent-0")
    node = cluster.node("agent-0")
    assert node["metadata"]["labels"]["pool"] == "spot" and node["metadata"]["annotations"]["owner"] == "ops"
    assert node["spec"]["unschedulable"] is True
    assert "Ready,SchedulingDisabled" in kubectl.out("get", "node", "agent-0")
    kubectl.out("uncordon", "agent-0")
    assert not cluster.node("agent-0")["spec"].get("unschedulable")


def test_drain_skips_the_daemonset_waits_for_the_pdb_and_finishes(kubectl, cluster):
    cluster.add_pods("agent-0", 2, owner="StatefulSet/db")
    cluster.add_pdb("db", selector={"app": "db"}, min_available=1)
    drained = kubectl.run("drain", "agent-0", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s")
    assert "ignoring DaemonSet-managed Pods: kube-system/svclb-traefik" in drained.stderr
    assert "disruption budget" in drained.stderr  # the second eviction was refused until db was whole again
    assert "node/agent-0 drained" in drained.stdout
    left = {p["metadata"]["name"] for p in cluster.pods(node="agent-0")}
    assert all(name.startswith("svclb-traefik-") for name in left)
    db = [p for p in cluster.pods(namespace="default") if p["metadata"]["name"].startswith("db-")]
    assert sorted(p["spec"].get("nodeName") for p in db) == ["agent-1", "agent-1"]


def test_get_pdb_prints_what_the_budget_allows(kubectl, cluster):
    cluster.add_pods("agent-0", 2, owner="StatefulSet/db")
    cluster.add_pdb("db", selector={"app": "db"}, max_unavailable=1)
    header, *rows = [re.split(r"\s{2,}", line.strip()) for line in kubectl.out("get", "pdb").splitlines()]
    assert header == ["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"]
    assert [row[:4] for row in rows] == [["db", "N/A", "1", "1"]]


def test_delete_node_removes_it(kubectl, cluster):
    assert 'node "agent-1" deleted' in kubectl.out("delete", "node", "agent-1")
    assert cluster.node("agent-1") is None
    assert "agent-1" not in kubectl.out("get", "nodes")


def test_get_nodes_watch_sees_a_cordon(kubectl, cluster):
    watcher = kubectl.popen("get", "nodes", "-w")
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in watcher.stdout], daemon=True).start()
    seen: list[str] = []

    def saw(text: str):
        while not lines.empty():
            seen.append(lines.get())
        return any(text in line for line in seen)
    try:
        wait_for(lambda: saw("agent-1"), timeout=20, what="the initial listing")
        kubectl.out("cordon", "agent-1")
        wait_for(lambda: saw("SchedulingDisabled"), timeout=20, what="the watch event of the cordon")
    finally:
        watcher.kill()
        watcher.wait()


def test_wait_for_ready_returns_once_the_kubelet_is_back(kubectl, cluster):
    with cluster.cluster.lock:
        cluster.cluster.controllers.kubelet_changed("agent-1", False)
    wait_for(lambda: "NotReady" in kubectl.out("get", "node", "agent-1"), timeout=20, what="agent-1 NotReady")
    waiting = kubectl.popen("wait", "--for=condition=Ready", "node/agent-1", "--timeout=30s")
    with cluster.cluster.lock:
        cluster.cluster.controllers.kubelet_changed("agent-1", True)
    out, err = waiting.communicate(timeout=40)
    assert waiting.returncode == 0, err
    assert "node/agent-1 condition met" in out


def test_auth_can_i_asks_a_self_subject_access_review(kubectl):
    assert kubectl.out("auth", "can-i", "delete", "nodes").strip() == "yes"
    assert kubectl.out("auth", "can-i", "create", "pods/eviction", "-n", "default").strip() == "yes"


def test_server_side_apply_creates_then_updates_a_deployment(kubectl, cluster, tmp_path):
    manifest = tmp_path / "web.yaml"
    for replicas in (2, 3):
        manifest.write_text(DEPLOYMENT.format(replicas=replicas))
        assert "deployment.apps/web serverside-applied" in kubectl.out("apply", "--server-side", "-f", str(manifest))
    deployment = json.loads(kubectl.out("get", "deployment", "web", "-o", "json"))
    assert deployment["spec"]["replicas"] == 3 and deployment["metadata"]["generation"] == 2
    stored = cluster.cluster.store.get("deployments", "default", "web")
    assert stored["metadata"]["managedFields"][0]["manager"] == "kubectl"


def test_a_replace_from_a_stale_read_is_a_conflict(kubectl, tmp_path):
    stale = tmp_path / "node.json"
    stale.write_text(kubectl.out("get", "node", "agent-0", "-o", "json"))
    kubectl.out("label", "node", "agent-0", "changed=yes")
    refused = kubectl.run("replace", "-f", str(stale), check=False)
    assert refused.returncode == 1 and "the object has been modified" in refused.stderr


def test_the_local_stack_writes_the_kubeconfig_kubectl_uses(kubectl_binary, azurite, tmp_path):
    path = tmp_path / "run" / "kubeconfig"
    with LocalStack(agents=2, sim_options={"boot_seconds": 0.1, "kube_options": {"auto_join": True}}, hosts=0,
                    azurite=azurite, account=worker_account(), kubeconfig=path) as stack:
        assert path.stat().st_mode & 0o077 == 0  # it holds the admin token
        names = {vm.computer_name for vm in stack.sim.vms} | {"master0"}
        listed = Kubectl(kubectl_binary, path).out("get", "nodes", "-o", "name")
        assert {line.removeprefix("node/") for line in listed.split()} == names
