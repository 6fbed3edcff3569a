"""The drain message on `node-events`: one shape, to and from JSON, not_before included."""
import json
from datetime import datetime, timedelta, timezone

import pytest

from nodepool.core.errors import InvalidInput
from nodepool.drain.state import DrainRequest, node_of

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def test_a_message_round_trips_through_json_with_its_not_before():
    request = DrainRequest("agents000001", "E1", "Preempt", NOW + timedelta(seconds=30), NOW + timedelta(seconds=20))
    assert DrainRequest.from_message(json.loads(json.dumps(request.to_message()))) == request


def test_without_not_before_the_message_says_the_deadline_and_older_messages_still_parse():
    request = DrainRequest("agents000001", "E1", "Reboot", NOW)
    assert request.to_message()["not_before"] == NOW.isoformat()
    older = {"node": "agents000001", "event_id": "E1", "type": "Reboot", "deadline": NOW.isoformat()}
    assert DrainRequest.from_message(older) == request


@pytest.mark.parametrize("message", [
    {}, [], {"node": "Bad_Name", "event_id": "E", "type": "Preempt", "deadline": NOW.isoformat()},
    {"node": "n1", "event_id": "E", "type": "Preempt", "deadline": "soon"},
    {"node": "n1", "event_id": "E", "type": "Preempt", "deadline": "2026-11-25T12:00:00"},
    {"node": "n1", "event_id": "E", "type": "Preempt", "deadline": NOW.isoformat(),
     "not_before": "2026-11-25T12:00:00"},
])
def test_a_malformed_message_is_invalid_input(message):
    with pytest.raises(InvalidInput):
        DrainRequest.from_message(message)


def test_node_of_a_peeked_body():
    assert node_of({"node": "n1"}) == "n1"
    assert node_of({"node": 3}) is None and node_of(None) is None
