"""In-process drains: a thread each, and a bound on how many evict at once by urgency, so a drain short
of time never waits behind ones with time to spare, and one only waiting for its pods holds no place."""
import threading
from datetime import timedelta

from nodepool.core.limits import Pools
from nodepool.drain.evict import Slot
from nodepool.drain.service import URGENT_S, DrainStarter
from nodepool.drain.state import DrainRequest
from tests.unit.fakes_world import NOW, ManualClock


def test_urgent_drains_evict_beside_patient_ones_and_a_failure_kills_nothing():
    events = {name: threading.Event() for name in ("patient", "second", "urgent")}
    release = threading.Event()

    def drain(request: DrainRequest, slot: Slot) -> dict:
        slot.take()  # its turn to evict
        if request.node in events:
            events[request.node].set()
        if request.node == "patient":
            release.wait(5)  # evicting: holds the only patient place
        if request.node == "broken":
            raise RuntimeError("kube down")
        slot.give_back()
        return {}

    starter = DrainStarter(drain, Pools(4), clock=ManualClock(NOW))  # 4 urgent places, 1 patient
    far, near = NOW + timedelta(seconds=URGENT_S + 15), NOW + timedelta(seconds=3)
    starter.start(DrainRequest("patient", "E1", "Preempt", far))
    assert events["patient"].wait(5)
    starter.start(DrainRequest("second", "E2", "Preempt", far))
    starter.start(DrainRequest("broken", "E3", "Preempt", near))
    starter.start(DrainRequest("urgent", "E4", "Preempt", near))
    assert events["urgent"].wait(5)  # not behind the patient one
    assert not events["second"].wait(0.2)  # the patient place is taken
    release.set()
    assert events["second"].wait(5)
    starter.shutdown()


def test_a_slot_is_given_back_once_and_only_if_taken():
    places = threading.Semaphore(1)
    slot = Slot(places)
    slot.give_back()  # not taken: nothing to give
    slot.take()
    slot.take()  # already held: no second place
    assert not places.acquire(blocking=False)
    slot.give_back()
    slot.give_back()
    assert places.acquire(blocking=False) and not places.acquire(blocking=False)
