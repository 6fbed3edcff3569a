"""Which scheduled events are ours, what is forwarded, when one is acknowledged or withdrawn, as tables."""
from __future__ import annotations

import pytest

from agent.events import (
    Event,
    drained,
    is_mine,
    may_acknowledge,
    node_row,
    own_document,
    parse_document,
    parse_not_before,
    parse_time,
    withdrawn,
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


@pytest.mark.parametrize("row, ok", [
    ({"state": "deleted", "drained_at": "2023-11-14T22:13:25Z", "last_event_id": "e"}, False),  # drained is not enough
    ({"state": "deleted", "last_event_id": "e", "acknowledge": "e"}, True),  # every node it names is drained
    ({"state": "cordoned", "last_event_id": "e2", "acknowledge": "e2"}, False),  # another event's
    ({}, False),
])
def test_only_the_control_plane_says_when_an_event_may_be_acknowledged(row, ok):
    """An acknowledgement lets Azure proceed for every VM the event names; the app alone knows them all."""
    assert may_acknowledge(row, "e") is ok


@pytest.mark.parametrize("ev, now, gone", [
    (_e(), NOW + 10, True),                                   # left while Scheduled, before NotBefore: cancelled
    (_e(), NOW + 31, False),                                  # NotBefore passed: it started between two reads
    (_e(status="Started", not_before=None), NOW + 10, False),  # it had started: it ended
    (_e(not_before=None), NOW + 10, False),                   # no NotBefore to go by
])
def test_an_event_that_leaves_the_document_while_scheduled_was_withdrawn(ev, now, gone):
    assert withdrawn(ev, now) is gone


def test_only_our_events_are_forwarded():
    doc = {"DocumentIncarnation": 9, "Events": [
        event("a", ["agents_1"]), event("x", ["agents_7"]), "junk", event("m", ["agents_2", "AGENTS_1"]),
        {"EventId": "r", "Resources": "agents_1"}]}
    forwarded = own_document(doc, ME)
    assert forwarded["DocumentIncarnation"] == 9 and [e["EventId"] for e in forwarded["Events"]] == ["a", "m"]
    assert own_document(None, ME) == {"DocumentIncarnation": None, "Events": []}


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
