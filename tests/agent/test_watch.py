"""`watch` against loopback IMDS and API stand-ins, with a clock that moves only when it sleeps."""
from __future__ import annotations

import pytest

from agent import watch
from tests.agent.stubs import event

ME = "agents_1"
NODE_PATH = "/api/nodes/agent000001"
ACCEPTED = (202, {}, {"deadline": "2030-01-01T00:00:25Z", "event_id": "E1"})
DRAINING = (200, {}, {"name": "agent000001", "state": "draining"})


def released(event_id="E1", state="deleted"):
    """GET /api/nodes/{name} once every node the event names is drained: `acknowledge` names it."""
    return (200, {}, {"name": "agent000001", "state": state, "last_event_id": event_id, "acknowledge": event_id})


def _argv(url, *extra):
    return ["watch", "--api-url", url, "--node-name", "agent000001", *extra]


def _until(clock, limit, done=lambda: False, script=()):
    """A stop() for the watcher: runs timed actions (offset, fn) and stops when done() or at limit."""
    t0, pending = clock.now, sorted(script, key=lambda item: item[0])

    def stop():
        while pending and clock.now - t0 >= pending[0][0]:
            pending.pop(0)[1]()
        return done() or clock.now - t0 > limit

    return stop


def test_preempt_is_forwarded_at_once_and_acknowledged_when_the_app_says_so(api, imds, clock, run_agent):
    t0 = clock.now
    imds.publish([event("E1", [ME], not_before=t0 + 30), event("X", ["agents_7"], not_before=t0 + 30)])
    forwarded_at = []
    api.on("POST", "/api/events", lambda body: (forwarded_at.append(clock.now), ACCEPTED)[1])
    api.on("GET", NODE_PATH, DRAINING, DRAINING, DRAINING, released())
    acked_at = []
    result = run_agent(*_argv(api.url), stop=_until(clock, 60, lambda: bool(imds.acks) and not acked_at.append(
        clock.now)))
    assert imds.acks == [["E1"]]
    assert forwarded_at == [t0]  # on the first tick: the event appeared and was forwarded
    (forward,) = api.calls("POST", "/api/events")
    assert forward.body["hostname"] == "agent000001" and "withdrawn" not in forward.body
    assert forward.body["document"]["DocumentIncarnation"] == imds.incarnation
    assert [e["EventId"] for e in forward.body["document"]["Events"]] == ["E1"]  # ours only, not agents_7's
    assert len(api.calls("GET", NODE_PATH)) == 4
    # four drain polls, a sixth of the notice apart (on the half-second ticks), then the tick that acks
    assert acked_at[0] - t0 <= 4 * (29 / watch.DRAIN_POLLS_PER_NOTICE + watch.POLL_S) + watch.POLL_S < 25
    assert "every node it names is drained" in result.log


@pytest.mark.parametrize("notice, spacing", [(30, 29 / watch.DRAIN_POLLS_PER_NOTICE),
                                             (8, 7 / watch.DRAIN_POLLS_PER_NOTICE), (3, watch.DRAIN_POLL_S)])
def test_drain_polls_are_spaced_by_the_notice(api, imds, clock, run_agent, notice, spacing):
    """A mass eviction's agents all poll, for as long as pods take to stop: every sixth of the notice
    (NotBefore is in whole seconds), every second at the most."""
    t0 = clock.now
    imds.publish([event("E1", [ME], not_before=t0 + notice)])
    api.on("POST", "/api/events", ACCEPTED)
    polled = []
    api.on("GET", NODE_PATH, *[lambda body: (polled.append(clock.now), DRAINING)[1]] * 3, released())
    run_agent(*_argv(api.url), stop=_until(clock, 60, lambda: bool(imds.acks)))
    assert polled and polled[0] - t0 >= watch.DRAIN_POLL_S - 0.01  # not in the tick of the forward itself
    gaps = [b - a for a, b in zip(polled, polled[1:])]
    assert gaps and all(abs(gap - spacing) <= watch.POLL_S for gap in gaps), gaps


@pytest.mark.parametrize("status", [
    DRAINING,                                                                   # the drain did not finish
    (200, {}, {"state": "deleted", "last_event_id": "E1", "drained_at": "2030-01-01T00:00:00Z"}),  # only ours is
    (503, {"Retry-After": "1"}, {"error": "storage_unavailable", "message": "try later"}),  # status unknown
], ids=["draining", "drained_but_not_released", "status_unavailable"])
def test_an_event_the_app_does_not_release_is_never_acknowledged(api, imds, clock, run_agent, status):
    """Azure proceeds at NotBefore by itself: acknowledging before would only cut the drain (and any other
    VM's the event names) short. The old rule acknowledged at NotBefore minus up to 5 s."""
    t0 = clock.now
    imds.publish([event("E1", [ME], not_before=t0 + 20)])
    api.on("POST", "/api/events", ACCEPTED)
    api.on("GET", NODE_PATH, status)
    run_agent(*_argv(api.url), stop=_until(clock, 30))
    assert imds.acks == [] and len(api.calls("GET", NODE_PATH)) >= 3


def test_nothing_is_acknowledged_when_the_app_is_down(imds, clock, run_agent, dead_url):
    t0 = clock.now
    imds.publish([event("E1", [ME], not_before=t0 + 30)])
    result = run_agent(*_argv(dead_url), stop=_until(clock, 40))
    assert imds.acks == []
    assert result.log.count("control plane unreachable") <= 2  # repeated failures are not logged every second


def test_events_for_other_instances_are_ignored(api, imds, clock, run_agent):
    t0 = clock.now
    imds.publish([event("X", ["agents_2", "agents_10"], not_before=t0 + 10)])
    result = run_agent(*_argv(api.url), stop=_until(clock, 20))
    assert api.calls("POST", "/api/events") == [] and imds.acks == []
    assert "not us: ignored" in result.log and result.log.count("X (Preempt)") == 1


def test_incarnation_changes_drive_what_is_seen(api, imds, clock, run_agent):
    t0 = clock.now
    api.on("POST", "/api/events", ACCEPTED)
    api.on("GET", NODE_PATH, DRAINING)
    e1, e2 = event("E1", [ME], not_before=t0 + 600), event("E2", [ME], kind="Reboot", not_before=t0 + 900)
    script = [
        (3, lambda: imds.publish([e1])),               # incarnation 2: a new event
        (6, lambda: imds.publish([])),                 # incarnation 3: withdrawn before its time
        (9, lambda: imds.publish([e2], bump=False)),   # same incarnation: IMDS promises nothing changed
        (12, lambda: imds.publish([e2])),              # incarnation 4: now it counts
    ]
    result = run_agent(*_argv(api.url), stop=_until(clock, 15, script=script))
    calls = api.calls("POST", "/api/events")
    forwarded = [[e["EventId"] for e in c.body["document"]["Events"]] for c in calls]
    assert forwarded == [["E1"], [], ["E2"]]
    assert [c.body.get("withdrawn") for c in calls] == [None, ["E1"], None]  # the withdrawal, told once
    assert imds.acks == []
    assert "E1 (Preempt) withdrawn by Azure" in result.log


def test_a_withdrawal_is_told_once_the_app_answers(api, imds, clock, run_agent):
    t0 = clock.now
    down = (503, {}, {"error": "unavailable", "message": "cold start"})
    api.on("POST", "/api/events", ACCEPTED, down, down, ACCEPTED)
    api.on("GET", NODE_PATH, DRAINING)
    script = [(2, lambda: imds.publish([]))]
    imds.publish([event("E1", [ME], not_before=t0 + 60)])
    run_agent(*_argv(api.url), stop=_until(clock, 6, script=script))
    told = [c.body.get("withdrawn") for c in api.calls("POST", "/api/events")]
    assert told == [None, ["E1"], ["E1"], ["E1"]]


def test_an_event_gone_after_its_not_before_is_not_a_withdrawal(api, imds, clock, run_agent):
    t0 = clock.now
    api.on("POST", "/api/events", ACCEPTED)
    api.on("GET", NODE_PATH, DRAINING)
    imds.publish([event("E1", [ME], kind="Reboot", not_before=t0 + 2)])
    run_agent(*_argv(api.url), stop=_until(clock, 6, script=[(4, lambda: imds.publish([]))]))
    assert [c.body.get("withdrawn") for c in api.calls("POST", "/api/events")] == [None]


def test_freeze_is_forwarded_but_never_acknowledged(api, imds, clock, run_agent):
    t0 = clock.now
    imds.publish([event("F1", [ME], kind="Freeze", not_before=t0 + 5)])
    api.on("POST", "/api/events", (202, {}, {"recorded": True}))
    run_agent(*_argv(api.url), stop=_until(clock, 15))
    assert len(api.calls("POST", "/api/events")) == 1
    assert api.calls("GET", NODE_PATH) == [] and imds.acks == []


def test_an_event_the_control_plane_refuses_is_not_resent_and_not_acknowledged(api, imds, clock, run_agent):
    t0 = clock.now
    imds.publish([event("E1", [ME], kind="Terminate", not_before=t0 + 12)])
    api.on("POST", "/api/events", (400, {}, {"error": "bad_document", "message": "no such instance"}))
    result = run_agent(*_argv(api.url), stop=_until(clock, 20))
    assert len(api.calls("POST", "/api/events")) == 1  # a refusal is final: not re-sent every second
    assert imds.acks == []  # Azure proceeds at NotBefore
    assert "bad_document" in result.log


def test_forwarding_is_retried_until_the_app_answers(api, imds, clock, run_agent):
    t0 = clock.now
    imds.publish([event("E1", [ME], not_before=t0 + 60)])
    down = (503, {}, {"error": "unavailable", "message": "cold start"})
    api.on("POST", "/api/events", down, down, ACCEPTED)
    api.on("GET", NODE_PATH, released())
    run_agent(*_argv(api.url), stop=_until(clock, 60, lambda: bool(imds.acks)))
    assert len(api.calls("POST", "/api/events")) == 3
    # three tries half a second apart, then one drain poll an interval later
    assert imds.acks == [["E1"]] and clock.now - t0 <= 1.5 + watch.DRAIN_POLL_MAX_S


def test_the_watcher_survives_imds_errors(api, imds, clock, run_agent):
    t0 = clock.now
    imds.events_failures = 3
    imds.publish([event("E1", [ME], not_before=t0 + 30)])
    api.on("POST", "/api/events", ACCEPTED)
    api.on("GET", NODE_PATH, released())
    result = run_agent(*_argv(api.url), stop=_until(clock, 60, lambda: bool(imds.acks)))
    # three failed reads, then on with it: forwarded, and acked at the first drain poll (30 s notice: 3 s on)
    assert imds.acks == [["E1"]] and imds.acked_at[0] - t0 <= 1.5 + watch.DRAIN_POLL_MAX_S
    assert "reading scheduled events failed" in result.log


def test_events_match_the_instance_name_from_imds_or_the_flag(api, imds, clock, run_agent):
    imds.instance_name = "pool_42"
    imds.publish([event("E1", ["pool_42"], not_before=clock.now + 30), event("E2", ["spot_7"],
                                                                             not_before=clock.now + 30)])
    api.on("POST", "/api/events", ACCEPTED)
    api.on("GET", NODE_PATH, released("E1"), released("E2"))
    run_agent(*_argv(api.url), stop=_until(clock, 10, lambda: bool(imds.acks)))
    assert imds.acks == [["E1"]]
    imds.acks.clear()
    run_agent(*_argv(api.url, "--instance-name", "spot_7"), stop=_until(clock, 10, lambda: bool(imds.acks)))
    assert imds.acks == [["E2"]]
