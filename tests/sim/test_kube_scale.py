"""KubeSim holds a 1000-node, 20-pods-per-node pool that the reconcile benchmark lists every tick.

This checks that the listing is whole at that size; how fast it is belongs to `bench reconcile`
(list calls and tick time), never to a pass/fail test.
"""
from __future__ import annotations

import pytest

from nodepool.adapters.kube import KubeClient
from sim.kube import KubeSim


@pytest.mark.slow
def test_a_thousand_nodes_with_twenty_pods_each_list_whole():
    with KubeSim(tick_s=0.05) as sim:
        for i in range(1000):
            sim.add_node(f"agents{i:06d}")
            sim.add_pods(f"agents{i:06d}", 19, owner=f"ReplicaSet/app{i % 50}", requests={"cpu": "100m"})
        kube = KubeClient(sim.url, sim.token, sim.ca_pem)
        nodes, pods = kube.nodes(), kube.pods()
        on_one = kube.pods_on("agents000500")
    assert nodes.complete and len(nodes.items) == 1000
    assert pods.complete and len(pods.items) == 20_000 and len(on_one) == 20
