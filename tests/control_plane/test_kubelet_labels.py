"""The stand-ins' rule for the labels a kubelet may give itself (sim/kube/k3s.py check_node_labels, used
by KubeSim and RealKube at join) agrees with the real apiserver's NodeRestriction, label by label."""
from __future__ import annotations

from sim.kube.k3s import JoinRefused, check_node_labels

LABELS = ("node-role.kubernetes.io/worker", "node-restriction.kubernetes.io/pool", "example.k8s.io/pool",
          "node.kubernetes.io/pool", "topology.kubernetes.io/zone", "kubernetes.azure.com/scalesetpriority",
          "nodepool/instance-id")


def stand_in_allows(label: str) -> bool:
    try:
        check_node_labels({label: "x"})
    except JoinRefused:
        return False
    return True


def real_allows(real_kube, i: int, label: str) -> bool:
    try:
        real_kube.kubelets.register(f"label-{i}", labels={label: "x"})
    except RuntimeError as err:
        assert " 403 " in str(err), err
        return False
    return True


def test_the_stand_in_refuses_exactly_the_labels_node_restriction_refuses(real_kube):
    verdicts = {label: (stand_in_allows(label), real_allows(real_kube, i, label)) for i, label in enumerate(LABELS)}
    assert all(ours == real for ours, real in verdicts.values()), verdicts
    assert not verdicts["node-role.kubernetes.io/worker"][1] and verdicts["nodepool/instance-id"][1]
