"""One contract for the Registry port: the in-memory fake and Table Storage (Azurite)."""
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from nodepool.adapters.registry import TableRegistry
from nodepool.adapters.tables import Tables
from nodepool.core.errors import AlreadyExists, Conflict
from nodepool.core.model import NodeState
from nodepool.core.records import ClusterInfo, JoinTokenRecord, NodeRecord
from nodepool.drain.state import EventRecord
from nodepool.fakes.registry import FakeRegistry
from nodepool.settings import Settings

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["fake", "tables"])
def registry(request):
    if request.param == "fake":
        return FakeRegistry()
    env = request.getfixturevalue("storage_env")
    return TableRegistry(Tables(Settings.from_env(env)), "test")


def test_cluster_round_trips_with_its_secrets(registry):
    assert registry.cluster() is None
    info = ClusterInfo("https://10.0.0.4:6443", "a" * 64, "PEM", "v1.31.4+k3s1", NOW, "sa-token", "K10::agent")
    registry.save_cluster(info)
    assert registry.cluster() == info


def test_new_node_is_inserted_once(registry):
    saved = registry.save_node(NodeRecord("agent000001", NodeState.JOINING, instance_id="1", joined_at=NOW))
    assert saved.etag
    assert registry.node("agent000001") == saved
    with pytest.raises(AlreadyExists):
        registry.save_node(NodeRecord("agent000001", NodeState.JOINING))


def test_update_with_stale_etag_is_a_conflict(registry):
    first = registry.save_node(NodeRecord("agent000001", NodeState.JOINING))
    registry.save_node(replace(first, state=NodeState.READY))
    with pytest.raises(Conflict):
        registry.save_node(replace(first, state=NodeState.LEFT))
    assert registry.node("agent000001").state is NodeState.READY


def test_node_fields_round_trip(registry):
    record = NodeRecord("agent000002", NodeState.DRAINING, instance_id="2", vm_id="abc", token_id="tok123",
                        joined_at=NOW, deadline=NOW + timedelta(seconds=30), pods_left=3, last_event_id="E1")
    saved = registry.save_node(record)
    assert registry.node("agent000002") == saved == record


def test_nodes_are_paged(registry):
    for i in range(5):
        registry.save_node(NodeRecord(f"agent00000{i}", NodeState.READY))
    names, token = [], None
    while True:
        rows, token = registry.nodes_page(2, token)
        names += [r.name for r in rows]
        if not token:
            break
    assert names == [f"agent00000{i}" for i in range(5)]
    assert [r.name for r in registry.all_nodes()] == names


def test_a_node_row_is_deleted_only_if_unchanged(registry):
    first = registry.save_node(NodeRecord("agent000001", NodeState.DELETED))
    second = registry.save_node(replace(first, note="touched"))
    with pytest.raises(Conflict):
        registry.delete_node("agent000001", first.etag)
    assert registry.node("agent000001") == second
    registry.delete_node("agent000001", second.etag)
    assert registry.node("agent000001") is None
    registry.delete_node("agent000001", second.etag)  # already gone: not an error


def test_a_node_row_is_deleted_unconditionally_without_etag(registry):
    registry.save_node(NodeRecord("agent000002", NodeState.DELETED))
    registry.delete_node("agent000002", None)
    assert registry.node("agent000002") is None


def test_join_tokens_are_recorded_listed_and_deleted(registry):
    token = JoinTokenRecord("abc123", "agent000001", "1", NOW, NOW + timedelta(minutes=15))
    registry.add_join_token(token)
    assert registry.join_tokens() == [token]
    registry.delete_join_token("abc123")
    registry.delete_join_token("abc123")
    assert registry.join_tokens() == []


def test_an_event_is_recorded_once_and_updated_after(registry):
    event = EventRecord("agent000001", "E-1", "Preempt", NOW, NOW + timedelta(seconds=30), NOW + timedelta(seconds=30))
    added = registry.add_event(event)
    with pytest.raises(AlreadyExists):
        registry.add_event(event)
    saved = registry.save_event(replace(added, status="enqueued"))
    assert registry.event("agent000001", "E-1") == replace(event, status="enqueued")
    assert registry.event("agent000001", "E-1").etag == saved.etag != added.etag
    assert registry.event("agent000001", "E-2") is None


def test_an_event_row_is_a_lease_a_stale_etag_loses(registry):
    """Two drains claim one event from the same read: exactly one wins; then it finishes."""
    row = registry.add_event(EventRecord("agent000001", "E-1", "Preempt", NOW, NOW + timedelta(seconds=30)))
    mine = registry.save_event(replace(row, status="draining", owner="a", attempt=1, lease_until=NOW))
    with pytest.raises(Conflict):
        registry.save_event(replace(row, status="draining", owner="b", attempt=1, lease_until=NOW))
    registry.save_event(replace(mine, status="done", lease_until=None, finished_at=NOW, pods_left=3, removed=True))
    done = registry.event("agent000001", "E-1")
    assert (done.status, done.owner, done.pods_left, done.removed, done.lease_until) == ("done", "a", 3, True, None)


def test_old_events_are_found_for_expiry_and_go_whole(registry):
    registry.add_event(EventRecord("a", "old", "Freeze", NOW - timedelta(days=8), NOW))
    registry.add_event(EventRecord("a", "new", "Freeze", NOW, NOW))
    assert [e.event_id for e in registry.events_received(before=NOW - timedelta(days=7))] == ["old"]
    registry.delete_event("a", "old")
    registry.delete_event("a", "old")  # gone already: fine
    assert registry.events_received(before=NOW - timedelta(days=7)) == [] and registry.event("a", "old") is None
    assert registry.add_event(EventRecord("a", "old", "Freeze", NOW, NOW))  # the key is free again, index too


def test_events_are_found_by_when_they_were_received_oldest_first(registry):
    for minutes, node in ((-30, "a"), (-2, "c"), (-5, "b"), (0, "d")):
        registry.add_event(EventRecord(node, f"E{minutes}", "Preempt", NOW + timedelta(minutes=minutes),
                                       NOW + timedelta(minutes=minutes, seconds=30)))
    recent = registry.events_received(since=NOW - timedelta(minutes=10))
    assert [(e.node, e.type, e.deadline) for e in recent] == [
        ("b", "Preempt", NOW - timedelta(minutes=5) + timedelta(seconds=30)),
        ("c", "Preempt", NOW - timedelta(minutes=2) + timedelta(seconds=30)),
        ("d", "Preempt", NOW + timedelta(seconds=30))]
    assert [e.node for e in registry.events_received(since=NOW - timedelta(minutes=10), before=NOW)] == ["b", "c"]
    assert [e.node for e in registry.events_received()] == ["a", "b", "c", "d"]


def test_a_refused_event_record_leaves_no_index_entry_behind(registry):
    """Recorded twice (the dedup point): the second is refused whole, its own index entry included."""
    first = EventRecord("a", "E1", "Preempt", NOW, NOW + timedelta(seconds=30))
    registry.add_event(first)
    with pytest.raises(AlreadyExists):
        registry.add_event(replace(first, received_at=NOW + timedelta(seconds=3)))  # a retried report
    assert [(e.event_id, e.received_at) for e in registry.events_received()] == [("E1", NOW)]


def test_two_clusters_sharing_the_events_table_never_see_each_others(storage_env):
    tables = Tables(Settings.from_env(storage_env))
    one, two = TableRegistry(tables, "one"), TableRegistry(tables, "two")
    one.add_event(EventRecord("agent000001", "E1", "Preempt", NOW, NOW))
    two.add_event(EventRecord("agent000001", "E1", "Reboot", NOW, NOW))  # same node name, same event id
    assert [e.type for e in one.events_received()] == ["Preempt"] and two.event("agent000001", "E1").type == "Reboot"
    two.delete_event("agent000001", "E1")
    assert one.event("agent000001", "E1") is not None
