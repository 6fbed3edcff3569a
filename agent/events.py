"""Pure decisions about IMDS scheduled events: parse, which are mine, what to forward, when to acknowledge.

No I/O and `now` is always a parameter (epoch seconds), so every rule is tested with a table.
"""
from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Collection, Iterable, Mapping

# Events that take the node away: the control plane drains; we acknowledge once it says so.
DRAIN_TYPES = frozenset({"Preempt", "Terminate", "Reboot", "Redeploy"})
DRAINED_STATES = frozenset({"deleted"})
CLOCK_SKEW_S = 120.0
FORWARD_MIN_S = 0.25  # the least time a forward to the control plane is given


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    status: str
    resources: tuple = ()
    not_before: float | None = None  # epoch seconds; None when blank (event already started)
    source: str = ""
    description: str = ""

    @property
    def needs_ack(self) -> bool:
        """Only a still-Scheduled event that takes the node away is ours to acknowledge."""
        return self.type in DRAIN_TYPES and self.status == "Scheduled"


def parse_not_before(text: Any) -> float | None:
    """RFC 1123 time ('Mon, 19 Sep 2016 18:29:47 GMT') to epoch seconds; None if blank/invalid."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        when = email.utils.parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def parse_document(doc: Any) -> tuple[Any, list[Event]]:
    """(DocumentIncarnation, events); malformed events are skipped, never fatal."""
    if not isinstance(doc, Mapping):
        return None, []
    events = []
    for raw in doc.get("Events") or []:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("EventId"), str):
            continue
        resources = raw.get("Resources") or []
        events.append(Event(
            id=raw["EventId"], type=str(raw.get("EventType", "")), status=str(raw.get("EventStatus", "")),
            resources=tuple(r for r in resources if isinstance(r, str)) if isinstance(resources, list) else (),
            not_before=parse_not_before(raw.get("NotBefore")), source=str(raw.get("EventSource", "")),
            description=str(raw.get("Description", ""))))
    return doc.get("DocumentIncarnation"), events


def is_mine(event: Event, names: Collection[str]) -> bool:
    """Scheduled events reach every VM of a placement group: only those naming us are ours."""
    wanted = {name.lower() for name in names if name}
    return any(resource.lower() in wanted for resource in event.resources)


def mine(events: Iterable[Event], names: Collection[str]) -> list[Event]:
    return [event for event in events if is_mine(event, names)]


def own_document(doc: Any, names: Collection[str]) -> dict:
    """The document as forwarded: this VM's events only (the placement group's document can list a
    hundred VMs' events, and none of the others is ours to report)."""
    if not isinstance(doc, Mapping):
        return {"DocumentIncarnation": None, "Events": []}
    wanted = {name.lower() for name in names if name}
    ours = [raw for raw in doc.get("Events") or []
            if isinstance(raw, Mapping) and isinstance(raw.get("Resources"), list)
            and any(isinstance(r, str) and r.lower() in wanted for r in raw["Resources"])]
    return {"DocumentIncarnation": doc.get("DocumentIncarnation"), "Events": ours}


def withdrawn(last_seen: Event, now: float) -> bool:
    """An event that left the document while still Scheduled, before its NotBefore: Azure cancelled
    it ("the event is removed from the Events array, and the impact won't occur"). One that had
    started, or whose NotBefore passed (it started between two reads), ended instead."""
    return last_seen.status == "Scheduled" and last_seen.not_before is not None and now < last_seen.not_before


def may_acknowledge(row: Mapping, event_id: str) -> bool:
    """The control plane's word (GET /api/nodes/{name}, `acknowledge`) that every node the event
    names is drained: Azure then proceeds for all of them, so it alone decides."""
    return row.get("acknowledge") == event_id


def parse_time(text: Any) -> float | None:
    """ISO 8601 (as our API writes timestamps) to epoch seconds; None if absent or unparseable."""
    if not isinstance(text, str) or not text:
        return None
    match = re.match(r"^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$", text.strip())
    if not match:
        return None
    zone = match.group(3) or "+00:00"
    zone = "+00:00" if zone == "Z" else (zone if ":" in zone else zone[:3] + ":" + zone[3:])
    when = datetime.fromisoformat(match.group(1).replace(" ", "T") + zone)
    return when.timestamp() + float(match.group(2) or 0)


def node_row(data: Any) -> Mapping:
    """The registry row from GET /api/nodes/{name}, bare or wrapped in {"node": {...}}."""
    if isinstance(data, Mapping) and isinstance(data.get("node"), Mapping):
        return data["node"]
    return data if isinstance(data, Mapping) else {}


def drained(row: Mapping, since: float, event_id: str | None = None) -> bool:
    """Whether the drain we asked for (at `since`, for `event_id`) is finished.

    A `drained_at` from an earlier drain must not count: when the row names the event it drained
    for it has to be ours, it must not predate the drain in progress (`drain_started_at`), and a
    parseable `drained_at` must not predate our request (less skew).
    """
    if row.get("state") in DRAINED_STATES:
        return True
    drained_at = row.get("drained_at")
    if not drained_at:
        return False
    last = row.get("last_event_id", row.get("event_id"))
    if event_id and last and last != event_id:
        return False
    finished = parse_time(drained_at)
    started = parse_time(row.get("drain_started_at"))
    if finished is not None and started is not None and finished < started:
        return False  # a newer drain is running; drained_at is left over from the one before
    return finished is None or finished >= since - CLOCK_SKEW_S
