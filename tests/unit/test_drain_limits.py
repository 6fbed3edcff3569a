"""A drain inside its limits: a lease that outlives every call made under it, a claim that gives up
after a bounded number of lost races, a queue-triggered drain that ends under functionTimeout, pools
sized from one setting, and a crash in an in-process drain logged with its stack."""
import json
import logging
from datetime import timedelta

import pytest

from devhost.host_config import parse_function_timeout
from localenv.devhost_process import ROOT
from nodepool.core import limits
from nodepool.core.errors import Conflict
from nodepool.core.jitter import equal_jitter
from nodepool.core.limits import FUNCTION_TIMEOUT_S, KUBE_CALL_S, LONGEST_CALL_S, Pools
from nodepool.drain import state as L
from nodepool.drain.evict import Drainer, DrainPolicy
from nodepool.drain.service import QUEUE_RUN_S, ClaimContended, DrainService, DrainStarter, claim_drain
from nodepool.drain.state import DrainRequest
from nodepool.fakes.kube import FakeKube
from tests.unit.fakes_world import NOW, ManualClock, Plane
from tests.unit.test_drain_lease import NODE, plane, reported  # noqa: F401 (plane: a fixture)

SLOW_CALLS = ("pods_on", "evict", "delete_node", "delete_secret")


class SlowKube(FakeKube):
    """Every call takes the longest the Kubernetes adapter allows one to (KUBE_CALL_S), and before it
    starts notes how much of the drain's lease is left."""

    def __init__(self, clock: ManualClock, plane_registry):
        super().__init__(clock)
        self.manual, self.registry, self.lease_left = clock, plane_registry, []

    def __getattribute__(self, name):
        attr = super().__getattribute__(name)
        if name not in SLOW_CALLS:
            return attr

        def slow(*args, **kwargs):
            row = self.registry.event(NODE, "E1")
            if row is not None and row.lease_until is not None and row.status == L.DRAINING:
                self.lease_left.append((row.lease_until - self.manual.now()).total_seconds())
            self.manual.advance(KUBE_CALL_S)
            return attr(*args, **kwargs)
        return slow


def test_every_kubernetes_call_of_a_drain_fits_in_the_lease_left_when_it_starts():
    """On the old code (a 9 s lease renewed once per pass, one pass evicting 30 pods) the lease ran out
    mid-pass: a second drain could take over a live one. Evictions one after the other here (no
    eviction threads), the strictest case: every call must look at the lease first."""
    clock = ManualClock()
    slow = Plane()
    slow.kube = SlowKube(clock, slow.registry)
    slow.__post_init__()
    slow.register_master()
    slow.kube.add_node(NODE)
    slow.kube.add_pods(NODE, 30)
    reported(slow)
    message = DrainRequest.from_message(slow.queue.messages[0])
    request = DrainRequest(message.node, message.event_id, message.type, NOW + timedelta(minutes=15))
    claim = claim_drain(slow.registry, request, "me", clock, wait=False)
    outcome = Drainer(slow.registry, slow.kube, DrainPolicy(), clock).drain(request, lease=claim.lease)
    assert outcome["node_deleted"] and len(slow.kube.lease_left) > 30  # listings, 30 evictions, the deletes
    assert min(slow.kube.lease_left) >= KUBE_CALL_S + L.CLOCK_SLACK_S, slow.kube.lease_left


def test_the_lease_is_sized_from_the_calls_it_must_outlive():
    # not yet due for renewal: the longest call still fits; just renewed by the slowest write: so does it
    assert L.RENEW_WHEN_S >= LONGEST_CALL_S + L.CLOCK_SLACK_S
    assert L.LEASE_S - limits.STORAGE_CALL_S >= LONGEST_CALL_S + L.CLOCK_SLACK_S
    assert limits.ARM_CALL_S <= LONGEST_CALL_S and KUBE_CALL_S <= LONGEST_CALL_S


class ContendedRegistry:
    """Every claim loses its ETag race, as if other writers always moved first."""

    def __init__(self, row):
        self.row, self.saves = row, 0

    def event(self, node, event_id):
        return self.row

    def save_event(self, row):
        self.saves += 1
        raise Conflict("changed by another writer")


@pytest.mark.timeout(10)  # the old loop never ended
def test_a_claim_that_keeps_losing_races_gives_up_for_the_queue_to_retry():
    row = L.enqueued(L.EventRecord(NODE, "E1", "Preempt", NOW, NOW + timedelta(seconds=30)))
    registry = ContendedRegistry(row)
    request = DrainRequest(NODE, "E1", "Preempt", NOW + timedelta(seconds=30))
    with pytest.raises(ClaimContended):
        claim_drain(registry, request, "me", ManualClock(), wait=True)
    assert registry.saves == 8


def test_host_json_function_timeout_is_the_one_the_product_plans_for():
    host = json.loads((ROOT / "host.json").read_text())
    assert parse_function_timeout(host["functionTimeout"]) == FUNCTION_TIMEOUT_S


def test_every_deadline_the_product_sets_fits_a_queue_triggered_drain():
    from nodepool.autoscale.drain_path import LONGEST_NOTICE
    from nodepool.drain.events import LEAVE_DEADLINE_S
    assert LONGEST_NOTICE.total_seconds() <= QUEUE_RUN_S and LEAVE_DEADLINE_S <= QUEUE_RUN_S


def test_a_queued_drain_with_a_far_deadline_drains_at_once_and_ends_under_function_timeout(plane):  # noqa: F811
    """A PDB that never lets a pod go, and a deadline two hours out: the queue-triggered drain evicts
    what it may at once, and gives up on the rest before the host's functionTimeout would kill it."""
    plane.kube.add_pdb("all", selector={}, min_available="100%")
    reported(plane)
    clock = ManualClock()
    started = clock.now()
    far = DrainRequest(NODE, "E1", "Terminate", started + timedelta(hours=2))
    answer = DrainService(plane.registry, plane.cluster, DrainPolicy(), clock, queue=plane.queue).drain(far)
    assert answer["pods_left"] == 20 and not answer["node_deleted"]  # nothing forced, the Node stays
    assert (clock.now() - started).total_seconds() < FUNCTION_TIMEOUT_S
    assert (clock.now() - started).total_seconds() >= QUEUE_RUN_S - 60  # it tried for as long as it could


def test_every_pool_grows_with_the_one_setting():
    today = Pools(64)
    assert (today.drain_threads, today.eviction_threads, today.storage_connections, today.audit_writers) == \
        (256, 32, 96, 8)
    bigger = Pools(256)
    for pool in ("evicting", "drain_threads", "eviction_threads", "kube_connections", "storage_connections",
                 "audit_writers"):
        assert getattr(bigger, pool) > getattr(today, pool), pool
    # each connection pool holds every thread that may call through it at once
    assert bigger.kube_connections >= bigger.host_threads + bigger.evicting + bigger.eviction_threads
    assert bigger.storage_connections >= bigger.host_threads + bigger.drain_workers


def test_jitter_stays_between_half_and_all_of_the_wait():
    waits = [equal_jitter(4.0) for _ in range(200)]
    assert all(2.0 <= w <= 4.0 for w in waits) and len(set(waits)) > 100


def test_a_bug_in_an_in_process_drain_is_logged_with_its_stack(caplog):
    def crash(request, slot):
        raise ValueError("a bug")
    starter = DrainStarter(crash, Pools(4))
    with caplog.at_level(logging.WARNING, logger="nodepool"):
        starter.start(DrainRequest(NODE, "E1", "Preempt", NOW))
        starter.shutdown()
    [record] = [r for r in caplog.records if "in-process drain" in r.getMessage()]
    assert record.levelno == logging.ERROR and record.exc_info and record.exc_info[0] is ValueError

