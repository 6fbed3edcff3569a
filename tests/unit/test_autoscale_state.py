"""The autoscale state survives the store's JSON round trip; a row that is not ours reads as empty."""
import pytest

from nodepool.autoscale.model import AutoscaleState, Backoff, Draining
from nodepool.autoscale.state import decode, encode
from nodepool.core.errors import Conflict
from nodepool.fakes.autoscale_store import FakeAutoscaleStore
from tests.unit.autoscale_world import NOW, ago

FULL = AutoscaleState(backoffs={"spot": Backoff("SkuNotAvailable", NOW, "pool spot: SkuNotAvailable")},
                      unneeded_since={"spot000001": ago(3)}, last_scale_up=ago(1),
                      draining={"spot000002": Draining("spot", "2", ago(0.5))})


@pytest.mark.parametrize("state", [AutoscaleState(), FULL], ids=["empty", "full"])
def test_round_trip(state):
    assert decode(encode(state)) == state


@pytest.mark.parametrize("text", [None, "", "{not json", '{"v": 99}', '{"v": 1}', "[]"])
def test_text_that_is_not_our_state_decodes_empty(text):
    assert decode(text) == AutoscaleState()


def test_the_store_refuses_a_save_from_a_stale_etag():
    store = FakeAutoscaleStore()
    etag = store.save(FULL, None)
    store.save(AutoscaleState(), etag)
    with pytest.raises(Conflict):
        store.save(FULL, etag)
    assert store.load()[0] == AutoscaleState()
