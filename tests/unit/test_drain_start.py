"""The in-process drain pools: a drain short of time never queues behind ones with time to spare."""
import threading
from datetime import timedelta

from nodepool.drain.service import URGENT_S, DrainStarter
from nodepool.drain.state import DrainRequest
from tests.unit.fakes_world import NOW, ManualClock


def test_urgent_drains_have_their_own_threads_and_a_failure_kills_no_pool():
    ran: dict[str, str] = {}
    release = threading.Event()

    def drain(request: DrainRequest) -> dict:
        ran[request.node] = threading.current_thread().name
        if request.node == "patient":
            release.wait(5)  # the only patient thread is busy
        if request.node == "broken":
            raise RuntimeError("kube down")
        return {}

    starter = DrainStarter(drain, workers=4, clock=ManualClock(NOW))  # 4 urgent threads, 1 patient
    far, near = NOW + timedelta(seconds=URGENT_S + 15), NOW + timedelta(seconds=3)
    starter.start(DrainRequest("patient", "E1", "Preempt", far))
    starter.start(DrainRequest("broken", "E2", "Preempt", near))
    starter.start(DrainRequest("urgent", "E3", "Preempt", near))
    release.set()
    starter.shutdown()
    assert ran["patient"].startswith("drain_") and ran["urgent"].startswith("drain-urgent")
    assert set(ran) == {"patient", "broken", "urgent"}
