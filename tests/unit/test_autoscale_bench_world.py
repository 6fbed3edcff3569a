"""The autoscale benchmark's simulated cluster survives what the autoscaler may do to a noticed node."""
from tests.bench._autoscale_world import NOTICE_S, STEP_S, SimCluster, Workload
from tests.bench.autoscale import REGULAR, SPOT


def test_a_noticed_node_the_autoscaler_scaled_down_first_just_ends_its_notice():
    """Workload seed 10 once ended in StopIteration: the Preempt came due for a node already gone."""
    sim = SimCluster(Workload((), ((0.0, 0.0),)), (SPOT, REGULAR))
    spot = sim.sets["spot"]
    spot.set_capacity(1, spot.info().etag)
    while not sim.cluster.node_map:  # it boots and registers its Node
        sim.step()
    victim = next(iter(sim.cluster.node_map))
    sim.workload = Workload((), ((sim.t, 0.0),))
    sim._preempt = 0
    sim.step()
    assert victim in sim.notices.nodes
    spot.delete_instances([spot.vms[next(iter(spot.vms))].instance_id])  # the scale-down's delete
    sim.drains.removed(victim)
    for _ in range(NOTICE_S // STEP_S + 1):
        sim.step()
    assert victim not in sim.notices.nodes and sim.figures.preempted == 0
