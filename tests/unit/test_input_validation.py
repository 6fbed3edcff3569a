"""Bad input to the join and events parsers is a 400 with its code, never a 5xx, and nothing of a
refused document is recorded."""
import json

import pytest

from functions.http import status_of
from nodepool.core.errors import InvalidInput
from nodepool.core.inputs import MAX_DEPTH, check_depth, parse_json
from nodepool.drain.events import record_events
from nodepool.drain.report import EventReport, parse_not_before
from nodepool.join.request import JoinRequest
from tests.unit.fakes_world import NOW, Plane
from tests.unit.test_events_service import event, report


def code_of(call, *args) -> tuple[int, str]:
    with pytest.raises(InvalidInput) as err:
        call(*args)
    return status_of(err.value), err.value.code


def nested(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("body, code", [
    (b"[" * 60_000, "too_deep"),  # json.loads would raise RecursionError: a 500
    (b'{"a":' * 20_000 + b"1" + b"}" * 20_000, "too_deep"),
    (json.dumps(nested(MAX_DEPTH + 1)).encode(), "too_deep"),
    (b"\xff\xfe{}", "invalid_json"),
    (b'{"hostname": "a"', "invalid_json"),
    (b"", "invalid_json"),
], ids=["60k_brackets", "20k_objects", "one_too_deep", "not_utf8", "truncated", "empty"])
def test_a_bad_body_is_a_400_with_its_code(body, code):
    assert code_of(parse_json, body) == (400, code)


def test_brackets_inside_strings_do_not_count_and_our_depth_is_allowed():
    assert parse_json(b'{"a": "[[[[[[[[[[[[[[[[[[[[", "b": "\\"]]]]"}') == {"a": "[" * 20, "b": '"]]]]'}
    assert parse_json(json.dumps(nested(MAX_DEPTH)).encode()) == nested(MAX_DEPTH)


@pytest.mark.parametrize("parse, body", [
    (JoinRequest.from_json, {"hostname": "agents000000", "extra": nested(100)}),
    (EventReport.from_json, {"hostname": "agents000000",
                             "document": {"Events": [{**event("E1"), "Description": nested(100)}]}}),
], ids=["join", "events"])
def test_deeply_nested_values_are_refused_by_the_parsers_themselves(parse, body):
    assert code_of(parse, body) == (400, "too_deep")
    assert check_depth(nested(5)) == nested(5)


@pytest.mark.parametrize("value", [
    "Wed, 25 Nov 2026 12:00:30",  # no zone
    "Wed, 25 Nov 2026 12:00:30 -0000",  # "unknown" zone: a naive datetime
    "Mon, 01 Jan 9999 00:00:00 GMT",
    "Mon, 01 Jan 1900 00:00:00 GMT",
    "Mon, 01 Jan 99999999999 00:00:00 GMT",
    "Wed, 25 Nov 2026 99:99:99 GMT",
    "soon",
    12,
    "Wed, 25 Nov 2026 12:00:30 GMT" + " " * 100,
], ids=["no_zone", "minus_0000", "year_9999", "year_1900", "year_overflow", "bad_time", "words", "number",
        "too_long"])
def test_a_bad_not_before_is_a_400(value):
    assert code_of(parse_not_before, value) == (400, "invalid_not_before")


def test_a_good_not_before_is_aware():
    assert parse_not_before("Wed, 25 Nov 2026 12:00:30 GMT").utcoffset().total_seconds() == 0
    assert parse_not_before("Wed, 25 Nov 2026 13:00:30 +0100") == parse_not_before("Wed, 25 Nov 2026 12:00:30 GMT")


@pytest.mark.parametrize("event_id", ["a/b", "a\\b", "a#b", "a?b", "a\x00b", "a\x1fb", "a\x7fb", "a\x85b", "\n"],
                         ids=["slash", "backslash", "hash", "question", "nul", "unit_sep", "del", "nel", "newline"])
def test_event_ids_table_storage_refuses_in_keys_are_a_400(event_id):
    rep = report("agents000000", event(event_id))
    assert code_of(rep.mine, "agents_0") == (400, "invalid_event_id")


@pytest.mark.parametrize("document, code", [
    ({"DocumentIncarnation": 2**63, "Events": []}, "invalid_document"),
    ({"DocumentIncarnation": -1, "Events": []}, "invalid_document"),
    ({"DocumentIncarnation": True, "Events": []}, "invalid_document"),
    ({"Events": {"E1": event("E1")}}, "invalid_document"),
], ids=["incarnation_too_big", "incarnation_negative", "incarnation_bool", "events_not_a_list"])
def test_a_malformed_document_is_a_400(document, code):
    assert code_of(EventReport.from_json, {"hostname": "agents000000", "document": document}) == (400, code)


@pytest.mark.parametrize("withdrawn", ["E1", [7], ["a/b"], ["E"] * 151],
                         ids=["a_string", "not_ids", "bad_key", "too_many"])
def test_a_malformed_withdrawn_list_is_a_400(withdrawn):
    body = {"hostname": "agents000000", "document": {"Events": []}, "withdrawn": withdrawn}
    assert code_of(EventReport.from_json, body) == (400, "invalid_document")


def test_entries_naming_no_vm_of_ours_are_never_parsed():
    """What another VM's (or no VM's) entries hold cannot get ours refused."""
    rep = report("agents000000", event("E1"), "not an event", {"EventType": 7, "Resources": ["agents_9"]})  # type: ignore[arg-type]
    assert [e.event_id for e in rep.mine("agents_0")] == ["E1"]


def test_one_bad_event_of_ours_refuses_the_document_before_anything_is_recorded():
    plane = Plane()
    plane.kube.add_node("agents000000")
    rep = report("agents000000", event("E1"), event("E2", not_before="Wed, 25 Nov 2026 12:00:30"))
    with pytest.raises(InvalidInput):
        record_events(plane.registry, plane.kube, plane.queue, rep, "agents_0", NOW)
    assert plane.queue.messages == [] and plane.registry.event("agents000000", "E1") is None
    assert not plane.kube.node("agents000000").unschedulable and plane.registry.node("agents000000") is None
