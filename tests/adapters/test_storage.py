"""Table and queue adapters against Azurite."""
import pytest

from nodepool.adapters.queue_peek import QueuePeek
from nodepool.adapters.queues import Queues
from nodepool.adapters.tables import Tables
from nodepool.core.errors import AlreadyExists, Conflict, Unavailable
from nodepool.settings import Settings


@pytest.fixture
def settings(storage_env):
    return Settings.from_env(storage_env)


def test_table_is_created_on_first_use_and_again_is_harmless(settings):
    first, second = Tables(settings)("nodes"), Tables(settings)("nodes")
    first.insert({"PartitionKey": "c", "RowKey": "a", "state": "joining"})
    assert second.get("c", "a")["state"] == "joining"


def test_insert_of_existing_key_raises_already_exists(settings):
    table = Tables(settings)("nodes")
    table.insert({"PartitionKey": "c", "RowKey": "a"})
    with pytest.raises(AlreadyExists):
        table.insert({"PartitionKey": "c", "RowKey": "a"})


def test_update_with_stale_etag_raises_conflict_and_keeps_the_winner(settings):
    table = Tables(settings)("nodes")
    etag = table.insert({"PartitionKey": "c", "RowKey": "a", "state": "joining"})
    table.update({"PartitionKey": "c", "RowKey": "a", "state": "ready"}, etag)
    with pytest.raises(Conflict):
        table.update({"PartitionKey": "c", "RowKey": "a", "state": "left"}, etag)
    assert table.get("c", "a")["state"] == "ready"


def test_conditional_delete_with_stale_etag_raises_conflict(settings):
    table = Tables(settings)("nodes")
    etag = table.insert({"PartitionKey": "c", "RowKey": "a"})
    table.upsert({"PartitionKey": "c", "RowKey": "a", "n": 2})
    with pytest.raises(Conflict):
        table.delete("c", "a", etag=etag)
    table.delete("c", "a")
    table.delete("c", "a")  # already gone: not an error
    assert table.get("c", "a") is None


def test_pages_follow_continuation_tokens(settings):
    table = Tables(settings)("nodes")
    for i in range(5):
        table.insert({"PartitionKey": "c", "RowKey": f"n{i}"})
    seen, token = [], None
    while True:
        rows, token = table.page("PartitionKey eq @pk", {"pk": "c"}, 2, token)
        seen += [r["RowKey"] for r in rows]
        if not token:
            break
    assert seen == [f"n{i}" for i in range(5)]


def test_queue_is_created_on_first_send_and_carries_json(settings):
    queues = Queues(settings)
    queues.send("node-events", {"node": "agent000001", "type": "Preempt"})
    Queues(settings).send("node-events", {"node": "agent000002", "type": "Leave"})
    assert [m.body["node"] for m in QueuePeek(queues).peek("node-events")] == ["agent000001", "agent000002"]


def test_storage_down_is_unavailable(monkeypatch):
    conn = ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
            "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;")
    settings = Settings.from_env({"AzureWebJobsStorage": conn})
    with pytest.raises(Unavailable):
        Tables(settings).ping()
    with pytest.raises(Unavailable):
        Queues(settings).ping()
