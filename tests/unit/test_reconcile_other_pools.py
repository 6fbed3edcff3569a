"""A node that joined from another scale set is never judged by this one's listing, where its instance
id names another VM or none: it is its own scale set's, when the app manages that one (reconcile
plans every managed scale set: tests/unit/test_reconcile_fresh_observations.py), else nobody's."""
from datetime import datetime, timedelta, timezone

import pytest

from nodepool.core.model import NodeState
from nodepool.core.records import NodeRecord
from tests.unit.reconcile_pool import Pool

FALLBACK = "regular000007"


def _with_fallback_node(scale_set: str) -> Pool:
    """A NotReady Node (rebooting, partitioned) whose row says instance 7: the main set has no 7."""
    pool = Pool(3)
    pool.kube.add_node(FALLBACK, ready=False)
    pool.registry.save_node(NodeRecord(FALLBACK, NodeState.READY, instance_id="7", scale_set=scale_set,
                                       updated_at=datetime.now(timezone.utc) - timedelta(minutes=30)))
    pool.forget_writes()
    return pool


@pytest.mark.parametrize("scale_set", ["regular", "REGULAR"])
def test_a_node_of_another_scale_set_is_neither_probed_nor_deleted(scale_set):
    pool = _with_fallback_node(scale_set)
    asked = []
    pool.scaleset.get_instance = lambda iid: asked.append(iid)  # would answer None: ARM's 404
    for minutes in (0, 20, 40):  # past the ghost hold time too
        pool.tick(after=timedelta(minutes=minutes))
    assert asked == [] and FALLBACK in {n.name for n in pool.kube.nodes().items}
    assert pool.registry.node(FALLBACK).state is NodeState.READY
    assert pool.writes()["kube"] == 0


def test_a_row_from_before_pools_is_the_main_scale_sets_and_still_judged():
    """The contrast: the same row without a scale set is this one's, and ARM's 404 removes the ghost."""
    pool = _with_fallback_node("")
    pool.tick()  # the probe
    pool.tick()
    assert FALLBACK not in {n.name for n in pool.kube.nodes().items}
    assert pool.registry.node(FALLBACK).state is NodeState.DELETED
