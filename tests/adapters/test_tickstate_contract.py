"""One contract for the reconcile state store: the in-memory fake and Table Storage (Azurite)."""
import json
from datetime import datetime, timedelta, timezone

import pytest

from nodepool.adapters.tables import Tables
from nodepool.adapters.tickstate import TableTickStore, decode
from nodepool.core.errors import Conflict
from nodepool.fakes.tickstate import FakeTickStore
from nodepool.reconcile.model import ReconcileState
from nodepool.reconcile.plan import Baseline, NodeRepair, TickState, UnjoinedVm
from nodepool.reconcile.versions import Marks
from nodepool.settings import Settings

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["fake", "tables"])
def store(request):
    if request.param == "fake":
        return FakeTickStore()
    env = request.getfixturevalue("storage_env")
    return TableTickStore(Tables(Settings.from_env(env)), "test")


def pools(**states: TickState) -> ReconcileState:
    return ReconcileState(dict(states))


def test_before_the_first_save_the_state_is_empty_and_has_no_etag(store):
    assert store.load() == (ReconcileState(), None)


def test_a_state_round_trips_with_its_etag(store):
    main = TickState(repairs={"agents000001": NodeRepair("1", NOW, 2, NOW + timedelta(minutes=10))},
                     unjoined={"7": UnjoinedVm("agents000007", NOW)}, instances=Baseline(12, 3, NOW),
                     nodes=Baseline(13), missing={"agents000004": NOW}, reported_poison=frozenset({"m1"}))
    fallback = TickState(repairs={"regular000002": NodeRepair("2", NOW)}, instances=Baseline(3))
    state = ReconcileState({"agents": main, "regular": fallback},
                           Marks("9041", {"agents000001": "8999"}, (NOW, "8000")))
    etag = store.save(state, None)
    assert store.load() == (state, etag)


def test_a_state_of_one_scale_set_from_before_pools_loads_as_the_main_ones():
    legacy = TickState(repairs={"agents000001": NodeRepair("1", NOW)}, instances=Baseline(12))
    state = decode([json.dumps(legacy.to_dict())])
    assert state.pool("agents", main=True) == legacy and state.marks == Marks()
    assert state.pool("regular") == TickState()  # never another pool's


def test_a_save_on_a_stale_etag_or_a_second_insert_is_a_conflict(store):
    first = store.save(pools(agents=TickState(instances=Baseline(1))), None)
    store.save(pools(agents=TickState(instances=Baseline(2))), first)
    with pytest.raises(Conflict):
        store.save(pools(agents=TickState(instances=Baseline(3))), first)
    with pytest.raises(Conflict):
        store.save(pools(agents=TickState(instances=Baseline(4))), None)
    assert store.load()[0].pool("agents").instance_count == 2


def test_the_state_of_thousands_of_tracked_nodes_fits(store):
    big = ReconcileState({"agents": TickState(repairs={f"agents{i:06d}": NodeRepair(str(i), NOW, 1, NOW)
                                                       for i in range(3000)}, instances=Baseline(3000))},
                         Marks("123456789", {f"agents{i:06d}": str(100000000 + i) for i in range(3000)}))
    etag = store.save(big, None)
    assert store.load() == (big, etag)
    small = pools(agents=TickState(instances=Baseline(3)))  # shrinking drops the old chunks
    store.save(small, etag)
    assert store.load()[0] == small
