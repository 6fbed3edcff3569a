"""What the demo measures about the story's world, for the report (demo/report.py): one sample of
Nodes by pool and state, pending pods and registry states; each preemption's outcome; the joins."""
from __future__ import annotations

from collections import Counter

from demo.report import Preemption, count_nodes


def probe(story) -> tuple[dict, int, dict, int]:
    """One sample for the report: Nodes by pool (scale set) and state, pending pods, registry states, the
    VMs of every scale set."""
    scale_set = {h.name: h.vm.name.rsplit("_", 1)[0] for h in story.agents()}  # ARM name: <vmss>_<instance id>
    with story.kube.cluster.lock:
        nodes = [n for n in story.kube.cluster.store.items("nodes") if n["metadata"]["name"] != "master0"]
        pending = sum(1 for p in story.kube.cluster.store.items("pods")
                      if not p["spec"].get("nodeName") and not p["metadata"].get("deletionTimestamp"))
    registry = Counter(row.state.value for row in story.app.registry.all_nodes())
    vms = sum(1 for world in list(story.sim.arm.worlds.values()) for vm in world.listing() if not vm.gone)
    return count_nodes(nodes, lambda name: scale_set.get(name, "other")), pending, dict(registry), vms


def record_preemption(story, node: str, event_id: str, notice: float, drained: bool) -> None:
    recorded = story.app.registry.event(node, event_id) is not None  # lost: never reached the events table
    row = story.app.registry.node(node)
    drained = drained and not (row and row.pods_left)  # pods not evicted in time went with the Node
    story.recorder.preemptions.append(Preemption(node, event_id, notice, drained, recorded))


def count_joins(story) -> None:
    """Every agent VM the story had (the first ones and the autoscaler's), and the joins the app recorded."""
    story.recorder.agents = sum(1 for name in story.helpers if name != "master0")
    joined = sorted(row.name for row in story.app.registry.all_nodes() if row.joined_at is not None)
    story.recorder.joins, story.facts["joined_vms"] = len(joined), joined
