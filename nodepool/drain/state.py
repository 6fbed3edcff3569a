"""The drain message: the one shape events, leave, the drain trigger and reconcile share.

`/api/events` and `/api/leave` put it on `node-events`; the queue trigger reads it back
(the Functions host moves a message that failed maxDequeueCount times to `node-events-poison`);
the reconcile tick peeks both queues. This module owns the queue names and the JSON.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nodepool.core.errors import InvalidInput
from nodepool.join.request import check_hostname

NODE_EVENTS_QUEUE = "node-events"
POISON_QUEUE = f"{NODE_EVENTS_QUEUE}-poison"  # the host's name for it: `<queue>-poison`


@dataclass(frozen=True)
class DrainRequest:
    """Drain `node` for `event_id` before `deadline`; `not_before` is when Azure may act (the
    deadline when the event gave none)."""
    node: str
    event_id: str
    type: str
    deadline: datetime
    not_before: datetime | None = None

    def to_message(self) -> dict:
        return {"node": self.node, "event_id": self.event_id, "type": self.type,
                "not_before": (self.not_before or self.deadline).isoformat(), "deadline": self.deadline.isoformat()}

    @classmethod
    def from_message(cls, message: Any) -> "DrainRequest":
        try:
            not_before = message.get("not_before")
            request = cls(check_hostname(message["node"]), str(message["event_id"]), str(message["type"]),
                          datetime.fromisoformat(message["deadline"]),
                          datetime.fromisoformat(not_before) if not_before else None)
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            raise InvalidInput(f"malformed drain message: {err}", code="invalid_message") from err
        if any(t is not None and t.tzinfo is None for t in (request.deadline, request.not_before)):
            raise InvalidInput("drain deadline has no time zone", code="invalid_message")
        return request


def node_of(message: Any) -> str | None:
    """The node a (peeked) drain message is for, or None when it is not one."""
    node = message.get("node") if isinstance(message, dict) else None
    return node if isinstance(node, str) else None
