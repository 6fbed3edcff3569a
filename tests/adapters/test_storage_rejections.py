"""A request storage refuses as such is the permanent StorageRejected (400), never a 503 to retry forever."""
import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError
from azure.data.tables._serialize import _add_entity_properties as _serialize_entity

from nodepool.adapters.tables import Tables, storage_errors
from nodepool.core.errors import PermanentError, StorageRejected, Unavailable
from nodepool.settings import Settings


def answered(status: int) -> HttpResponseError:
    err = HttpResponseError(message=f"storage answered {status}")
    err.status_code = status
    return err


@pytest.mark.parametrize("status", [400, 413, 414, 431])
def test_a_rejected_request_is_permanent(status):
    with pytest.raises(StorageRejected) as caught, storage_errors("events/n/e"):
        raise answered(status)
    assert isinstance(caught.value, PermanentError) and caught.value.code == "storage_rejected"


@pytest.mark.parametrize("status", [408, 429, 500, 503])
def test_an_outage_or_throttling_stays_transient(status):
    with pytest.raises(Unavailable), storage_errors("events/n/e"):
        raise answered(status)


def test_an_unreachable_service_stays_transient():
    with pytest.raises(Unavailable), storage_errors("events/n/e"):
        raise ServiceRequestError("connection refused")


def test_the_sdk_refusing_a_key_before_sending_is_permanent():
    with pytest.raises(StorageRejected), storage_errors("events/n/e"):
        _serialize_entity({"PartitionKey": "n", "RowKey": object()})  # the SDK's own check, in its own code


def test_our_own_bug_inside_a_storage_call_surfaces_as_itself():
    """A TypeError of ours is a bug with a stack, not "storage cannot hold this request" (a 400)."""
    with pytest.raises(TypeError, match="can only concatenate"), storage_errors("events/n/e"):
        _ = "retries: " + 3  # type: ignore[operator]


@pytest.fixture
def table(storage_env):
    return Tables(Settings.from_env(storage_env))("events")


@pytest.mark.parametrize("key", ["a/b", "a#b", "a?b", "a\\b", "a\x07b", "x" * 2000])
def test_azurite_refusing_a_key_is_a_rejection_not_an_outage(table, key):
    try:
        table.insert({"PartitionKey": "node", "RowKey": key})
    except Unavailable as err:
        pytest.fail(f"key {key[:10]!r}: storage rejection mapped to a retryable {err.code}")
    except StorageRejected:
        return
    assert table.get("node", key) is not None  # Azurite accepted it: then it must be readable
