"""k3s_agent_join: what the k3s supervisor accepts and refuses, in k3s's own formats."""
from __future__ import annotations

import base64
import re
import time

import pytest

from sim.kube import JoinRefused, KubeSim
from sim.kube.k3s import bootstrap_secret, hash_password, parse_token, verify_password


def data(secret: dict) -> dict:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_a_valid_bootstrap_token_registers_the_node(kube_sim, kube):
    token = kube_sim.create_join_token(ttl_s=900, description="join agents000001")
    assert re.fullmatch(rf"K10{kube_sim.ca_hash}::[a-z0-9]{{6}}\.[a-z0-9]{{16}}", token)
    node = kube_sim.k3s_agent_join("Agents000001", token, "s3cret", labels={"pool": "spot"},
                                   taints=["kubernetes.azure.com/scalesetpriority=spot:NoSchedule"],
                                   provider_id="azure:///subscriptions/s/virtualMachines/1")
    assert node["metadata"]["name"] == "agents000001"
    seen = kube.node("agents000001")
    assert seen.ready is True and seen.labels["pool"] == "spot" and seen.provider_id.endswith("/virtualMachines/1")
    assert [(t.key, t.value, t.effect) for t in seen.taints] == [
        ("kubernetes.azure.com/scalesetpriority", "spot", "NoSchedule")]
    secret = kube_sim.secret("kube-system", "agents000001.node-password.k3s")
    assert secret["type"] == "k3s.cattle.io/node-password" and secret["immutable"] is True
    assert re.fullmatch(r"\$1:[0-9a-f]{16}:10:8:1:[A-Za-z0-9+/]{86}", data(secret)["hash"])
    assert secret["metadata"]["ownerReferences"][0]["uid"] == node["metadata"]["uid"]
    assert [p.owner_kind for p in kube.pods_on("agents000001")] == ["DaemonSet"]


def test_bootstrap_token_secret_matches_k3s_token_create(kube_sim):
    token = kube_sim.create_join_token(ttl_s=60)
    token_id = parse_token(token)[1][0]
    secret = kube_sim.secret("kube-system", f"bootstrap-token-{token_id}")
    fields = data(secret)
    assert secret["type"] == "bootstrap.kubernetes.io/token"
    assert fields["usage-bootstrap-authentication"] == fields["usage-bootstrap-signing"] == "true"
    assert fields["auth-extra-groups"] == "system:bootstrappers:k3s:default-node-token"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", fields["expiration"])


def test_an_expired_bootstrap_token_is_refused(kube_sim):
    token, body = bootstrap_secret(ttl_s=1, now=time.time() - 10)
    kube_sim.cluster.create_secret("kube-system", body)
    with pytest.raises(JoinRefused) as refused:
        kube_sim.k3s_agent_join("n0", token, "pw")
    assert refused.value.reason == "token_expired" and kube_sim.node("n0") is None
    assert kube_sim.refusals == [("n0", "token_expired")]


def test_unknown_or_wrong_tokens_are_refused(kube_sim):
    token = kube_sim.create_join_token()
    wrong_secret = token[:-1] + ("a" if token[-1] != "a" else "b")
    for bad, reason in [(wrong_secret, "token_invalid"), ("abcdef.0123456789abcdef", "token_invalid"),
                        (f"K10{'0' * 64}::{token.split('::')[1]}", "ca_hash_mismatch"),
                        ("K10abc::server:x", "token_invalid"), ("server:wrong", "token_invalid"),
                        ("nocolon", "token_invalid"), ("", "token_invalid")]:
        with pytest.raises(JoinRefused) as refused:
            kube_sim.k3s_agent_join("n0", bad, "pw")
        assert refused.value.reason == reason, bad
    assert kube_sim.node("n0") is None


def test_a_bootstrap_secret_without_the_authentication_usage_is_refused(kube_sim):
    token, body = bootstrap_secret(ttl_s=60, now=time.time())
    body["stringData"]["usage-bootstrap-authentication"] = "false"
    kube_sim.cluster.create_secret("kube-system", body)
    with pytest.raises(JoinRefused, match="not for authentication"):
        kube_sim.k3s_agent_join("n0", token, "pw")


def test_the_static_agent_token_works_in_full_and_bare_form(kube_sim):
    kube_sim.k3s_agent_join("n0", kube_sim.agent_token, "pw")
    bare = kube_sim.agent_token.split("::", 1)[1].split(":", 1)[1]
    kube_sim.k3s_agent_join("n1", bare, "pw")
    kube_sim.k3s_agent_join("n2", f"K10::node:{bare}", "pw")  # no CA hash: not checked
    with pytest.raises(JoinRefused):  # like k3s: without K10, "node:<secret>" is all password
        kube_sim.k3s_agent_join("n3", f"node:{bare}", "pw")
    assert all(kube_sim.node(n) for n in ("n0", "n1", "n2"))


def test_a_different_node_password_is_rejected_like_k3s(kube_sim):
    kube_sim.k3s_agent_join("n0", kube_sim.create_join_token(), "first-vm")
    kube_sim.k3s_agent_join("n0", kube_sim.create_join_token(), "first-vm")  # same VM restarting: fine
    with pytest.raises(JoinRefused, match="Node password rejected") as refused:
        kube_sim.k3s_agent_join("n0", kube_sim.create_join_token(), "reimaged-vm")
    assert refused.value.reason == "node_password_rejected"
    kube_sim.cluster.delete_node("n0")  # the GC takes the password secret with the Node
    kube_sim.k3s_agent_join("n0", kube_sim.create_join_token(), "reimaged-vm")


def test_a_vm_rebooting_with_its_node_deleted_is_refused_if_someone_else_took_the_name(kube_sim):
    kube_sim.k3s_agent_join("n0", kube_sim.agent_token, "old")
    kube_sim.vm_stopped("n0")
    kube_sim.cluster.delete_node("n0")
    kube_sim.add_secret("kube-system", "n0.node-password.k3s", data={"hash": hash_password("new", 10)})
    kube_sim.vm_started("n0", "")
    assert kube_sim.node("n0") is None and kube_sim.refusals[-1] == ("n0", "node_password_rejected")


def test_password_hash_format_is_k3s_scrypt():
    stored = hash_password("pw", log_n=10)
    assert verify_password(stored, "pw") and not verify_password(stored, "other")
    assert not verify_password("$2:00:10:8:1:AAAA", "pw") and not verify_password("garbage", "pw")


def test_k3s_default_cost_is_verifiable():
    sim = KubeSim()
    assert sim.supervisor.scrypt_log_n == 15 and verify_password(hash_password("pw", 15), "pw")


def test_auto_join_registers_vms_as_they_start():
    with KubeSim(auto_join=True, scrypt_log_n=10) as sim:
        sim.vm_started("agents000001", "azure:///subscriptions/s/virtualMachines/1")
        node = sim.node("agents000001")
        assert node["spec"]["providerID"].endswith("/1") and sim.secret("kube-system", "agents000001.node-password.k3s")
        assert sim.registration()["agent_token"].startswith(f"K10{sim.ca_hash}::server:")


def test_the_master_vm_registers_a_control_plane_node(kube_sim):
    kube_sim.vm_started("master0", "azure:///subscriptions/s/virtualMachines/master0")
    kube_sim.vm_started("agents000000", "azure:///subscriptions/s/virtualMachines/0")  # waits for its join
    assert kube_sim.node("master0")["metadata"]["labels"]["node-role.kubernetes.io/control-plane"] == "true"
    assert kube_sim.node("agents000000") is None


def test_labels_the_kubelet_may_not_set_itself_are_refused_before_anything_is_written(kube_sim):
    with pytest.raises(JoinRefused) as refused:
        kube_sim.k3s_agent_join("n0", kube_sim.agent_token, "pw", labels={"node-role.kubernetes.io/worker": "true"})
    assert refused.value.reason == "node_labels_forbidden" and kube_sim.node("n0") is None
    kube_sim.k3s_agent_join("n0", kube_sim.agent_token, "pw", labels={"kubernetes.azure.com/scalesetpriority": "spot"})
