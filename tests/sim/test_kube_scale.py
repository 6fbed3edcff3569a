"""KubeSim holds a 1000-node, 20-pods-per-node pool that the reconcile benchmark lists every tick.

Bounds are loose (CI runs tests in parallel on two cores); here a full pod listing through
the adapter takes ~1 s, most of it JSON decoding in the client.
"""
from __future__ import annotations

import time

import pytest

from nodepool.adapters.kube import KubeClient
from sim.kube import KubeSim


@pytest.mark.slow
def test_a_thousand_nodes_with_twenty_pods_each_list_fast():
    with KubeSim(tick_s=0.05) as sim:
        started = time.perf_counter()
        for i in range(1000):
            sim.add_node(f"agents{i:06d}")
            sim.add_pods(f"agents{i:06d}", 19, owner=f"ReplicaSet/app{i % 50}", requests={"cpu": "100m"})
        seeded = time.perf_counter() - started
        kube = KubeClient(sim.url, sim.token, sim.ca_pem)
        started = time.perf_counter()
        nodes, pods = kube.nodes(), kube.pods()
        listed = time.perf_counter() - started
        started = time.perf_counter()
        on_one = kube.pods_on("agents000500")
        one = time.perf_counter() - started
    assert nodes.complete and len(nodes.items) == 1000
    assert pods.complete and len(pods.items) == 20_000 and len(on_one) == 20
    assert seeded < 10 and listed < 10 and one < 0.5, (seeded, listed, one)
