"""Which scheduled events are ours and when to acknowledge them, as tables."""
from __future__ import annotations

import pytest

from agent.events import (
    Event,
    ack_margin,
    ack_reason,
    drained,
    is_mine,
    node_row,
    parse_document,
    parse_not_before,
    parse_time,
    too_late_to_forward,
)
from tests.agent.stubs import event, rfc1123

NOW = 1_700_000_000.0
ME = {"agents_1", "agent000001"}


def test_not_before_is_rfc1123_and_blank_once_started():
    assert parse_not_before("Mon, 19 Sep 2016 18:29:47 GMT") == 1474309787.0
    assert parse_not_before(rfc1123(NOW)) == NOW
    assert parse_not_before("") is None
    assert parse_not_before("tomorrow") is None
    assert parse_not_before(None) is None


def test_document_parsing_skips_malformed_events():
    doc = {"DocumentIncarnation": 7, "Events": [
        event("a", ["agents_1"], not_before=NOW + 30), {"EventType": "Preempt"}, "junk",
        {"EventId": "b", "Resources": "agents_1"}]}
    incarnation, events = parse_document(doc)
    assert incarnation == 7
    assert [e.id for e in events] == ["a", "b"]
    assert events[0] == Event("a", "Preempt", "Scheduled", ("agents_1",), NOW + 30, "Platform", "stub event")
    assert events[1].resources == ()
    assert parse_document(None) == (None, [])
    assert parse_document({"DocumentIncarnation": 1, "Events": None}) == (1, [])


@pytest.mark.parametrize("resources, mine", [
    (["agents_1"], True), (["AGENTS_1"], True), (["agent000001"], True), (["agents_2", "agents_1"], True),
    (["agents_10"], False), (["agents_2"], False), ([], False),
])
def test_only_events_naming_our_instance_are_ours(resources, mine):
    assert is_mine(Event("e", "Preempt", "Scheduled", tuple(resources)), ME) is mine


def test_preempt_for_other_instance_is_ignored():
    _, events = parse_document({"Events": [event("x", ["agents_9"])]})
    assert not any(is_mine(e, ME) for e in events)


def _e(kind="Preempt", status="Scheduled", not_before=NOW + 30):
    return Event("e", kind, status, ("agents_1",), not_before)


@pytest.mark.parametrize("ev, now, is_drained, reason", [
    (_e(), NOW, False, None),                      # plenty of time, drain running
    (_e(), NOW, True, "drained"),                  # drained early: let Azure proceed
    (_e(), NOW + 24.9, False, None),               # just before NotBefore - margin
    (_e(), NOW + 25, False, "deadline"),           # NotBefore - 5 s: ack even though not drained
    (_e(), NOW + 60, False, "deadline"),           # late (we were down): ack at once
    (_e("Terminate"), NOW + 25, False, "deadline"),
    (_e("Reboot"), NOW, True, "drained"),
    (_e("Redeploy"), NOW, True, "drained"),
    (_e("Freeze"), NOW + 60, True, None),          # freeze: recorded, never acknowledged by us
    (_e(status="Started", not_before=None), NOW, True, None),  # already happening
    (_e(not_before=None), NOW + 9999, False, None),  # no NotBefore: only a finished drain acks
])
def test_acknowledge_once_drained_or_at_not_before_minus_margin(ev, now, is_drained, reason):
    assert ack_reason(ev, now, 5.0, is_drained) == reason


def test_iso_times_from_the_api():
    assert parse_time("2023-11-14T22:13:20Z") == NOW
    assert parse_time("2023-11-14T22:13:20.250000+00:00") == NOW + 0.25
    assert parse_time("2023-11-14T23:13:20+0100") == NOW
    assert parse_time("yesterday") is None
    assert parse_time(None) is None


@pytest.mark.parametrize("row, is_drained", [
    ({"state": "draining"}, False),
    ({"state": "deleted"}, True),
    ({"state": "cordoned", "drained_at": "2023-11-14T22:13:25Z", "last_event_id": "e"}, True),
    ({"state": "cordoned", "drained_at": "2023-11-14T22:13:25Z"}, True),
    ({"state": "cordoned", "drained_at": "2023-11-14T22:13:25Z", "last_event_id": "older"}, False),
    ({"state": "ready", "drained_at": "2023-11-01T00:00:00Z"}, False),   # a drain from an earlier event
    ({"state": "draining", "last_event_id": "e", "drain_started_at": "2023-11-14T22:13:30Z",
      "drained_at": "2023-11-14T22:13:25Z"}, False),  # this drain is running; drained_at is the one before
    ({"state": "cordoned", "last_event_id": "e", "drain_started_at": "2023-11-14T22:13:21Z",
      "drained_at": "2023-11-14T22:13:25Z"}, True),
    ({"state": "left", "drained_at": "not-a-time"}, True),
    ({"state": "draining", "drained_at": None}, False),
    ({}, False),
])
def test_drained_only_counts_a_drain_for_this_request(row, is_drained):
    assert drained(row, since=NOW, event_id="e") is is_drained


def test_node_row_accepts_bare_or_wrapped_rows():
    assert node_row({"node": {"state": "ready"}}) == {"state": "ready"}
    assert node_row({"state": "ready"}) == {"state": "ready"}
    assert node_row(["nonsense"]) == {}


@pytest.mark.parametrize("notice, cap, rtt, margin", [
    (30.0, 5.0, 0.0, 5.0),     # Azure's promise: the configured margin caps a fifth of the notice
    (20.0, 5.0, 0.0, 4.0),
    (8.0, 5.0, 0.0, 1.6),      # a fifth of the notice, not 5 of its 8 seconds
    (3.0, 5.0, 0.0, 1.0),      # at least a second: NotBefore is in whole seconds
    (3.0, 5.0, 0.3, 1.3),      # ... plus IMDS's round trip
    (1.0, 5.0, 0.0, 0.75),     # seen late: still a quarter second to forward first
    (0.4, 5.0, 0.0, 0.25),     # too late to forward first: the ack's own need
    (30.0, 2.0, 0.0, 2.0),     # a smaller configured margin wins
    (30.0, 0.1, 0.0, 0.25),    # but never below what an acknowledgement needs
])
def test_ack_margin_is_sized_from_the_notice(notice, cap, rtt, margin):
    assert ack_margin(notice, cap, rtt) == pytest.approx(margin)


@pytest.mark.parametrize("left, rtt, late", [
    (3.0, 0.0, False), (0.6, 0.0, False), (0.49, 0.0, True), (0.6, 0.2, True), (-1.0, 0.0, True)])
def test_only_an_event_a_forward_could_not_precede_is_too_late_to_forward(left, rtt, late):
    assert too_late_to_forward(_e(not_before=NOW + left), NOW, rtt) is late


def test_events_without_a_deadline_are_never_too_late_to_forward():
    assert not too_late_to_forward(_e(not_before=None), NOW)
    assert not too_late_to_forward(_e("Freeze", not_before=NOW), NOW)
