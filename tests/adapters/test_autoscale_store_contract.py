"""One contract for the autoscale state store: the in-memory fake and Table Storage (Azurite)."""
from datetime import datetime, timedelta, timezone

import pytest

from nodepool.adapters.autoscale_store import TableAutoscaleStore
from nodepool.adapters.tables import Tables
from nodepool.autoscale.model import AutoscaleState, Backoff, Draining
from nodepool.core.errors import Conflict
from nodepool.fakes.autoscale_store import FakeAutoscaleStore
from nodepool.settings import Settings

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["fake", "tables"])
def store(request):
    if request.param == "fake":
        return FakeAutoscaleStore()
    env = request.getfixturevalue("storage_env")
    return TableAutoscaleStore(Tables(Settings.from_env(env)), "test")


def test_before_the_first_save_the_state_is_empty_and_has_no_etag(store):
    assert store.load() == (AutoscaleState(), None)


def test_a_state_round_trips_with_its_etag(store):
    state = AutoscaleState(backoffs={"spot": Backoff("SkuNotAvailable", NOW + timedelta(hours=1), "no spot")},
                           unneeded_since={"spot000001": NOW}, last_scale_up=NOW,
                           draining={"spot000002": Draining("spot", "2", NOW)})
    etag = store.save(state, None)
    assert store.load() == (state, etag)


def test_a_state_larger_than_one_property_is_split_and_read_back(store):
    state = AutoscaleState(unneeded_since={f"spot{i:06d}": NOW for i in range(3000)})  # ~100 kB of JSON
    store.save(state, None)
    assert store.load()[0] == state


def test_a_save_on_a_stale_etag_or_a_second_insert_is_a_conflict(store):
    first = store.save(AutoscaleState(last_scale_up=NOW), None)
    store.save(AutoscaleState(), first)
    with pytest.raises(Conflict):
        store.save(AutoscaleState(last_scale_up=NOW), first)
    with pytest.raises(Conflict):
        store.save(AutoscaleState(), None)
