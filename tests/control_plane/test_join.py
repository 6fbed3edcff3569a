"""Join through the whole product with the control plane real: the master registers the ServiceAccount
token of master.yml's manifest, the app (in the dev host) mints a bootstrap token into the real
apiserver with it, and the k3s agent's join is authenticated by the real apiserver with that token."""
from __future__ import annotations

import pytest

from sim.kube.k3s import JoinRefused


def test_an_agent_joins_with_the_token_the_app_minted_and_not_with_a_forged_one(make_stack, real_kube):
    stack = make_stack(sim_options={"kube": real_kube})
    stack.register_master()
    host = stack.hostnames()[0]
    answer = stack.call("POST", "join", body={"hostname": host})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    labels = dict(label.split("=", 1) for label in body["node_labels"])

    node = real_kube.k3s_agent_join(host, body["token"], "pw-" + host, labels)

    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == host
    assert real_kube.secret("kube-system", f"{host}.node-password.k3s") is not None
    forged = body["token"][:-16] + "0" * 16  # the same token id, another secret
    with pytest.raises(JoinRefused) as refused:
        real_kube.k3s_agent_join(host, forged, "pw-" + host, labels)
    assert refused.value.reason == "token_invalid"  # the apiserver answered 401
