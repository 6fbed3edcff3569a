"""`watch` with notices far below Azure's 30 s: forward on the first tick, acknowledge only what is drained."""
from __future__ import annotations

from agent import watch
from tests.agent.stubs import event
from tests.agent.test_watch import ACCEPTED, DRAINING, ME, NODE_PATH, _argv, _until, released

TOKEN_PATH = "/vms/agent000001/metadata/identity/oauth2/token"


def _forward_recording(api, imds, clock):
    """POST /api/events answers ACCEPTED and remembers (time, acks so far) of every call."""
    calls = []
    api.on("POST", "/api/events", lambda body: (calls.append((clock.now, len(imds.acks))), ACCEPTED)[1])
    return calls


def test_a_3_s_notice_is_forwarded_on_the_first_tick_and_left_to_not_before(api, imds, clock, run_agent):
    t0 = clock.now
    imds.publish([event("E1", [ME], not_before=t0 + 3)])
    forwards = _forward_recording(api, imds, clock)
    api.on("GET", NODE_PATH, DRAINING)
    run_agent(*_argv(api.url), stop=_until(clock, 10))
    assert forwards == [(t0, 0)]  # at once
    assert imds.acks == []  # the drain is still running at NotBefore: Azure goes ahead by itself


def test_an_event_seen_with_less_than_a_second_left_is_still_forwarded_and_never_acknowledged(
        api, imds, clock, run_agent):
    clock.now = float(int(clock.now)) + 0.6  # NotBefore is whole seconds: 0.4 s left at first sight
    t0 = clock.now
    imds.publish([event("E1", [ME], not_before=t0 + 0.4)])
    forwards = _forward_recording(api, imds, clock)
    run_agent(*_argv(api.url), stop=_until(clock, 3, lambda: bool(forwards)))
    assert forwards == [(t0, 0)] and imds.acks == []  # the control plane still cordons


def test_a_drain_finished_early_is_acknowledged_at_once(api, imds, clock, run_agent):
    t0 = clock.now
    imds.publish([event("E1", [ME], not_before=t0 + 8)])
    _forward_recording(api, imds, clock)
    api.on("GET", NODE_PATH, DRAINING, released())
    result = run_agent(*_argv(api.url), stop=_until(clock, 20, lambda: bool(imds.acks)))
    # drain polls a sixth of the 8 s notice apart (on the half-second ticks): the second finds it done
    assert imds.acked_at and imds.acked_at[0] - t0 <= 2 * (7 / watch.DRAIN_POLLS_PER_NOTICE + watch.POLL_S)
    assert "every node it names is drained" in result.log


def test_credentials_are_fetched_before_any_event_needs_them(api, imds, clock, run_agent):
    run_agent(*_argv(api.url), stop=_until(clock, 2))
    assert [s.path for s in imds.seen].count(TOKEN_PATH) == 1  # once: then cached until near expiry
    assert api.seen == []
