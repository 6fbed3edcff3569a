"""leave: POST /api/leave to the real app, a real drain in the simulated cluster, a bounded wait."""
from __future__ import annotations


def test_leave_waits_for_the_real_drain_and_the_node_is_removed(cluster, node_on):
    cluster.register_master()
    kube, agent = cluster.sim.kube, node_on(0)
    agent.join()
    pods = kube.add_pods(agent.name, 3, owner="ReplicaSet/web")
    result = agent.run("leave", "--leave-timeout", "20")
    assert result.code == 0, result.log
    assert "drained (state deleted): done" in result.log
    assert not [p for p in kube.pods(agent.name) if p["metadata"]["name"] in pods]
    assert kube.node(agent.name) is None
    row = cluster.node_row(agent.name)
    assert row["state"] == "deleted" and row["last_event_type"] == "Leave" and row.get("pods_left", 0) == 0, row


def test_leave_gives_up_at_its_bound_when_a_pdb_blocks_the_drain(cluster, node_on):
    cluster.register_master()
    kube, agent = cluster.sim.kube, node_on(0)
    agent.join()
    kube.add_pods(agent.name, 2, owner="ReplicaSet/web")
    kube.add_pdb("web", selector={"app": "web"}, min_available=2)
    try:
        result = agent.run("leave", "--leave-timeout", "2")
        assert result.code == 2, result.log
        assert "not finished after 2 s" in result.log
        assert result.seconds < 10  # bounded: shutdown goes on
        assert kube.node(agent.name)["spec"]["unschedulable"]  # cordoned at once all the same
        assert len(kube.pods(agent.name, namespace="default")) == 2
    finally:
        cluster.host.kill()  # its drain would otherwise hold the host's shutdown until the leave deadline


def test_leave_of_a_node_the_app_never_saw_is_quick(cluster, node_on):
    cluster.register_master()
    result = node_on(2).run("leave", "--leave-timeout", "10")
    assert result.code == 0, result.log
