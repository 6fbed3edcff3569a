"""Join policy: request validation, k3s bootstrap token format, the stale-node rule."""
import hashlib
import re
from datetime import datetime, timezone

import pytest

from nodepool.core.errors import Forbidden, InvalidInput, Unavailable
from nodepool.core.model import Instance, NodeState
from nodepool.core.records import NodeRecord
from nodepool.identity.instances import check_vm
from nodepool.join.cluster import Registration
from nodepool.join.request import BootstrapToken, JoinRequest, replaces_earlier

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize("name", ["agent000001", "a", "a-b", "x" * 63, "0abc"])
def test_rfc1123_labels_are_accepted(name):
    assert JoinRequest.from_json({"hostname": name}).hostname == name


@pytest.mark.parametrize("name", ["", "Agent1", "-a", "a-", "a.b", "a_b", "x" * 64, None, 7, "a b", "ä"])
def test_names_that_are_not_rfc1123_labels_are_refused(name):
    with pytest.raises(InvalidInput) as err:
        JoinRequest.from_json({"hostname": name})
    assert err.value.code == "invalid_hostname"


@pytest.mark.parametrize("body", [[], "x", None, {"hostname": "a", "vm_id": 5}, {"hostname": "a", "fresh": "yes"}])
def test_malformed_join_bodies_are_refused(body):
    with pytest.raises(InvalidInput):
        JoinRequest.from_json(body)


def test_bootstrap_token_matches_what_k3s_token_create_writes():
    token = BootstrapToken.mint(NOW, 900)
    assert re.fullmatch(r"[a-z0-9]{6}", token.token_id) and re.fullmatch(r"[a-z0-9]{16}", token.secret)
    data = token.secret_data("agent000001")
    assert data["token-id"] == token.token_id and data["token-secret"] == token.secret
    assert data["expiration"] == "2026-11-25T12:15:00Z"
    assert data["usage-bootstrap-authentication"] == data["usage-bootstrap-signing"] == "true"
    assert data["auth-extra-groups"] == "system:bootstrappers:k3s:default-node-token"
    assert token.k3s_token("f" * 64) == f"K10{'f' * 64}::{token.token_id}.{token.secret}"
    assert token.secret not in repr(token)


def test_an_unknown_instance_is_not_visible_yet_and_a_wrong_vm_id_is_forbidden():
    with pytest.raises(Unavailable) as unknown:  # a VM created seconds ago: ask again after Retry-After
        check_vm("agent000001", None, "vm-b")
    with pytest.raises(Forbidden) as mismatch:
        check_vm("agent000001", Instance("1", "agent000001", vm_id="vm-a"), "VM-B")
    assert (unknown.value.code, unknown.value.retry_after) == ("instance_not_visible", 10)
    assert mismatch.value.code == "vm_id_mismatch"


INSTANCE = Instance("1", "agent000001", vm_id="vm-b")


@pytest.mark.parametrize("row, request_, replaces", [
    (None, JoinRequest("agent000001", fresh=True), True),
    (None, JoinRequest("agent000001", "vm-b"), False),
    (NodeRecord("agent000001", NodeState.READY, vm_id="vm-b"), JoinRequest("agent000001", "vm-b"), False),
    (NodeRecord("agent000001", NodeState.READY, vm_id="vm-a"), JoinRequest("agent000001", "vm-b"), True),
    (NodeRecord("agent000001", NodeState.READY, vm_id="vm-b"), JoinRequest("agent000001", "vm-b", fresh=True), True),
], ids=["fresh-disk-never-seen", "name-unknown-to-us", "same-vm-reboot", "new-vm-same-name", "reimaged-disk"])
def test_a_new_vm_or_fresh_disk_replaces_the_earlier_one(row, request_, replaces):
    assert replaces_earlier(row, request_, INSTANCE) is replaces


def _registration(**over):
    body = {"server": "https://10.0.0.4:6443", "ca_cert": PEM, "ca_hash": hashlib.sha256(PEM.encode()).hexdigest(),
            "credential": "sa-token", "agent_token": "K10::x", "k3s_version": "v1.31.4+k3s1", **over}
    return Registration.from_json(body)


def test_valid_registration_keeps_secrets_out_of_repr():
    reg = _registration()
    assert reg.server == "https://10.0.0.4:6443" and "sa-token" not in repr(reg)
    assert "sa-token" not in repr(reg.to_cluster(NOW))


@pytest.mark.parametrize("over, code", [
    ({"server": "http://10.0.0.4:6443"}, "invalid_server"),
    ({"ca_hash": "0" * 64}, "ca_hash_mismatch"),
    ({"ca_hash": "xyz"}, "invalid_ca_hash"),
    ({"ca_cert": "not a pem"}, "invalid_ca_cert"),
    ({"credential": ""}, "invalid_credential"),
    ({"k3s_version": "latest"}, "invalid_k3s_version"),
])
def test_bad_registrations_are_refused_with_a_reason(over, code):
    with pytest.raises(InvalidInput) as err:
        _registration(**over)
    assert err.value.code == code
