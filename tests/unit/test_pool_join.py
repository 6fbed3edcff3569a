"""VMs of an autoscale pool's other scale set (the Regular fallback) join and report events like the main set's."""
import pytest

from nodepool.core.errors import Forbidden, Unavailable
from nodepool.core.model import NodeState
from nodepool.fakes.scaleset import FakeScaleSet
from nodepool.identity.attestation import AttestationRefused
from tests.unit.fakes_world import AGENT, NOW, Plane
from tests.unit.test_node_identity import preempt


@pytest.fixture
def plane():
    plane = Plane(pools=(FakeScaleSet("regular", capacity=2),))
    plane.register_master()
    plane.fallback = plane.pools[0].instances().items[0]
    plane.kube.add_node(plane.fallback.name)
    return plane


def test_a_vm_of_the_second_scale_set_joins(plane):
    answer = plane.join(plane.fallback.name)
    assert answer["node_credential"].startswith("npc1.")
    record = plane.registry.node(plane.fallback.name)
    assert record.state is NodeState.JOINING and record.instance_id == plane.fallback.instance_id
    assert record.scale_set == "regular"  # instance ids repeat across scale sets: reconcile tells them apart
    assert plane.instances.lookup(plane.fallback.name, NOW).scale_set == "regular"


def test_its_events_are_matched_by_its_own_scale_sets_vm_name(plane):
    plane.join(plane.fallback.name)
    host, iid = plane.fallback.name, plane.fallback.instance_id
    claim = plane.claim(host)
    assert plane.events.record(preempt(host, f"agents_{iid}"), NOW, claim)["events"] == []
    answer = plane.events.record(preempt(host, f"regular_{iid}", "E2"), NOW, claim)
    assert [e["event_id"] for e in answer["events"]] == ["E2"] and answer["events"][0]["action"] == "drain"
    assert plane.kube.node(host).unschedulable


def test_a_name_in_neither_scale_set_is_not_admitted(plane):
    with pytest.raises(Forbidden) as err:
        plane.joins.nonce(AGENT, "intruder000000", NOW)
    assert err.value.code == "not_our_vm" and "start with agents, regular" in err.value.message
    assert plane.registry.node("intruder000000") is None


def test_a_name_either_scale_set_could_give_is_not_listed_yet(plane):
    for name in ("agents0000zz", "regular0000zz"):
        with pytest.raises(Unavailable) as err:
            plane.joins.nonce(AGENT, name, NOW)
        assert err.value.code == "instance_not_visible"


def test_a_vm_id_in_neither_scale_set_is_refused(plane):
    with pytest.raises((Forbidden, AttestationRefused)):
        plane.join(plane.fallback.name, vm="cccccccc-0000-4000-8000-00000000000c")
    assert plane.registry.node(plane.fallback.name) is None


def test_a_failing_listing_of_one_scale_set_is_unavailable_not_a_refusal(plane):
    plane.pools[0].fail(times=5)
    for host in (plane.fallback.name, "intruder000000"):
        with pytest.raises(Unavailable) as err:
            plane.joins.nonce(AGENT, host, NOW)
        assert err.value.code == "arm_unavailable"


def test_a_vm_of_the_main_scale_set_is_found_while_the_other_listing_fails(plane):
    main = plane.scaleset.instances().items[0].name
    plane.pools[0].fail(times=5)
    assert plane.instances.lookup(main, NOW).scale_set == "agents"
