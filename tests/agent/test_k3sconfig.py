"""The k3s agent config rendered from a join response."""
from __future__ import annotations

import json
import os
import stat

import pytest

from agent.k3sconfig import BadJoinResponse, full_token, kubelet_may_set, labels, render, taints, write_private

CA = "ab" * 32
JOIN = {"server": "https://10.0.0.4:6443", "token": "abcdef.0123456789abcdef", "ca_hash": CA,
        "k3s_version": "v1.30.4+k3s1", "node_labels": ["nodepool/pool=agents"],
        "node_taints": ["kubernetes.azure.com/scalesetpriority=spot:NoSchedule"], "expires_at": "..."}


def test_config_has_server_pinned_token_name_labels_and_taints():
    text, dropped = render(JOIN, "agent000001", ["extra=1"])
    assert dropped == []
    assert text.splitlines()[1:] == [
        'server: "https://10.0.0.4:6443"',
        'token: "K10%s::abcdef.0123456789abcdef"' % CA,
        'node-name: "agent000001"',
        "node-label:", '  - "nodepool/pool=agents"', '  - "extra=1"',
        "node-taint:", '  - "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"',
    ]


def test_labels_the_kubelet_may_not_set_are_dropped_and_reported():
    answer = dict(JOIN, node_labels={"node-role.kubernetes.io/agent": "true", "node.kubernetes.io/pool": "a",
                                     "kubernetes.azure.com/scalesetpriority": "spot"})
    text, dropped = render(answer, "n1")
    assert dropped == ["node-role.kubernetes.io/agent=true"]
    assert '"node.kubernetes.io/pool=a"' in text and '"kubernetes.azure.com/scalesetpriority=spot"' in text


@pytest.mark.parametrize("label, allowed", [
    ("nodepool/pool=agents", True), ("plain=1", True), ("kubernetes.azure.com/x=1", True),
    ("node-role.kubernetes.io/worker=true", False), ("foo.k8s.io/x=1", False), ("kubernetes.io/hostname=n", True),
    ("topology.kubernetes.io/zone=1", True), ("kubelet.kubernetes.io/x=1", True), ("k8s.io/x", False),
])
def test_kubelet_self_labelling_rules(label, allowed):
    assert kubelet_may_set(label) is allowed


def test_labels_and_taints_accept_strings_or_objects():
    assert labels({"a": "1"}) == ["a=1"]
    assert labels(["a=1", "", 3]) == ["a=1"]
    assert labels(None) == []
    assert taints([{"key": "spot", "value": "true", "effect": "NoExecute"}, {"key": "gpu"}, "x=y:NoSchedule",
                   "bad:Sometimes", {"value": "nokey"}]) == ["spot=true:NoExecute", "gpu:NoSchedule", "x=y:NoSchedule"]


def test_token_is_pinned_to_the_ca_unless_already_in_secure_form():
    assert full_token("id.secret", CA) == "K10%s::id.secret" % CA
    assert full_token("K10abc::server:pw", CA) == "K10abc::server:pw"
    assert full_token("id.secret", "") == "id.secret"


@pytest.mark.parametrize("answer", [dict(JOIN, server="http://x:6443"), dict(JOIN, server=None),
                                    dict(JOIN, token=""), {k: v for k, v in JOIN.items() if k != "token"}])
def test_unusable_join_answers_are_refused(answer):
    with pytest.raises(BadJoinResponse):
        render(answer, "n1")


def test_values_are_quoted_so_yaml_cannot_be_injected():
    text, _ = render(dict(JOIN, node_labels=['a=b"\nserver: evil']), "n1")
    assert 'evil' in text and text.count("\nserver:") == 1
    assert json.loads(text.splitlines()[-3][4:]) == 'a=b"\nserver: evil'


def test_config_is_written_atomically_for_root_only(tmp_path):
    path = tmp_path / "rancher" / "k3s" / "config.yaml"
    write_private(str(path), "a: 1\n")
    write_private(str(path), "a: 2\n")
    assert path.read_text() == "a: 2\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.listdir(path.parent) == ["config.yaml"]
