"""Real kubectl against the real control plane: the operator's day of tests/kubectl/, where it does not
reach into the stand-in. Left out: the server version (a k3s one there), the drain (it needs k3s's
svclb DaemonSet), `wait --for` and server-side apply (they drive KubeSim's kubelets and store
directly) and the local stack's kubeconfig (the stand-in's own)."""
from __future__ import annotations

import json

import pytest

from localenv.kubeconfig import kubeconfig
from tests.kubectl import test_kubectl as operator_day
from tests.kubectl.conftest import Kubectl, kubectl_binary  # noqa: F401 (the fixture, with its kubectl versions)

PORTABLE = ("test_get_and_describe_print_tables_of_nodes_and_pods",
            "test_label_annotate_cordon_and_uncordon_change_the_node", "test_get_pdb_prints_what_the_budget_allows",
            "test_delete_node_removes_it", "test_get_nodes_watch_sees_a_cordon",
            "test_auth_can_i_asks_a_self_subject_access_review", "test_a_replace_from_a_stale_read_is_a_conflict")
globals().update({name: getattr(operator_day, name) for name in PORTABLE})


@pytest.fixture
def cluster(seed):
    seed.add_node("agent-0")
    seed.add_node("agent-1")
    return seed


@pytest.fixture
def kubectl(kubectl_binary, cluster, control_plane, namespace, tmp_path) -> Kubectl:  # noqa: F811
    """The admin's kubeconfig, its context in this test's namespace (agent-0 and agent-1 registered)."""
    config = kubeconfig(control_plane.url, control_plane.token, control_plane.ca_pem)
    config["contexts"][0]["context"]["namespace"] = namespace
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(config))
    return Kubectl(kubectl_binary, path)
