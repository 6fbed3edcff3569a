"""`watch` with notices far below Azure's 30 s: forward first, acknowledge late but in time."""
from __future__ import annotations

from tests.agent.stubs import event
from tests.agent.test_watch import ACCEPTED, ME, NODE_PATH, _acked_at, _argv, _until

TOKEN_PATH = "/vms/agent000001/metadata/identity/oauth2/token"


def _forward_recording(api, imds, clock):
    """POST /api/events answers ACCEPTED and remembers (time, acks so far) of every call."""
    calls = []
    api.on("POST", "/api/events", lambda body: (calls.append((clock.now, len(imds.acks))), ACCEPTED)[1])
    return calls


def test_a_3_s_notice_is_forwarded_on_the_first_tick_and_acknowledged_after_it(api, imds, clock, run_agent):
    t0 = clock.now
    imds.publish([event("E1", [ME], not_before=t0 + 3)])
    forwards = _forward_recording(api, imds, clock)
    api.on("GET", NODE_PATH, (200, {}, {"state": "draining"}))
    result = run_agent(*_argv(api.url), stop=_until(clock, 10, lambda: bool(imds.acks)))
    assert forwards == [(t0, 0)]  # at once, and before any acknowledgement
    assert imds.acks == [["E1"]]
    assert imds.acked_at == [_acked_at(imds, t0, 3)]
    assert imds.acked_at[0] <= int(t0 + 3) - 1.0  # NotBefore is in whole seconds: a second to spare
    assert "drain had not finished" in result.log


def test_an_8_s_notice_gives_the_drain_all_but_a_fifth_of_it(api, imds, clock, run_agent):
    t0 = clock.now
    imds.publish([event("E1", [ME], not_before=t0 + 8)])
    _forward_recording(api, imds, clock)
    api.on("GET", NODE_PATH, (200, {}, {"state": "draining"}))
    run_agent(*_argv(api.url), stop=_until(clock, 20, lambda: bool(imds.acks)))
    not_before = int(t0 + 8)
    assert imds.acked_at == [_acked_at(imds, t0, 8)]
    assert 1.0 <= not_before - imds.acked_at[0] <= 1.6  # not the fixed 5 s of the configured margin
    polls = api.calls("GET", NODE_PATH)
    assert 5 <= len(polls) <= 7  # IMDS twice a second, the drain status once a second


def test_a_3_s_notice_with_the_app_down_is_still_acknowledged_before_not_before(imds, clock, run_agent, dead_url):
    t0 = clock.now
    imds.publish([event("E1", [ME], not_before=t0 + 3)])
    result = run_agent(*_argv(dead_url), stop=_until(clock, 10, lambda: bool(imds.acks)))
    assert imds.acks == [["E1"]] and imds.acked_at == [_acked_at(imds, t0, 3)]
    assert "the control plane was unreachable" in result.log


def test_too_little_time_to_forward_first_acknowledges_then_forwards(api, imds, clock, run_agent):
    clock.now = float(int(clock.now)) + 0.6  # NotBefore is whole seconds: 0.4 s left at first sight
    t0 = clock.now
    imds.publish([event("E1", [ME], not_before=t0 + 0.4)])
    forwards = _forward_recording(api, imds, clock)
    result = run_agent(*_argv(api.url), stop=_until(clock, 3, lambda: bool(forwards)))
    assert imds.acks == [["E1"]] and imds.acked_at == [t0]
    assert forwards == [(t0, 1)]  # still told: the control plane cordons and deletes the Node
    assert "too little time left to forward first" in result.log


def test_a_drain_finished_early_is_acknowledged_at_once(api, imds, clock, run_agent):
    t0 = clock.now
    imds.publish([event("E1", [ME], not_before=t0 + 8)])
    _forward_recording(api, imds, clock)
    api.on("GET", NODE_PATH, (200, {}, {"state": "draining"}), (200, {}, {"state": "deleted"}))
    result = run_agent(*_argv(api.url), stop=_until(clock, 20, lambda: bool(imds.acks)))
    # drain polls a second apart (8 s notice), the first a second after the forward: the second finds it done
    assert imds.acked_at and imds.acked_at[0] - t0 <= 2.0
    assert "drain finished" in result.log


def test_credentials_are_fetched_before_any_event_needs_them(api, imds, clock, run_agent):
    run_agent(*_argv(api.url), stop=_until(clock, 2))
    assert [s.path for s in imds.seen].count(TOKEN_PATH) == 1  # once: then cached until near expiry
    assert api.seen == []
