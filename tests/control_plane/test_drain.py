"""The drain against the real control plane: the real disruption controller answers the evictions
(429 until the evicted pod's replacement is Ready), pods terminate for their grace period as real
ones do, and the product's Drainer must not delete the Node while any of its pods is still there."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from localenv.waiting import wait_for
from nodepool.adapters.kube import KubeClient
from nodepool.core.clock import SystemClock
from nodepool.core.k3s import KUBE_SYSTEM, node_password_secret
from nodepool.drain.evict import Drainer, DrainPolicy
from nodepool.drain.state import DrainRequest
from nodepool.fakes.registry import FakeRegistry

PODS, GRACE_S = 20, 30
NOTICE_S = 180  # a Terminate event's notice: room for every pod's full grace period, and ends well inside the timeout


class Observed(KubeClient):
    """The app's adapter, noting each PDB refusal and what was on the Node when it deleted it."""

    def __init__(self, seed, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seed, self.refused, self.on_node_at_delete = seed, 0, None

    def evict(self, pod, grace_s=None) -> bool:
        allowed = super().evict(pod, grace_s)
        self.refused += not allowed
        return allowed

    def delete_node(self, name: str) -> bool:
        self.on_node_at_delete = sorted(p["metadata"]["name"] for p in self.seed.pods(node=name))
        return super().delete_node(name)


@pytest.mark.timeout(300)  # about a minute; a drain the API holds back ends at its deadline, before this
def test_drain_with_a_pdb_leaves_no_pod_behind_before_the_node_goes(control_plane, app_token, seed, real_kube):
    seed.add_node("n0")
    web = seed.add_pods("n0", PODS, owner="ReplicaSet/web", grace_s=GRACE_S, pinned=False)
    seed.add_node("n1")
    seed.add_node("n2")
    seed.add_pdb("web", selector={"app": "web"}, max_unavailable=1)
    real_kube.ensure_password("n0", "pw-n0")
    kube = Observed(seed, control_plane.url, app_token, control_plane.ca_pem, read_timeout=30)
    kube.patch_node("n0", unschedulable=True)  # what POST /api/events does first
    request = DrainRequest("n0", "e-1", "Terminate", datetime.now(timezone.utc) + timedelta(seconds=NOTICE_S))

    outcome = Drainer(FakeRegistry(), kube, DrainPolicy(pod_grace_s=GRACE_S), SystemClock()).drain(request)

    assert outcome["node_deleted"] and outcome["pods_left"] == 0
    assert kube.refused > 0  # the disruption controller held the evictions back (429), one pod at a time
    assert seed.get(f"/api/v1/namespaces/{KUBE_SYSTEM}/secrets/{node_password_secret('n0')}") is None
    moved = wait_for(lambda: running_elsewhere(seed, "n0"), 120, interval=0.5, what="web back to 20 Running")
    assert not set(web) & set(moved)
    assert kube.on_node_at_delete == []  # every pod was gone, not merely terminating, when the Node went


def running_elsewhere(seed, node: str) -> list[str]:
    pods = [p for p in seed.pods(namespace="default") if not p["metadata"].get("deletionTimestamp")
            and p["status"].get("phase") == "Running" and p["spec"].get("nodeName") not in (None, node)]
    return sorted(p["metadata"]["name"] for p in pods) if len(pods) == PODS else []
