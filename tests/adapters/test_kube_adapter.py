"""KubeClient against KubeSim where only a real server can go wrong: outages, timeouts, a bad
credential or CA, a list failing half way, throttling, and what reaches the logs."""
from __future__ import annotations

import json
import logging

import pytest
import requests

from nodepool.adapters.kube import KubeClient
from nodepool.adapters.kube_http import BudgetRefused, api_error
from nodepool.core.errors import Throttled, Unavailable


def test_api_down_raises_unavailable(kube_sim, kube):
    kube_sim.add_node("n0")
    kube_sim.faults.fail(503, seconds=5)
    with pytest.raises(Unavailable):
        kube.node("n0")
    kube_sim.faults.clear()
    kube_sim.faults.fail(500, times=1)
    with pytest.raises(Unavailable):
        kube.delete_node("n0")
    assert kube_sim.faults.counts["503"] >= 1 and kube_sim.faults.counts["500"] == 1


def test_api_down_makes_node_listing_incomplete_not_an_error(kube_sim, kube):
    kube_sim.add_node("n0")
    kube_sim.faults.fail(503, times=1)
    snapshot = kube.nodes()
    assert not snapshot.complete and snapshot.items == () and "503" in snapshot.error
    assert kube.nodes().complete


def test_a_page_failing_half_way_gives_an_incomplete_snapshot_with_what_was_read(kube_sim):
    for i in range(5):
        kube_sim.add_node(f"n{i}")
    kube_sim.faults.fail(500, times=1, paged_only=True)
    snapshot = KubeClient(kube_sim.url, kube_sim.token, kube_sim.ca_pem, page_size=2).nodes()
    assert not snapshot.complete and [n.name for n in snapshot.items] == ["n0", "n1"]


def test_hanging_api_times_out_as_unavailable(kube_sim):
    kube_sim.add_node("n0")
    kube_sim.faults.hang(times=1, hold_s=2)
    quick = KubeClient(kube_sim.url, kube_sim.token, kube_sim.ca_pem, read_timeout=0.3)
    with pytest.raises(Unavailable, match="timed out"):
        quick.node("n0")
    assert quick.node("n0") is not None


def test_slow_api_still_answers(kube_sim, kube):
    kube_sim.add_node("n0")
    kube_sim.faults.slow(0.2, times=1)
    assert kube.node("n0").name == "n0" and kube_sim.faults.counts["slow"] == 1


def test_api_priority_throttling_is_throttled_not_a_pdb_refusal(kube_sim, kube):
    kube_sim.add_node("n0")
    (name,) = kube_sim.add_pods("n0", 1)
    (pod,) = [p for p in kube.pods_on("n0") if p.name == name]
    kube_sim.faults.fail(429, times=1)
    with pytest.raises(Throttled) as caught:
        kube.evict(pod)
    assert caught.value.retry_after == 1


def test_wrong_token_is_unavailable_and_says_the_credential_is_wrong(kube_sim):
    bad = KubeClient(kube_sim.url, "not-the-token", kube_sim.ca_pem)
    with pytest.raises(Unavailable) as caught:
        bad.node("n0")
    assert caught.value.code == "kube_credentials" and "credential" in caught.value.message
    assert not bad.nodes().complete


def test_ca_can_be_a_file_and_an_unknown_ca_is_refused(kube_sim, tmp_path):
    kube_sim.add_node("n0")
    assert KubeClient(kube_sim.url, kube_sim.token, kube_sim.ca_file).node("n0").name == "n0"
    with pytest.raises(Unavailable, match="unreachable"):
        KubeClient(kube_sim.url, kube_sim.token, None).node("n0")  # system trust store: not our CA


def test_unreachable_server_is_unavailable():
    with pytest.raises(Unavailable, match="unreachable"):
        KubeClient("https://127.0.0.1:9", "t", connect_timeout=0.5).node("n0")


def test_overlapping_budgets_refuse_eviction(kube_sim, kube):
    kube_sim.add_node("n0")
    kube_sim.add_pods("n0", 2, owner="ReplicaSet/web")
    kube_sim.add_pdb("a", selector={"app": "web"}, max_unavailable=1)
    kube_sim.add_pdb("b", selector={"app": "web"}, max_unavailable=1)
    pod = next(p for p in kube.pods_on("n0") if p.owner_kind == "ReplicaSet")
    assert kube.evict(pod) is False


def test_eviction_passes_the_grace_period(kube_sim, kube):
    kube_sim.cluster.terminate_s = 30  # the kubelet takes its time: the pod stays Terminating
    kube_sim.add_node("n0")
    (name,) = kube_sim.add_pods("n0", 1, owner="ReplicaSet/web")
    pod = next(p for p in kube.pods_on("n0") if p.name == name)
    assert kube.evict(pod, grace_s=7)
    assert kube_sim.pod("default", name)["metadata"]["deletionGracePeriodSeconds"] == 7
    assert next(p for p in kube.pods_on("n0") if p.name == name).terminating


def test_the_token_never_reaches_logs_or_errors(kube_sim, caplog):
    caplog.set_level(logging.DEBUG)
    api = KubeClient(kube_sim.url, kube_sim.token, kube_sim.ca_pem)
    errors = []
    kube_sim.faults.fail(503, times=3)
    for call in (lambda: api.node("x"), api.nodes, lambda: api.secret("kube-system", "s")):
        try:
            call()
        except Unavailable as err:
            errors.append(str(err))
    bad = KubeClient(kube_sim.url, kube_sim.token + "x", kube_sim.ca_pem)
    with pytest.raises(Unavailable) as caught:
        bad.node("x")
    text = caplog.text + " ".join(errors) + str(caught.value) + repr(api) + repr(bad)
    assert kube_sim.token not in text


def _answer(code: int, status: dict) -> requests.Response:
    response = requests.Response()
    response.status_code, response._content = code, json.dumps(status).encode()
    return response


def test_a_pdb_forbidding_an_eviction_is_a_budget_refusal_not_a_credential_error():
    """The eviction subresource answers 403 for PDB states (kubernetes eviction.go checkAndDecrement:
    errors.NewForbidden(policy.Resource("poddisruptionbudget"), name, ...)): the drain tries again."""
    for why in ("pdb disruptions allowed is negative",
                "DisruptedPods map too big - too many evictions not confirmed by PDB controller"):
        error = api_error("evict pod default/db-0", _answer(403, {
            "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden", "code": 403,
            "message": f'poddisruptionbudget.policy "db" is forbidden: {why}',
            "details": {"name": "db", "group": "policy", "kind": "poddisruptionbudget"}}))
        assert isinstance(error, BudgetRefused) and error.code != "kube_credentials" and why in error.message


def test_rbac_refusing_an_eviction_is_still_a_credential_error():
    error = api_error("evict pod default/db-0", _answer(403, {
        "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden", "code": 403,
        "message": 'pods "db-0" is forbidden: User "system:serviceaccount:kube-system:nodepool" cannot create '
                   'resource "pods/eviction" in API group "" in the namespace "default"',
        "details": {"name": "db-0", "kind": "pods"}}))
    assert isinstance(error, Unavailable) and error.code == "kube_credentials"
